import type { BackupClient, CopyJobState } from '@aws-sdk/client-backup';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { describeCopyJob, startCopyJob } from './aws/backup.js';
import type { CopySlots } from './aws/copy-slots.js';
import type { CopyKey, CopyLedger, JobOutcome } from './aws/ledger.js';
import { completeTasks } from './aws/sfn.js';
import { type CheckCopyProgressOutput, type CopyResult, QUEUED, SLOT_GRANTED } from './contracts.js';
import { copyIdempotencyToken, copySlotHolder, runId } from './domain/keys.js';
import { decideCopy, type LedgerRecord } from './domain/ledger-record.js';
import type { PlannedCopy } from './domain/policy.js';
import { CopyJobFailedError, errorSummary, RetryableAwsError } from './errors.js';
import { logger } from './logger.js';
import { count, Metric, seconds } from './metrics.js';

export interface CopyDependencies {
  ledger: CopyLedger;
  backup: BackupClient;
  sfn: SFNClient;
  /** Bounds copy jobs in flight across executions; absent, throttling is left to Retry alone. */
  slots?: CopySlots;
}

/** One run of an execution: a re-drive is a new run of the same execution. */
export interface Run {
  executionArn: string;
  redriveCount: number;
}

export const copyKey = (copy: PlannedCopy): CopyKey => ({
  recoveryPointArn: copy.recoveryPointArn,
  destinationVaultArn: copy.destinationVaultArn,
});

/**
 * What each of the API's copy job states (the SDK's CopyJobState) means for a copy. ABORTED is none of them:
 * neither CopyJobState nor the Copy Job State Change examples of the AWS Backup EventBridge guide list it.
 */
export const COPY_JOB_STATE_OUTCOME: Record<CopyJobState, 'succeeded' | 'failed' | 'in progress'> = {
  CREATED: 'in progress',
  RUNNING: 'in progress',
  COMPLETED: 'succeeded',
  FAILED: 'failed',
  // A composite copy with some nested copies missing: not the whole copy, so a re-drive tries again.
  PARTIAL: 'failed',
};

const outcomeOf = (state: string) => COPY_JOB_STATE_OUTCOME[state as CopyJobState] as string | undefined;

/** Claims can lose to a concurrent writer; after this many re-reads something is wrong. */
const MAX_ROUNDS = 5;

function resultOf(record: LedgerRecord): CopyResult {
  return {
    recoveryPointArn: record.recoveryPointArn,
    destinationVaultArn: record.destinationVaultArn,
    status: 'COMPLETED',
    attempt: record.attempt,
    copyJobId: record.copyJobId ?? '',
    idempotencyToken: record.idempotencyToken ?? '',
  };
}

const failureOf = (record: LedgerRecord) =>
  new CopyJobFailedError(
    record.lastError?.message ?? `copy ${record.copyJobId ?? ''} ended ${record.status}`,
  );

/**
 * The copy task (`.waitForTaskToken`): makes sure one copy job exists for (recovery point, destination) and
 * leaves `taskToken` to be completed when the job ends — by the Copy Job State Change event, by the
 * progress check, or right here when the ledger already knows the outcome. What it does for each ledger
 * state is `decideCopy`'s; a copy that finds every copy slot held completes the task with QUEUED instead.
 */
