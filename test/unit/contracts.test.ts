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
import { UNAVAILABLE_MARK_MS } from '../../lib/domain/copy-slots.js';
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
    return (
      typeof value === 'function' &&
      value.prototype instanceof Error &&
      value !== errors.RejectionError &&
      value !== errors.RetryableAwsError
    );
  })
  .map((ErrorClass) => {
    const instance = new ErrorClass(ErrorClass.prototype instanceof errors.RejectionError ? [] : 'message');
    return { instance, name: instance.name };
  });

const sorted = (names: readonly string[]) => [...names].sort();

const functions = (
  parse(readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8')) as {
    functions: Record<string, { handler: string }>;
  }
).functions;

/** The function a Task state runs: its Resource, or its Lambda integration's FunctionName. */
function functionOf(state: State): string {
  const getAtt = (state.Resource?.['Fn::GetAtt'] ??
    state.Parameters?.FunctionName?.['Fn::GetAtt']) as string[];
  return getAtt[0] as string;
}

/** The source of a function's handler file, from its serverless.yml `handler` (handlers/x.handler). */
function handlerSource(functionName: string): string {
  const handler = functions[functionName]?.handler ?? '';
  return readFileSync(new URL(`../../${handler.replace(/\.handler$/, '.ts')}`, import.meta.url), 'utf8');
}

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
    // Tried again before the Region's ServiceUnavailable mark can lapse, so the probe keeps it.
    const wait = new Map(allStates()).get('WaitBeforeResuming');
    expect(wait).toMatchObject({ Type: 'Wait', Next: 'CopyToDestination' });
    expect(((wait?.Seconds as number) + 120) * 1000).toBeLessThan(UNAVAILABLE_MARK_MS);
  });

  it('retries exactly the retryable error names in every task whose function builds an AWS client', () => {
    const callers = allStates()
      .filter(([, s]) => s.Type === 'Task' && /create\w+Client\(/.test(handlerSource(functionOf(s))))
      .map(([state]) => state);
    expect(callers).toContain('RecordRejection');
    expect(callers).not.toContain('NormalizeInput');
    const retriers = matchersOfOurs('Retry');
    expect(sorted(retriers.map(({ state }) => state))).toEqual(sorted(callers));
    for (const { errorEquals } of retriers)
      expect(sorted(errorEquals)).toEqual(sorted(RETRYABLE_ERROR_NAMES));
  });

  it('names every RetryableAwsError class in the retryable names, and nothing else', () => {
    const retryable = errorClasses.filter(({ instance }) => instance instanceof errors.RetryableAwsError);
    expect(sorted(retryable.map(({ name }) => name))).toEqual(sorted(RETRYABLE_ERROR_NAMES));
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
