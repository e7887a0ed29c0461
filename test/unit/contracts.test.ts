import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  ATTEMPT_FAILED,
  INPUT_REJECTED,
  QUEUED,
  REJECTION_ERROR_NAMES,
  RESUMABLE_ERROR_NAMES,
  RETRYABLE_ERROR_NAMES,
} from '../../lib/contracts.js';
import * as errors from '../../lib/errors.js';

// biome-ignore lint/suspicious/noExplicitAny: the definition is untyped YAML.
type State = Record<string, any>;

const definition = parse(
  readFileSync(new URL('../../statemachines/copy-recovery-point.asl.yml', import.meta.url), 'utf8'),
) as { States: Record<string, State> };

/** Every state, those inside Map and Parallel states included. */
function allStates(states: Record<string, State> = definition.States): [string, State][] {
  return Object.entries(states).flatMap(([name, state]) => [
    [name, state] as [string, State],
    ...(state.ItemProcessor ? allStates(state.ItemProcessor.States) : []),
    ...(state.Branches ?? []).flatMap((branch: State) => allStates(branch.States)),
  ]);
}

/** The Retry or Catch entries of every state that match one of our own errors (not States.* or Lambda.*). */
function matchersOfOurs(field: 'Retry' | 'Catch'): { state: string; errorEquals: string[] }[] {
  return allStates().flatMap(([state, s]) =>
    ((s[field] ?? []) as State[])
      .map((entry) => ({ state, errorEquals: entry.ErrorEquals as string[], next: entry.Next }))
      .filter(({ errorEquals }) => errorEquals.some((name) => !/^(States|Lambda)\./.test(name))),
  );
}

/** Each error class lib/errors.ts exports, with the `name` its instances carry (what a task reports). */
const errorClasses = (Object.values(errors) as unknown[])
  .filter((value): value is new (arg: unknown) => Error => {
    return typeof value === 'function' && value.prototype instanceof Error && value !== errors.RejectionError;
  })
  .map((ErrorClass) => {
    const instance = new ErrorClass(ErrorClass.prototype instanceof errors.RejectionError ? [] : 'message');
    return { instance, name: instance.name };
  });

const sorted = (names: readonly string[]) => [...names].sort();

describe('the error names the state machine matches', () => {
  it('catches exactly the rejection error names, and sends them to RecordRejection', () => {
    const catchers = matchersOfOurs('Catch').filter(({ state }) => state !== 'CopyToDestination');
    expect(catchers.map(({ state }) => state)).toEqual(['PlanCopies']);
    for (const { errorEquals } of catchers)
      expect(sorted(errorEquals)).toEqual(sorted(REJECTION_ERROR_NAMES));
    expect(definition.States.PlanCopies?.Catch?.[0]?.Next).toBe('RecordRejection');
  });

  it('resumes a copy after a wait when AWS Backup stays unavailable beyond the Retry, and catches nothing else', () => {
    const catchers = matchersOfOurs('Catch').filter(({ state }) => state === 'CopyToDestination');
    expect(catchers).toEqual([
      { state: 'CopyToDestination', errorEquals: [...RESUMABLE_ERROR_NAMES], next: 'WaitBeforeResuming' },
    ]);
    expect(new Map(allStates()).get('WaitBeforeResuming')).toMatchObject({
      Type: 'Wait',
      Next: 'CopyToDestination',
    });
  });

  it('retries exactly the retryable error names in every task that calls AWS Backup', () => {
    const retriers = matchersOfOurs('Retry');
    expect(sorted(retriers.map(({ state }) => state))).toEqual([
      'CheckCopyProgress',
      'CopyToDestination',
      'PlanCopies',
    ]);
    for (const { errorEquals } of retriers)
      expect(sorted(errorEquals)).toEqual(sorted(RETRYABLE_ERROR_NAMES));
  });

  it('names each rejection after a RejectionError class, and every RejectionError class is a rejection', () => {
    const rejections = errorClasses.filter(({ instance }) => instance instanceof errors.RejectionError);
    expect(sorted(rejections.map(({ name }) => name))).toEqual(sorted(REJECTION_ERROR_NAMES));
  });

  it('names each retryable error after an error class that is not a rejection', () => {
    for (const name of RETRYABLE_ERROR_NAMES) {
      const matching = errorClasses.filter((c) => c.name === name);
      expect(matching, name).toHaveLength(1);
      expect(matching[0]?.instance, name).not.toBeInstanceOf(errors.RejectionError);
    }
  });

  it('ends refused input in the Fail state whose error redrive looks for', () => {
    const rejected = definition.States[definition.States.RecordRejection?.Next];
    expect(rejected).toMatchObject({ Type: 'Fail', Error: INPUT_REJECTED });
  });

  it('sends a copy to WaitForCopySlot when it is queued, and back to the copy task when its attempt failed', () => {
    const copyEnded = new Map(allStates()).get('CopyEnded');
    expect(copyEnded?.Choices).toEqual([
      { Variable: '$.result.status', StringEquals: QUEUED.status, Next: 'WaitForCopySlot' },
      { Variable: '$.result.status', StringEquals: ATTEMPT_FAILED.status, Next: 'CopyToDestination' },
    ]);
  });
});