export async function copyToDestination(
  deps: CopyDependencies,
  copy: PlannedCopy,
  run: Run,
  taskToken: string,
): Promise<void> {
  const key = copyKey(copy);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const record = await deps.ledger.get(key);
    const decision = decideCopy(record, runId(run));
    if (decision.action === 'complete' && record) {
      await freeSlot(deps, key);
      await completeTasks(deps.sfn, [taskToken], { output: resultOf(record) });
      return;
    }
    if (decision.action === 'fail' && record) {
      await freeSlot(deps, key);
      throw failureOf(record);
    }
    if (decision.action === 'wait') {
      if (await deps.ledger.addWaiter(key, decision.attempt, taskToken)) return;
      continue;
    }
    if (decision.action !== 'start') continue;
    if (deps.slots && !(await deps.slots.acquire(copySlotHolder(key)))) {
      await completeTasks(deps.sfn, [taskToken], { output: QUEUED });
      return;
    }
    const idempotencyToken = copyIdempotencyToken(
      copy.recoveryPointArn,
      copy.destinationVaultArn,
      decision.attempt,
    );
    if (!(await deps.ledger.claim(copy, decision.attempt, idempotencyToken, runId(run), run.executionArn)))
      continue;
    let job: Awaited<ReturnType<typeof startCopyJob>>;
    try {
      job = await startCopyJob(deps.backup, {
        recoveryPointArn: copy.recoveryPointArn,
        sourceBackupVaultName: copy.sourceBackupVaultName,
        destinationVaultArn: copy.destinationVaultArn,
        iamRoleArn: copy.iamRoleArn,
        idempotencyToken,
        ...(copy.lifecycle ? { lifecycle: copy.lifecycle } : {}),
      });
    } catch (error) {
      await recordStartFailure(deps, key, decision.attempt, error, run);
      throw error;
    }
    if (!decision.resume) {
      count(Metric.CopiesStarted, 1, copy.destinationVaultArn);
      if (copy.sourceCompletionDate) {
        seconds(Metric.BackupToCopyStart, (Date.now() - Date.parse(copy.sourceCompletionDate)) / 1000);
      }
    }
    const running = await deps.ledger.markRunning(
      key,
      decision.attempt,
      job.copyJobId,
      job.isParent,
      taskToken,
    );
    if (!running) continue;
    if (running.lastJobOutcome?.copyJobId === job.copyJobId)
      await settleCopy(deps, key, running.lastJobOutcome);
    return;
  }
  throw new Error(`ledger item ${key.recoveryPointArn} → ${key.destinationVaultArn} kept changing under us`);
}

/**
 * The WaitForCopySlot task: queues `taskToken` for a copy slot, to be completed with SLOT_GRANTED when one is
 * handed on. A slot freed before the entry was visible would idle, so it tries once more itself; the entry
 * then left behind only earns these tasks a SLOT_GRANTED they no longer need.
 */
export async function waitForCopySlot(
  deps: CopyDependencies,
  copy: PlannedCopy,
  taskToken: string,
): Promise<void> {
  const { slots } = deps;
  const holder = copySlotHolder(copyKey(copy));
  if (slots) {
    await slots.enqueue(holder, taskToken);
    if (!(await slots.acquire(holder))) return;
  }
  await completeTasks(deps.sfn, [taskToken], { output: SLOT_GRANTED });
}

/** Frees a copy's slot and hands free slots to the copies waiting longest. */
async function freeSlot(deps: Pick<CopyDependencies, 'sfn' | 'slots'>, key: CopyKey): Promise<void> {
  if (!deps.slots) return;
  await deps.slots.release(copySlotHolder(key));
  await grantFreeSlots(deps.slots, deps.sfn);
}

/**
 * Hands free slots to the copies waiting longest. A slot taken for a copy whose tasks are all gone (timed
 * out, execution stopped) is freed again at once, so it never idles while a live copy waits behind them.
 */
export async function grantFreeSlots(slots: CopySlots, sfn: SFNClient): Promise<void> {
  // Reading the holders first keeps the many granters of a burst from contending in transactions for nothing.
  while ((await slots.free()) > 0) {
    // Always the head of the queue: granters working from a page read earlier trip over each other's grants.
    const [entry] = await slots.waiting(1);
    if (!entry) return;
    const grant = await slots.grant(entry);
    if (grant.outcome === 'full') return;
    if (grant.outcome === 'gone') continue;
    let closed: string[];
    try {
      closed = await completeTasks(sfn, grant.taskTokens, { output: SLOT_GRANTED });
    } catch (error) {
      // Step Functions did not take the wake-up: queue the tasks again and give the slot back, so a later
      // granter (or the reconciler) wakes them, not their 7-day timeout.
      logger.warn('could not wake a copy granted a slot; queued it again', { holder: entry.holder, error });
      for (const taskToken of grant.taskTokens) await slots.enqueue(entry.holder, taskToken);
      if (grant.outcome === 'granted') await slots.release(entry.holder, grant.expiresAt);
      return;
    }
    if (grant.outcome === 'granted' && closed.length === grant.taskTokens.length) {
      await slots.release(entry.holder, grant.expiresAt);
    }
  }
}

