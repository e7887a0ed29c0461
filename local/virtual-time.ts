import { performance } from 'node:perf_hooks';

/**
 * Discrete-event time for the benchmarks. While the service works (a Lambda invocation or a delivery is in
 * flight) the virtual clock runs `busyRate` times faster than the wall clock, so a local millisecond of work
 * counts about what the same calls take on AWS; once everything waits, it jumps straight to the next thing
 * that is due: a copy job's end in the Backup emulator, or a timer of the state machine (Retry backoff, Wait,
 * task timeout). Hours of copying drain in the seconds the handlers need, and the makespan measures the
 * workflow's own waiting plus its work at AWS-like speed, not how long this machine idles.
 *
 * The state machine's timers are taken over by replacing the global setTimeout/clearTimeout while installed,
 * for callers in aws-local-stepfunctions and test/support/local-step-functions.ts only (recognised by their
 * stack); every other timer (the SDK's, the HTTP servers') keeps running on the wall clock.
 */

interface Entry {
  at: number;
  seq: number;
  fire?: () => void;
  cancelled?: boolean;
}

/** A binary min-heap on (at, seq): timers due at the same moment fire in the order they were set. */
class Queue {
  private readonly items: Entry[] = [];

  get size() {
    return this.items.length;
  }

  peek(): Entry | undefined {
    return this.items[0];
  }

  push(entry: Entry): void {
    const items = this.items;
    items.push(entry);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, items[parent] as Entry)) break;
      items[i] = items[parent] as Entry;
      i = parent;
    }
    items[i] = entry;
  }

  pop(): Entry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child =
        right < items.length && before(items[right] as Entry, items[left] as Entry) ? right : left;
      if (!before(items[child] as Entry, last)) break;
      items[i] = items[child] as Entry;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

const before = (a: Entry, b: Entry) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** Timers set from these files run on virtual time. */
const VIRTUAL_CALLERS = /aws-local-stepfunctions|step-functions\.ts/;

/** What a virtual setTimeout returns: enough of Node's Timeout for the callers above. */
class VirtualTimeout {
  constructor(readonly entry: Entry) {}
  ref() {
    return this;
  }
  unref() {
    return this;
  }
  hasRef() {
    return true;
  }
  refresh() {
    return this;
  }
}

export class VirtualTime {
  private virtualMs: number;
  private seq = 0;
  private busy = 0;
  private quietTicks = 0;
  private running = false;
  private lastTick = Number.NaN;
  private lastReal = performance.now();
  private readonly queue = new Queue();
  private readonly realSetTimeout = globalThis.setTimeout;
  private readonly realClearTimeout = globalThis.clearTimeout;
  /** Called whenever the clock has moved, to let the emulator advance its jobs. */
  onTick: () => void = () => {};

  /** `busyRate`: virtual ms per wall-clock ms while work is in flight. */
  constructor(
    readonly busyRate: number,
    start: number = Date.now(),
  ) {
    this.virtualMs = start;
  }

  /** Whole milliseconds, like Date.now: an event's ISO time parsed back must not land before the event. */
  readonly now = (): number => Math.floor(this.virtualMs);

  /** Marks work in flight (the clock stands still until every `enter` has its `exit`). */
  enter(): void {
    this.busy += 1;
  }

  exit(): void {
    this.busy -= 1;
  }

  /** Something due at `at` (virtual ms) that the clock must stop at, such as a copy job's end. */
  wakeAt(at: number): void {
    this.queue.push({ at, seq: this.seq++ });
  }

  /** Everything waits and nothing is due: whatever still runs is stuck. */
  get stalled(): boolean {
    return this.busy === 0 && this.queue.size === 0;
  }

  install(): void {
    const realSetTimeout = this.realSetTimeout;
    const realClearTimeout = this.realClearTimeout;
    const virtualSetTimeout = (fire: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      if (!VIRTUAL_CALLERS.test(new Error().stack ?? '')) return realSetTimeout(fire, ms, ...args);
      const entry: Entry = {
        at: this.virtualMs + Math.max(0, ms ?? 0),
        seq: this.seq++,
        fire: () => fire(...args),
      };
      this.queue.push(entry);
      return new VirtualTimeout(entry);
    };
    const virtualClearTimeout = (timeout: unknown) => {
      if (timeout instanceof VirtualTimeout) timeout.entry.cancelled = true;
      else realClearTimeout(timeout as NodeJS.Timeout);
    };
    globalThis.setTimeout = virtualSetTimeout as typeof setTimeout;
    globalThis.clearTimeout = virtualClearTimeout as typeof clearTimeout;
    this.running = true;
    this.tick();
  }

  uninstall(): void {
    this.running = false;
    globalThis.setTimeout = this.realSetTimeout;
    globalThis.clearTimeout = this.realClearTimeout;
  }

  private readonly tick = (): void => {
    if (!this.running) return;
    const real = performance.now();
    if (this.busy > 0) this.virtualMs += (real - this.lastReal) * this.busyRate;
    this.lastReal = real;
    // Quiet across two turns of the event loop: no I/O callback or microtask is about to start more work.
    this.quietTicks = this.busy === 0 ? this.quietTicks + 1 : 0;
    if (this.quietTicks >= 2) {
      this.quietTicks = 0;
      this.skipCancelled();
      const next = this.queue.peek();
      if (next && next.at > this.virtualMs) this.virtualMs = next.at;
    }
    if (this.virtualMs !== this.lastTick) {
      this.lastTick = this.virtualMs;
      this.onTick();
    }
    for (let due = this.queue.peek(); due && due.at <= this.virtualMs; due = this.queue.peek()) {
      this.queue.pop();
      if (!due.cancelled) due.fire?.();
    }
    if (this.busy === 0) setImmediate(this.tick);
    else this.realSetTimeout(this.tick, 1);
  };

  private skipCancelled(): void {
    while (this.queue.peek()?.cancelled) this.queue.pop();
  }
}
