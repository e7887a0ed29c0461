import type { Lifecycle } from './lifecycle.js';

/** Copy status, per (recovery point, destination); REJECTED: refused at plan time, never attempted. */
export type CopyStatus = 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'REJECTED';
/** Plan status, per recovery point (the item whose destination is PLAN_KEY); FAILED: the lookup failed. */
export type PlanStatus = 'PLANNED' | 'REJECTED' | 'FAILED';
export type LedgerStatus = CopyStatus | PlanStatus;

/** Destination key of the per-recovery-point item that says what was planned or why it was refused. */
export const PLAN_KEY = '*';

/** The ledger's global secondary index of final copy items by protected resource (resources/state.yml). */
export const RESOURCE_INDEX = 'byResource';

/** Order within one attempt; a write never lowers (attempt, rank), so late writers cannot move a record back. */
export const STATUS_RANK: Record<LedgerStatus, number> = {
  PENDING: 1,
  RUNNING: 2,
  COMPLETED: 3,
  FAILED: 3,
  REJECTED: 3,
  PLANNED: 3,
};

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
}

export type CopyDecision =
  | { action: 'complete' }
  | { action: 'wait'; attempt: number }
  | { action: 'fail' }
  | { action: 'start'; attempt: number; resume: boolean };

/**
 * What the copy task does given the copy's ledger record and the current run (execution ARN + re-drive count):
 * a COMPLETED copy starts nothing; a RUNNING one is waited on; a PENDING one resumes its attempt (same token,
 * so AWS returns the job if the last run got that far); a copy that FAILED in an earlier run starts the next
 * attempt, while one that FAILED in this run fails the task, so that a re-drive restarts exactly that copy.
 */
export function decideCopy(record: LedgerRecord | undefined, currentRunId: string): CopyDecision {
  if (!record) return { action: 'start', attempt: 1, resume: false };
  switch (record.status) {
    case 'COMPLETED':
      return { action: 'complete' };
    case 'RUNNING':
      return { action: 'wait', attempt: record.attempt };
    case 'PENDING':
      return { action: 'start', attempt: record.attempt, resume: true };
    default:
      // FAILED: the cause may be fixed since; a new run (re-drive or re-run) tries again, this run gives up.
      return record.runId === currentRunId
        ? { action: 'fail' }
        : { action: 'start', attempt: record.attempt + 1, resume: false };
  }
}