/**
 * A retryable refusal leaves the attempt PENDING (the retry or a re-drive resumes it with the same token);
 * any other answer means AWS will never start this job: the attempt FAILED.
 */
async function recordStartFailure(
  deps: CopyDependencies,
  key: CopyKey,
  attempt: number,
  error: unknown,
  run: Run,
) {
  const lastError = errorSummary(error);
  if (error instanceof RetryableAwsError) {
    count(Metric.ThrottledAnswers);
    await deps.ledger.noteError(key, attempt, lastError);
  } else {
    if (await deps.ledger.markFinal(key, attempt, 'FAILED', { executionArn: run.executionArn, lastError })) {
      count(Metric.CopiesFailed, 1, key.destinationVaultArn);
    }
    await freeSlot(deps, key);
  }
}

/**
 * Records a copy job's end and completes every task waiting on it. Returns the ledger record, or undefined
 * when the job is not one of ours (copies made by backup plans raise the same events).
 */
export async function settleCopy(
  deps: Pick<CopyDependencies, 'ledger' | 'sfn' | 'slots'>,
  key: CopyKey,
  outcome: JobOutcome,
): Promise<LedgerRecord | undefined> {
  let record = await deps.ledger.get(key);
  // While PENDING, a copyJobId on the item is an earlier attempt's: this event may be the new attempt's job.
  if (record?.status === 'PENDING') {
    // The event beat the copy task's markRunning: leave the outcome for it, unless it got there meanwhile.
    if (await deps.ledger.noteJobOutcome(key, outcome)) return record;
    record = await deps.ledger.get(key);
  }
  if (!record || record.copyJobId !== outcome.copyJobId) return undefined;
  const succeeded = outcomeOf(outcome.state) === 'succeeded';
  if (!succeeded && outcomeOf(outcome.state) !== 'failed') return record;
  const lastError = succeeded
    ? undefined
    : errorSummary(
        new CopyJobFailedError(
          `copy job ${outcome.copyJobId} ended ${outcome.state}${outcome.statusMessage ? `: ${outcome.statusMessage}` : ''}`,
        ),
      );
  const settled = await deps.ledger.markFinal(key, record.attempt, succeeded ? 'COMPLETED' : 'FAILED', {
    executionArn: record.executionArn,
    ...(lastError ? { lastError } : {}),
  });
  if (settled?.status === 'COMPLETED') {
    count(Metric.CopiesCompleted, 1, key.destinationVaultArn);
    if (settled.startedAt) seconds(Metric.CopyDuration, (Date.now() - Date.parse(settled.startedAt)) / 1000);
  } else if (settled) count(Metric.CopiesFailed, 1, key.destinationVaultArn);
  const final = settled ?? (await deps.ledger.get(key));
  if (!final) return record;
  await freeSlot(deps, key);
  const waiters = [...(final.waiters ?? [])];
  if (final.status === 'COMPLETED') await completeTasks(deps.sfn, waiters, { output: resultOf(final) });
  else if (final.status === 'FAILED') await completeTasks(deps.sfn, waiters, { error: failureOf(final) });
  return final;
}

/** The fallback when no event arrived in time: asks AWS Backup how the copy is doing and settles it if it ended. */
export async function checkCopyProgress(
  deps: CopyDependencies,
  copy: PlannedCopy,
): Promise<CheckCopyProgressOutput> {
  const key = copyKey(copy);
  const record = await deps.ledger.get(key);
  if (!record?.copyJobId || record.status !== 'RUNNING') return { status: record?.status ?? 'MISSING' };
  // Still running after the long wait: keep its copy slot's lease alive.
  await deps.slots?.acquire(copySlotHolder(key));
  const job = await describeCopyJob(deps.backup, record.copyJobId);
  const settled = await settleCopy(deps, key, {
    copyJobId: record.copyJobId,
    state: job.State ?? 'UNKNOWN',
    ...(job.StatusMessage ? { statusMessage: job.StatusMessage } : {}),
  });
  return { status: settled?.status ?? record.status, copyJobId: record.copyJobId };
}
