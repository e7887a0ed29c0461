import { describe, expect, it } from 'vitest';
import {
  awaitsItsExecution,
  type CopyDecision,
  type CopyStatus,
  decideCopy,
  type LedgerRecord,
  PLAN_KEY,
  PLAN_STATUS_RANK,
  STATUS_RANK,
} from '../../lib/domain/ledger-record.js';

const EXECUTION = 'arn:aws:states:us-east-1:111111111111:execution:copy:abc';
/** The run that wrote the record: the execution before any re-drive. */
const WRITER_RUN = `${EXECUTION}#0`;
const SAME_RUN = `${EXECUTION}#0`;
const REDRIVE = `${EXECUTION}#1`;
const OTHER_EXECUTION = 'arn:aws:states:us-east-1:111111111111:execution:copy:def#0';

function record(status: CopyStatus, attempt: number, runId: string | null = WRITER_RUN): LedgerRecord {
  return {
    recoveryPointArn: 'arn:aws:backup:us-east-1:111111111111:recovery-point:rp',
    destinationVaultArn: 'arn:aws:backup:us-west-2:111111111111:backup-vault:dr-west',
    status,
    statusRank: 0,
    attempt,
    executionArn: EXECUTION,
    createdAt: '2026-11-20T21:41:17.000Z',
    updatedAt: '2026-11-20T21:41:17.000Z',
    ...(runId === null ? {} : { runId }),
  };
}

describe('decideCopy', () => {
  it.each([SAME_RUN, OTHER_EXECUTION])('starts attempt 1 when there is no record (run %s)', (run) => {
    expect(decideCopy(undefined, run)).toEqual({ action: 'start', attempt: 1, resume: false });
  });

  it.each<[CopyStatus, number, string, CopyDecision, string]>([
    ['COMPLETED', 1, 'the same run', { action: 'complete' }, SAME_RUN],
    ['COMPLETED', 1, 'a re-drive', { action: 'complete' }, REDRIVE],
    ['COMPLETED', 4, 'another execution', { action: 'complete' }, OTHER_EXECUTION],
    ['RUNNING', 1, 'the same run', { action: 'wait', attempt: 1 }, SAME_RUN],
    ['RUNNING', 3, 'a re-drive', { action: 'wait', attempt: 3 }, REDRIVE],
    ['RUNNING', 2, 'another execution', { action: 'wait', attempt: 2 }, OTHER_EXECUTION],
    ['PENDING', 1, 'the same run', { action: 'start', attempt: 1, resume: true }, SAME_RUN],
    ['PENDING', 2, 'a re-drive', { action: 'start', attempt: 2, resume: true }, REDRIVE],
    ['PENDING', 5, 'another execution', { action: 'start', attempt: 5, resume: true }, OTHER_EXECUTION],
    ['FAILED', 1, 'the same run', { action: 'fail' }, SAME_RUN],
    ['FAILED', 3, 'the same run', { action: 'fail' }, SAME_RUN],
    ['FAILED', 1, 'a re-drive', { action: 'start', attempt: 2, resume: false }, REDRIVE],
    ['FAILED', 3, 'another execution', { action: 'start', attempt: 4, resume: false }, OTHER_EXECUTION],
    ['PLANNED', 0, 'the same run', { action: 'start', attempt: 1, resume: false }, SAME_RUN],
    ['PLANNED', 0, 'another execution', { action: 'start', attempt: 1, resume: false }, OTHER_EXECUTION],
    ['QUEUED', 1, 'the same run', { action: 'start', attempt: 1, resume: false }, SAME_RUN],
    ['QUEUED', 2, 'a re-drive', { action: 'start', attempt: 2, resume: false }, REDRIVE],
  ])('a %s record at attempt %i, seen from %s, gives %j', (status, attempt, _run, decision, currentRun) => {
    expect(decideCopy(record(status, attempt), currentRun)).toEqual(decision);
  });

  describe('after a FAILED attempt, with duplicate executions', () => {
    const failed = (startedBy: string[], waitingExecutions: string[]) => ({
      ...record('FAILED', 2),
      startedBy: new Set(startedBy),
      waitingExecutions: new Set(waitingExecutions),
    });
    const OTHER = OTHER_EXECUTION.replace(/#0$/, '');

    it('follows the next attempt when another waiting execution has not started one yet', () => {
      expect(decideCopy(failed([WRITER_RUN], [EXECUTION, OTHER]), SAME_RUN)).toEqual({
        action: 'follow',
        attempt: 2,
      });
    });

    it('starts the next attempt itself when it has not started one', () => {
      expect(decideCopy(failed([WRITER_RUN], [EXECUTION, OTHER]), OTHER_EXECUTION)).toEqual({
        action: 'start',
        attempt: 3,
        resume: false,
      });
    });

    it('fails when every execution waiting has started an attempt already: the copy is really missing', () => {
      expect(decideCopy(failed([WRITER_RUN, OTHER_EXECUTION], [EXECUTION, OTHER]), SAME_RUN)).toEqual({
        action: 'fail',
      });
      expect(decideCopy(failed([WRITER_RUN, OTHER_EXECUTION], [EXECUTION, OTHER]), OTHER_EXECUTION)).toEqual({
        action: 'fail',
      });
    });

    it('counts a re-drive of a waiting execution as that execution having started one', () => {
      expect(decideCopy(failed([WRITER_RUN, `${OTHER}#1`], [EXECUTION, OTHER]), SAME_RUN)).toEqual({
        action: 'fail',
      });
    });
  });

  it('starts the next attempt after a FAILED record that has no run id', () => {
    expect(decideCopy(record('FAILED', 2, null), SAME_RUN)).toEqual({
      action: 'start',
      attempt: 3,
      resume: false,
    });
  });
});

describe('STATUS_RANK', () => {
  const ORDER: CopyStatus[] = ['PLANNED', 'QUEUED', 'PENDING', 'RUNNING', 'COMPLETED'];

  it('ranks every copy status', () => {
    expect(Object.keys(STATUS_RANK).sort()).toEqual([...ORDER, 'FAILED', 'REJECTED'].sort());
  });

  it('orders PLANNED, QUEUED, PENDING, RUNNING and the final statuses', () => {
    const ranks = ORDER.map((status) => STATUS_RANK[status]);
    expect([...ranks].sort((a, b) => a - b)).toEqual(ranks);
    expect(new Set(ranks).size).toBe(ORDER.length);
  });

  it('ranks the final statuses equally, and as high as a plan, so none can overwrite another', () => {
    expect(STATUS_RANK.FAILED).toBe(STATUS_RANK.COMPLETED);
    expect(PLAN_STATUS_RANK).toBe(STATUS_RANK.COMPLETED);
  });
});

describe('awaitsItsExecution', () => {
  it.each<[CopyStatus, boolean]>([
    ['PLANNED', true],
    ['QUEUED', true],
    ['PENDING', true],
    // Settled by its job's end (the event, or DescribeCopyJob), whoever waits for it.
    ['RUNNING', false],
    ['COMPLETED', false],
    ['FAILED', false],
    ['REJECTED', false],
  ])('a %s copy: %s', (status, awaits) => {
    expect(awaitsItsExecution(record(status, 1))).toBe(awaits);
  });

  it('is false for a plan item, whatever its status', () => {
    expect(awaitsItsExecution({ ...record('PLANNED', 0), destinationVaultArn: PLAN_KEY })).toBe(false);
  });
});
