import type { Lifecycle } from './lifecycle.js';

/**
 * Copy status, per (recovery point, destination): PLANNED from planning on (attempt 0), QUEUED while it waits for
 * a copy slot, PENDING once an attempt is claimed (StartCopyJob may have been called), RUNNING with a copy job;
 * REJECTED: refused at plan time, never attempted.
 */
export type CopyStatus = 'PLANNED' | 'QUEUED' | 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'REJECTED';
/** Plan status, per recovery point (the item whose destination is PLAN_KEY); FAILED: the lookup failed. */
export type PlanStatus = 'PLANNED' | 'REJECTED' | 'FAILED';
export type LedgerStatus = CopyStatus | PlanStatus;

/** Destination key of the per-recovery-point item that says what was planned or why it was refused. */
export const PLAN_KEY = '*';

/** The ledger's global secondary index of final copy items by protected resource (resources/state.yml). */
export const RESOURCE_INDEX = 'byResource';

/**
 * Order of copy statuses within one attempt; a write never lowers (attempt, rank), so late writers cannot move a
 * record back. The one exception is explicit: AWS refusing StartCopyJob for now sends PENDING back to QUEUED.
 */
export const STATUS_RANK: Record<CopyStatus, number> = {
  PLANNED: 0,
  QUEUED: 1,
  PENDING: 2,
  RUNNING: 3,
  COMPLETED: 4,
  FAILED: 4,
  REJECTED: 4,
};

/** A plan item's rank: every plan status is final. */
export const PLAN_STATUS_RANK = 4;

/**
 * Copy statuses that move on only while the copy's execution runs: PLANNED, QUEUED, PENDING. A RUNNING copy is
 * settled by its job's end (event or DescribeCopyJob) whoever waits; the final ones need nothing.
 */
const AWAITING_EXECUTION: ReadonlySet<LedgerStatus> = new Set(['PLANNED', 'QUEUED', 'PENDING']);

/** True for a copy item that nothing but a run of its execution (`executionArn`) will move on. */
export const awaitsItsExecution = (record: LedgerRecord) =>
  record.destinationVaultArn !== PLAN_KEY && AWAITING_EXECUTION.has(record.status);

export interface LedgerError {
  name: string;
  message: string;
}

export interface LedgerRecord {
  recoveryPointArn: string;
  /** The destination vault ARN, or PLAN_KEY for the recovery point's plan record. */
  destinationVaultArn: string;
  status: LedgerStatus;
  statusRank: number;
  attempt: number;
  executionArn: string;
  createdAt: string;
  updatedAt: string;
  sourceBackupVaultName?: string;
  resourceType?: string;
  /** The protected resource (a copy item's, from DescribeRecoveryPoint): the resource index's partition key. */
  resourceArn?: string;
  /** When the source backup finished (ISO-8601): how old the data in the copy is. */
  sourceCompletionDate?: string;
  /** The resource index's sort key, on final copy items (see resourceOutcomeKey in keys.ts). */
  resourceOutcome?: string;
  idempotencyToken?: string;
  copyJobId?: string;
  iamRoleArn?: string;
  lifecycle?: Lifecycle;
  lifecycleSource?: string;
  isParent?: boolean;
  startedAt?: string;
  completedAt?: string;
  destinations?: string[];
  /** On a plan item: the destinations refused for this recovery point (each also a REJECTED copy item). */
  refused?: string[];
  /** On a REJECTED copy item: the policy rule that named the destination. */
  rule?: string;
  warnings?: string[];
  lastError?: LedgerError;
  /** The run (execution ARN # re-drive count) that claimed the current attempt. */
  runId?: string;
  /** A copy job's end that arrived before its id was recorded (see CopyLedger.noteJobOutcome). */
  lastJobOutcome?: { copyJobId: string; state: string; statusMessage?: string };
  /** Task tokens of the copy tasks waiting for this copy to end. */
  waiters?: string[];
  /** While QUEUED and waiting: the copy slot key it waits for (the sparse queue index's partition key). */
  slotQueue?: string;
  /** While waiting: when it first queued for this attempt (the queue index's sort key), so it keeps its place. */
  queuedAt?: string;
  /** While waiting: the WaitForCopySlot tasks to wake when it is granted a slot. */
  waitingTokens?: Set<string>;
  /** When StartCopyJob first answered ServiceUnavailable for this attempt, cleared once a job starts. */
  unavailableSince?: string;
  /** Every run that started an attempt of this copy (its first claim of a new attempt). */
  startedBy?: Set<string>;
  /** Every execution whose task has waited on this copy's job, while it has not ended. */
  waitingExecutions?: Set<string>;
}

export type CopyDecision =
  | { action: 'complete' }
  | { action: 'wait'; attempt: number }
  | { action: 'fail' }
  | { action: 'follow'; attempt: number }
  | { action: 'start'; attempt: number; resume: boolean };

/** The execution part of a run id (`<executionArn>#<redriveCount>`). */
const executionOf = (run: string) => run.slice(0, run.lastIndexOf('#'));

/**
 * What the copy task does given the copy's ledger record and the current run (execution ARN + re-drive count):
 * a PLANNED copy starts attempt 1, a QUEUED one the attempt it queued for; a COMPLETED copy starts nothing;
 * a RUNNING one is waited on; a PENDING one resumes its attempt (same token, so AWS returns the job if the last
 * run got that far). After a FAILED attempt, a run that has not started an attempt of its own starts the next;
 * one that has fails the task (so a re-drive, a new run, restarts exactly that copy), unless another execution
 * waiting on the copy has not started one yet: then it follows the attempt that execution will start. So
 * duplicate executions never fail for a copy that one of them is still going to make, and each run starts at most
 * one attempt.
 */
export function decideCopy(record: LedgerRecord | undefined, currentRunId: string): CopyDecision {
  if (!record) return { action: 'start', attempt: 1, resume: false };
  switch (record.status) {
    case 'PLANNED':
      return { action: 'start', attempt: record.attempt + 1, resume: false };
    case 'QUEUED':
      return { action: 'start', attempt: record.attempt, resume: false };
    case 'COMPLETED':
      return { action: 'complete' };
    case 'RUNNING':
      return { action: 'wait', attempt: record.attempt };
    case 'PENDING':
      return { action: 'start', attempt: record.attempt, resume: true };
    default: {
      // FAILED: the cause may be fixed since; a run that has not tried yet tries again.
      const started = [...(record.startedBy ?? (record.runId ? [record.runId] : []))];
      if (!started.includes(currentRunId))
        return { action: 'start', attempt: record.attempt + 1, resume: false };
      const startedExecutions = new Set(started.map(executionOf));
      const othersWillTry = [...(record.waitingExecutions ?? [])].some((e) => !startedExecutions.has(e));
      return othersWillTry ? { action: 'follow', attempt: record.attempt } : { action: 'fail' };
    }
  }
}
