import { performance } from 'node:perf_hooks';
import type { Clock, ClockTimer } from './clock.js';

/**
 * Discrete-event time for the benchmarks. While the service works (a Lambda invocation or a delivery is in
 * flight, see {@link VirtualClock.busy}) the virtual clock runs `busyRate` times faster than the wall clock, so a
 * local millisecond of work counts about what the same calls take on AWS; once everything waits, it jumps
 * straight to the next timer that is due: a copy job's end in the Backup emulator, or a timer of the state
 * machine (Retry backoff, Wait, task timeout). Hours of copying drain in the seconds the handlers need, and the
 * makespan measures the workflow's own waiting plus its work at AWS-like speed, not how long this machine idles.
 *
 * Only what is given this clock runs on it (see local/clock.ts); every other timer keeps the wall clock.
 */

interface Entry {
  at: number;
  seq: number;
  fire: () => void;
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

/** What a virtual setTimeout returns: enough of Node's Timeout for aws-local-stepfunctions. */
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

export class VirtualClock implements Clock {
  private virtualMs: number;
  private seq = 0;
  private busyCount = 0;
  private quietTicks = 0;
  private running = false;
  private lastReal = performance.now();
  private readonly queue = new Queue();
  /** Virtual ms the clock advanced while work was in flight (the rest it jumped from timer to timer). */
  busyAdvancedMs = 0;

  /**
   * `busyRate`: virtual ms per wall-clock ms while work is in flight. `busyCores`, if given: the cores this
   * machine's work in flight shares. With more works in flight than cores, each progresses at its share, where
   * on AWS each Lambda invocation has its own; the clock then runs busyRate × busyCores / works in flight, so each
   * work lasts about busyRate × what it takes alone (processor sharing), not what a crowded machine makes of it.
   */
  constructor(
    readonly busyRate: number,
    start: number = Date.now(),
    readonly busyCores?: number,
  ) {
    this.virtualMs = start;
  }

  /** Whole milliseconds, like Date.now: an event's ISO time parsed back must not land before the event. */
  readonly now = (): number => Math.floor(this.virtualMs);

  readonly setTimeout = (fire: () => void, ms: number): ClockTimer => {
    const entry: Entry = { at: this.virtualMs + Math.max(0, ms), seq: this.seq++, fire };
    this.queue.push(entry);
    return new VirtualTimeout(entry);
  };

  readonly clearTimeout = (timer: ClockTimer): void => {
    if (timer instanceof VirtualTimeout) timer.entry.cancelled = true;
  };

  /** Runs `work` as work in flight: the clock does not jump ahead while any such work runs. */
  async busy<T>(work: () => Promise<T>): Promise<T> {
    this.busyCount += 1;
    try {
      return await work();
    } finally {
      this.busyCount -= 1;
    }
  }

  /** Everything waits and nothing is due: whatever still runs is stuck. */
  get stalled(): boolean {
    this.skipCancelled();
    return this.busyCount === 0 && this.queue.size === 0;
  }

  /** Starts moving the clock (and firing its timers). */
  start(): void {
    this.running = true;
    this.tick();
  }

  stop(): void {
    this.running = false;
  }

  private readonly tick = (): void => {
    if (!this.running) return;
    const real = performance.now();
    if (this.busyCount > 0) {
      const share = this.busyCores === undefined ? 1 : Math.min(1, this.busyCores / this.busyCount);
      const advanced = (real - this.lastReal) * this.busyRate * share;
      this.virtualMs += advanced;
      this.busyAdvancedMs += advanced;
    }
    this.lastReal = real;
    // Quiet across two turns of the event loop: no I/O callback or microtask is about to start more work.
    this.quietTicks = this.busyCount === 0 ? this.quietTicks + 1 : 0;
    if (this.quietTicks >= 2) {
      this.quietTicks = 0;
      this.skipCancelled();
      const next = this.queue.peek();
      if (next && next.at > this.virtualMs) this.virtualMs = next.at;
    }
    for (let due = this.queue.peek(); due && due.at <= this.virtualMs; due = this.queue.peek()) {
      this.queue.pop();
      if (!due.cancelled) due.fire();
    }
    if (this.busyCount === 0) setImmediate(this.tick);
    else setTimeout(this.tick, 1);
  };

  private skipCancelled(): void {
    while (this.queue.peek()?.cancelled) this.queue.pop();
  }
}
