import { describe, expect, it } from 'vitest';
import {
  type CopyDecision,
  type CopyStatus,
  decideCopy,
  type LedgerRecord,
  type LedgerStatus,
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
  ])('a %s record at attempt %i, seen from %s, gives %j', (status, attempt, _run, decision, currentRun) => {
    expect(decideCopy(record(status, attempt), currentRun)).toEqual(decision);
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
  const ALL: LedgerStatus[] = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'REJECTED', 'PLANNED'];

  it('ranks every status with a positive whole number', () => {
    expect(Object.keys(STATUS_RANK).sort()).toEqual([...ALL].sort());
    for (const status of ALL)
      expect(Number.isInteger(STATUS_RANK[status]) && STATUS_RANK[status] > 0).toBe(true);
  });

  it('orders PENDING before RUNNING', () => {
    expect(STATUS_RANK.PENDING).toBeLessThan(STATUS_RANK.RUNNING);
  });

  const FINAL: LedgerStatus[] = ['COMPLETED', 'FAILED', 'REJECTED', 'PLANNED'];

  it.each(FINAL)('orders RUNNING before the final status %s', (status) => {
    expect(STATUS_RANK.RUNNING).toBeLessThan(STATUS_RANK[status]);
  });

  it('ranks the final statuses equally, so none can overwrite another within an attempt', () => {
    const ranks = new Set(FINAL.map((status) => STATUS_RANK[status]));
    expect(ranks.size).toBe(1);
  });
});
