import { CopyJobState } from '@aws-sdk/client-backup';
import { describe, expect, it } from 'vitest';
import { COPY_JOB_STATE_OUTCOME } from '../../lib/copy.js';

describe('copy job states', () => {
  it('gives an outcome to exactly the states of the SDK enum (a state an SDK update adds fails here)', () => {
    expect(Object.keys(COPY_JOB_STATE_OUTCOME).sort()).toEqual(Object.values(CopyJobState).sort());
  });

  it.each([
    ['CREATED', 'in progress'],
    ['RUNNING', 'in progress'],
    ['COMPLETED', 'succeeded'],
    ['FAILED', 'failed'],
    ['PARTIAL', 'failed'],
  ])('treats %s as %s', (state, outcome) => {
    expect(COPY_JOB_STATE_OUTCOME[state as CopyJobState]).toBe(outcome);
  });
});
