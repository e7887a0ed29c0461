/**
 * The one clock type of the local service: the Backup emulator, the local Step Functions service and the
 * benchmark's virtual time all take a {@link Clock}; the wall clock is the default. aws-local-stepfunctions
 * reaches its clock through local/interpreter.ts; code outside them (Lambda handlers, the SDK, HTTP servers)
 * keeps the wall clock.
 */

/** Whatever a clock's setTimeout returns; only that clock's clearTimeout understands it. */
export type ClockTimer = object;

export interface Clock {
  /** Epoch milliseconds, like Date.now. */
  now(): number;
  setTimeout(fire: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer): void;
}

export const wallClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fire, ms) => setTimeout(fire, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};
