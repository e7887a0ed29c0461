/**
 * The one clock type of the local service: the Backup emulator, the local Step Functions service and the
 * benchmark's virtual time all take a {@link Clock}; the wall clock is the default.
 *
 * aws-local-stepfunctions sets its timers (Wait, Retry backoff, timeouts) with the global setTimeout, so a
 * clock reaches it through {@link onClock}: an AsyncLocalStorage scope that one global setTimeout wrapper
 * consults. Code outside every scope (Lambda handlers, the SDK, HTTP servers) keeps the wall clock.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Whatever a clock's setTimeout returns; only that clock's clearTimeout understands it. */
export type ClockTimer = object;

export interface Clock {
  /** Epoch milliseconds, like Date.now. */
  now(): number;
  setTimeout(fire: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer): void;
}

const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

export const wallClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fire, ms) => realSetTimeout(fire, ms),
  clearTimeout: (timer) => realClearTimeout(timer as NodeJS.Timeout),
};

const scope = new AsyncLocalStorage<Clock>();
/** The clock each scoped timer was set on, so clearTimeout works from any context. */
const owners = new WeakMap<object, Clock>();
let installed = false;

/** Replaces the global setTimeout/clearTimeout, once, with ones that follow the caller's scope. */
function installScopedTimers(): void {
  if (installed) return;
  installed = true;
  const scopedSetTimeout = (fire: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const clock = scope.getStore();
    if (clock === undefined || clock === wallClock) return realSetTimeout(fire, ms, ...args);
    // The callback runs in the scope it was set in, whoever's turn of the event loop fires it.
    const timer = clock.setTimeout(
      AsyncLocalStorage.bind(() => fire(...args)),
      Math.max(0, ms ?? 0),
    );
    owners.set(timer, clock);
    return timer;
  };
  const scopedClearTimeout = (timer: unknown) => {
    const clock = typeof timer === 'object' && timer !== null ? owners.get(timer) : undefined;
    if (clock) clock.clearTimeout(timer as ClockTimer);
    else realClearTimeout(timer as NodeJS.Timeout);
  };
  globalThis.setTimeout = scopedSetTimeout as typeof setTimeout;
  globalThis.clearTimeout = scopedClearTimeout as typeof clearTimeout;
}

/** Runs `work` so that every global setTimeout it (and whatever it starts) calls is set on `clock`. */
export function onClock<T>(clock: Clock, work: () => T): T {
  if (clock === wallClock) return scope.exit(work);
  installScopedTimers();
  return scope.run(clock, work);
}

/** Runs `work` outside every clock scope: its timers (an SDK's retries, say) run on the wall clock. */
export function onWallClock<T>(work: () => T): T {
  return scope.exit(work);
}
