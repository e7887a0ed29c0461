import type { BackupClient, CopyJobState } from '@aws-sdk/client-backup';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { describeCopyJob, startCopyJob } from './aws/backup.js';
import type { CopySlots } from './aws/copy-slots.js';
import type { CopyKey, CopyLedger, JobOutcome, QueuePlace } from './aws/ledger.js';
import { completeTasks } from './aws/sfn.js';
import type { Config } from './config.js';
import {
  ATTEMPT_FAILED,
  type CheckCopyProgressOutput,
  type CopyResult,
  QUEUED,
  SLOT_GRANTED,
} from './contracts.js';
import { isRegionUnavailable, type SlotSubject } from './domain/copy-slots.js';
import { findRecoveryPointArn } from './domain/event.js';
import { copyIdempotencyToken, runId } from './domain/keys.js';
import { decideCopy, type LedgerRecord } from './domain/ledger-record.js';
import type { PlannedCopy } from './domain/policy.js';
import {
  CopyJobFailedError,
  CopyStartUnavailableError,
  errorSummary,
  LimitExceededException,
  ServiceUnavailableException,
  ThrottlingException,
} from './errors.js';
import { logger } from './logger.js';
import { count, Metric, MetricUnit, metrics, seconds } from './metrics.js';

export interface CopyDependencies {
  ledger: CopyLedger;
  backup: BackupClient;
  sfn: SFNClient;
  /** Copy slots shaped like AWS Backup's quotas; absent, throttling is left to Retry alone. */
  slots?: CopySlots;
  config: Pick<Config, 'copyStartPatienceMs'>;
}

type SlotDependencies = Pick<CopyDependencies, 'ledger' | 'sfn' | 'slots'>;

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

/**
 * Only the probe notes ServiceUnavailable on its item (see recordStartFailure). It takes slots despite its Region's
 * mark wherever it gets them, from its own task or from a granter: queued behind its resource's other copy, say,
 * it would otherwise be refused by the mark it keeps, and wait for the mark to lapse.
 */
const asProbe = (record: LedgerRecord | undefined) => ({ probing: record?.unavailableSince !== undefined });

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
 * state is `decideCopy`'s. A copy that cannot have its copy slots, or that AWS answers "not now", is QUEUED in
 * the ledger and completes the task with QUEUED: the workflow then waits in WaitForCopySlot.
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
      await freeSlots(deps, record);
      await completeTasks(deps.sfn, [taskToken], { output: resultOf(record) });
      return;
    }
    if (decision.action === 'fail' && record) {
      await freeSlots(deps, record);
      throw failureOf(record);
    }
    const waiter = { taskToken, executionArn: run.executionArn };
    if (decision.action === 'wait') {
      if (await deps.ledger.addWaiter(key, decision.attempt, waiter)) return;
      continue;
    }
    if (decision.action === 'follow') {
      if (await deps.ledger.addFollower(key, decision.attempt, waiter)) return;
      continue;
    }
    if (decision.action !== 'start') continue;
    let marked = false;
    if (deps.slots) {
      // A new copy whose Region's slots were just found full does not try them here: it joins the queue at once,
      // and WaitForCopySlot looks for a free slot from inside it (in a burst, two refused writes fewer per copy).
      // Only a new one: a copy woken from the queue holds the slots it was granted.
      const acquired =
        (record === undefined || record.status === 'PLANNED') && deps.slots.seemsFull(copy)
          ? { granted: false as const, waitOn: deps.slots.slotsOf(copy).regional.key }
          : await deps.slots.acquire(copy, run.executionArn, asProbe(record));
      if (!acquired.granted) {
        if (acquired.gaveBack) await grantWaiting(deps, acquired.gaveBack, 1);
        if (!(await deps.ledger.markQueued(copy, decision.attempt, acquired.waitOn, run.executionArn)))
          continue;
        // The probe waiting for a busy slot no longer probes: another copy takes over.
        if (record?.unavailableSince) await stopProbing(deps, copy);
        await completeTasks(deps.sfn, [taskToken], { output: QUEUED });
        return;
      }
      marked = acquired.marked === true;
    }
    const idempotencyToken = copyIdempotencyToken(
      copy.recoveryPointArn,
      copy.destinationVaultArn,
      decision.attempt,
    );
    const claimed = await deps.ledger.claim(
      copy,
      decision.attempt,
      idempotencyToken,
      runId(run),
      run.executionArn,
    );
    if (!claimed) continue;
    // Other executions' WaitForCopySlot tasks for this copy: send them on to wait for its job.
    await completeTasks(deps.sfn, claimed.waitingTokens, { output: SLOT_GRANTED });
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
      await recordStartFailure(deps, copy, decision.attempt, error, run);
      await completeTasks(deps.sfn, [taskToken], { output: QUEUED });
      return;
    }
    if (!decision.resume) {
      count(Metric.CopiesStarted, 1, copy.destinationVaultArn);
      if (copy.sourceCompletionDate) {
        seconds(Metric.BackupToCopyStart, (Date.now() - Date.parse(copy.sourceCompletionDate)) / 1000);
      }
    }
    const running = await deps.ledger.markRunning(key, decision.attempt, job.copyJobId, job.isParent, waiter);
    if (!running) continue;
    // AWS started a copy again after ServiceUnavailable in its Region (the probe, or the first copy after the mark
    // lapsed): clear the mark, and hand on the slots freed while AWS was out (nobody did: the copies behind would
    // have heard the same).
    if (deps.slots && marked && (await deps.slots.clearUnavailable(copy))) {
      await grantWaiting(deps, deps.slots.slotsOf(copy).regional.key);
    }
    if (running.lastJobOutcome?.copyJobId === job.copyJobId)
      await settleCopy(deps, key, running.lastJobOutcome);
    return;
  }
  throw new Error(`ledger item ${key.recoveryPointArn} → ${key.destinationVaultArn} kept changing under us`);
}

/**
 * The WaitForCopySlot task: adds `taskToken` to the queued copy's item, to be completed with SLOT_GRANTED when
 * a slot is handed to it. A slot freed before the copy was in the queue would idle, so the copy takes one that is
 * free itself; a copy no longer queued (granted meanwhile) goes straight back to its copy task.
 */
export async function waitForCopySlot(
  deps: CopyDependencies,
  copy: PlannedCopy,
  taskToken: string,
): Promise<void> {
  const queued = deps.slots && (await deps.ledger.addWaitingToken(copyKey(copy), taskToken));
  if (!deps.slots || !queued || !inQueue(queued)) {
    await completeTasks(deps.sfn, [taskToken], { output: SLOT_GRANTED });
    return;
  }
  await takeFreeSlot(deps, queued);
}

type QueuedRecord = LedgerRecord & QueuePlace;

const inQueue = (record: LedgerRecord): record is QueuedRecord =>
  record.slotQueue !== undefined && record.queuedAt !== undefined;

/** A copy whose slots are in use: granted out of its queue, or its attempt starting or running. */
const holdsGrantedSlots = (record: LedgerRecord) =>
  record.status === 'PENDING' ||
  record.status === 'RUNNING' ||
  (record.status === 'QUEUED' && record.slotQueue === undefined);

/** Looks for a free slot a copy gets while it bounces between queues (see takeFreeSlot). */
const MAX_LOOKS = 10;

/**
 * A queued copy takes the slots it needs if they are free, and wakes its own tasks. Called once the copy is in the
 * queue of the slot it waits for: a slot freed before it joined was handed to nobody. Slots first: in a burst they
 * are full, and then this costs one or two refused writes and nothing else. A copy that finds another slot busy
 * moves to that queue and looks again (its resource's copy may have ended just before it got there).
 */
async function takeFreeSlot(deps: SlotDependencies, queued: QueuedRecord): Promise<void> {
  if (!deps.slots) return;
  let record = queued;
  // Until it has looked from inside the queue it waits in (a copy can bounce between its regional and its
  // resource queue while other copies end; each bounce is their progress, so a few looks suffice).
  for (let look = 0; look < MAX_LOOKS; look++) {
    const acquired = await deps.slots.acquire(record, record.executionArn, asProbe(record));
    if (acquired.granted) {
      const taken = await deps.ledger.takeWaiting(record);
      if (taken) {
        await completeTasks(deps.sfn, [...(taken.waitingTokens ?? [])], { output: SLOT_GRANTED });
        return;
      }
      // Granted by another meanwhile, the hold is that same one, unless the copy has since started and ended (or
      // queued again): then the hold is new, and nobody else would give it back.
      const now = await deps.ledger.get(record);
      if (now && !holdsGrantedSlots(now)) await freeSlots(deps, now);
      return;
    }
    if (acquired.gaveBack) await grantWaiting(deps, acquired.gaveBack, 1);
    if (acquired.waitOn === record.slotQueue || !(await deps.ledger.moveInQueue(record, acquired.waitOn)))
      return;
    record = { ...record, slotQueue: acquired.waitOn };
  }
}

/**
 * Frees a copy's slots (only those `executionArn` took, when given) and hands each freed slot to the copy
 * waiting longest for it. A vault's overflow slot serves the regional queue; `handOnRegional: false` leaves that
 * queue alone (the copies in it would hear the "not now" this copy just heard).
 */
export async function freeSlots(
  deps: SlotDependencies,
  copy: SlotSubject,
  { executionArn, handOnRegional = true }: { executionArn?: string; handOnRegional?: boolean } = {},
): Promise<void> {
  if (!deps.slots) return;
  const slots = deps.slots.slotsOf(copy);
  const { freed, unavailableAt } = await deps.slots.release(copy, executionArn);
  const queues = new Set(freed.map((key) => (key === slots.overflow?.key ? slots.regional.key : key)));
  // StartCopyJob answers ServiceUnavailable in this Region: a copy woken now would hear the same. The Region's
  // probe keeps trying, and hands on every free slot once AWS starts it.
  if (!handOnRegional || isRegionUnavailable(unavailableAt, Date.now())) queues.delete(slots.regional.key);
  for (const queue of queues) await grantWaiting(deps, queue, 1);
}

/**
 * How many of the longest-waiting copies a granter reads at once, and picks among: more than the 105 copies of one
 * Region that can end at once, so that their granters rarely pick the same one (at 50, a copy cost 3.7 failed takes
 * in a 1,000 × 2 burst; at 150, 0.8). Each place read is about 150 bytes.
 */
const GRANT_CANDIDATES = 150;

/** The items in random order (Fisher-Yates). */
function shuffled<T>(items: readonly T[]): T[] {
  const order = [...items];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j] as T, order[i] as T];
  }
  return order;
}

/**
 * Hands free slots to the copies waiting longest for slot `slotKey`, up to `grants` of them (one slot freed
 * grants one copy: no probe of the next, which would only find the slot full). Every copy that ends hands its slot
 * on, so in a burst a hundred granters run at once: each tries the first GRANT_CANDIDATES copies in its own random
 * order, so that they do not all contend for the same one (first come, first served within that window).
 */
export async function grantWaiting(
  deps: SlotDependencies,
  slotKey: string,
  grants = Number.POSITIVE_INFINITY,
): Promise<void> {
  if (!deps.slots) return;
  let granted = 0;
  while (granted < grants) {
    const candidates = await deps.ledger.waiting(slotKey, GRANT_CANDIDATES);
    if (candidates.length === 0) return;
    for (const candidate of shuffled(candidates)) {
      if (granted >= grants) return;
      const outcome = await grantTo(deps, candidate);
      if (outcome === 'full') return;
      if (outcome === 'granted') granted++;
    }
  }
}

/**
 * Takes a queued copy out of its queue, then every slot it needs, and wakes its WaitForCopySlot tasks. A copy
 * whose regional slot is full goes back in its place ('full'); one that needs a slot that is busy (its resource
 * is being copied elsewhere) moves to that slot's queue, keeping its place in time ('moved'); one that another
 * granter took first is left to it ('taken'); one whose tasks are all gone (timed out, execution stopped) gives
 * its slots back at once.
 */
async function grantTo(
  deps: SlotDependencies,
  place: QueuePlace,
): Promise<'granted' | 'full' | 'moved' | 'taken'> {
  const { slots, ledger, sfn } = deps;
  if (!slots) return 'taken';
  const queued = await ledger.takeWaiting(place);
  if (queued === undefined) return 'taken';
  const taskTokens = [...(queued.waitingTokens ?? [])];
  const acquired = await slots.acquire(queued, queued.executionArn, asProbe(queued));
  if (!acquired.granted) {
    await ledger.putBack(queued, taskTokens, acquired.waitOn);
    if (acquired.gaveBack) await grantWaiting(deps, acquired.gaveBack, 1);
    // Out of a queue for a moment, the copy was invisible to a granter whose slot was freed meanwhile.
    await takeFreeSlot(deps, { ...queued, slotQueue: acquired.waitOn, queuedAt: place.queuedAt });
    return acquired.waitOn === place.slotQueue ? 'full' : 'moved';
  }
  let closed: string[];
  try {
    closed = await completeTasks(sfn, taskTokens, { output: SLOT_GRANTED });
  } catch (error) {
    // Step Functions did not take the wake-up: queue the copy again in its place and give the slots back, so
    // a later granter (or the reconciler) wakes it, not its timeout.
    logger.warn('could not wake a copy granted a slot; queued it again', { slotKey: place.slotQueue, error });
    await ledger.putBack(queued, taskTokens, place.slotQueue);
    await slots.release(queued);
    return 'full';
  }
  // No task yet (it has not joined): the slots stay held for the copy, whose WaitForCopySlot task, finding it out
  // of the queue, goes straight back to the copy task.
  if (closed.length === taskTokens.length && taskTokens.length > 0) {
    await freeSlots(deps, queued);
    return 'taken';
  }
  return 'granted';
}

/** "Not now" from AWS: a quota or a throttle, never a reason to fail a copy. */
const isNotNow = (error: unknown) =>
  error instanceof LimitExceededException || error instanceof ThrottlingException;

/**
 * StartCopyJob refused. "Not now" (with copy slots) queues the copy for its regional slot. ServiceUnavailable
 * marks the Region unavailable: one copy per Region (the probe) keeps the attempt PENDING and rethrows, for the
 * Retry and then the WaitBeforeResuming loop, until it has lasted COPY_START_PATIENCE_HOURS; the others queue
 * until AWS starts a copy in that Region again. Anything else means AWS will never start this job: the attempt
 * FAILED. The slots taken go back at once.
 */
async function recordStartFailure(
  deps: CopyDependencies,
  copy: PlannedCopy,
  attempt: number,
  error: unknown,
  run: Run,
): Promise<void> {
  const key = copyKey(copy);
  const lastError = errorSummary(error);
  if (isNotNow(error) || error instanceof ServiceUnavailableException) {
    count(Metric.ThrottledAnswers);
    const queueing = deps.slots && (isNotNow(error) || !(await deps.slots.markUnavailable(copy)));
    // Its resource slot is handed on: that resource's other copy (to another Region, or its Region's probe) would
    // otherwise wait for this copy to be granted again, started and ended.
    await freeSlots(deps, copy, { handOnRegional: false });
    if (deps.slots && queueing) {
      const { regional } = deps.slots.slotsOf(copy);
      if (await deps.ledger.markQueued(copy, attempt, regional.key, run.executionArn, lastError)) return;
      throw error;
    }
    const noted = await deps.ledger.noteUnavailable(key, attempt, lastError);
    const since = noted?.unavailableSince ? Date.parse(noted.unavailableSince) : Date.now();
    if (Date.now() - since < deps.config.copyStartPatienceMs) throw error;
    const patience = new CopyStartUnavailableError(
      `StartCopyJob answered ${lastError.name} since ${noted?.unavailableSince} (more than ` +
        `${deps.config.copyStartPatienceMs / 3_600_000} h, COPY_START_PATIENCE_HOURS): ${lastError.message}`,
      { cause: error },
    );
    if (
      await deps.ledger.markFinal(key, attempt, 'FAILED', {
        executionArn: run.executionArn,
        lastError: errorSummary(patience),
      })
    ) {
      count(Metric.CopiesFailed, 1, key.destinationVaultArn);
    }
    // The next copy to try probes in its place, with its own patience.
    await stopProbing(deps, copy);
    throw patience;
  }
  if (await deps.ledger.markFinal(key, attempt, 'FAILED', { executionArn: run.executionArn, lastError })) {
    count(Metric.CopiesFailed);
  }
  await freeSlots(deps, copy);
  throw error;
}

/**
 * The Region's probe stops probing (out of patience, waiting for a busy slot, its execution ended): its mark
 * lapses, and one copy waiting is woken to try. If AWS refuses it, it probes; if AWS starts it, it clears the mark
 * and hands on every free slot of the Region. Without this, a mark nobody refreshes lapses with nobody to notice.
 */
async function stopProbing(deps: SlotDependencies, copy: SlotSubject): Promise<void> {
  if (deps.slots && (await deps.slots.lapseUnavailable(copy)))
    await grantWaiting(deps, deps.slots.slotsOf(copy).regional.key, 1);
}

/** Long enough for a copy task to go from taking its slots to recording its job, or for a woken copy to start. */
export const SLOT_HOLD_GRACE_MS = 15 * 60_000;

/**
 * The reconciler's backstop for every other release path: gives back the slots of copies that are not RUNNING
 * and took them more than SLOT_HOLD_GRACE_MS ago (their Lambda or execution died unseen), then hands out every
 * free slot. Returns how many holds it gave back.
 */
export async function reclaimCopySlots(deps: SlotDependencies, now: Date): Promise<number> {
  if (!deps.slots) return 0;
  let released = 0;
  const slotItems = await deps.slots.all();
  for (const slot of slotItems) {
    for (const holder of Object.values(slot.holders)) {
      if (now.getTime() - Date.parse(holder.since) < SLOT_HOLD_GRACE_MS) continue;
      if ((await deps.ledger.get(holder))?.status === 'RUNNING') continue;
      if (await deps.slots.give(slot.key, holder)) released++;
    }
  }
  let waiting = 0;
  let oldestQueuedAt: string | undefined;
  for (const slot of slotItems) {
    // Left to the copies retrying StartCopyJob there (see freeSlots).
    if (!isRegionUnavailable(slot.unavailableAt, now.getTime())) await grantWaiting(deps, slot.key);
    const queue = await deps.ledger.queueDepth(slot.key);
    waiting += queue.waiting;
    if (queue.oldestQueuedAt && (!oldestQueuedAt || queue.oldestQueuedAt < oldestQueuedAt))
      oldestQueuedAt = queue.oldestQueuedAt;
  }
  // What is left waiting once every free slot is handed out: the dashboard's "copies waiting for a slot".
  count(Metric.CopiesWaitingForSlot, waiting);
  metrics.addMetric(
    Metric.OldestSlotWaitMinutes,
    MetricUnit.NoUnit,
    oldestQueuedAt ? Math.max(0, (now.getTime() - Date.parse(oldestQueuedAt)) / 60_000) : 0,
  );
  return released;
}

/**
 * Target of the "Step Functions Execution Status Change" rule for executions that FAILED, TIMED_OUT or were
 * ABORTED: gives back the slots that execution took for copies of its recovery point whose job is not running
 * (a running job keeps its slot until it ends) and hands them on, and stops counting it as an execution that is
 * going to try a failed copy.
 */
export async function releaseExecutionSlots(
  deps: SlotDependencies,
  executionArn: string,
  input: unknown,
): Promise<{ recoveryPointArn?: string; copies: number }> {
  const recoveryPointArn = findRecoveryPointArn(input);
  if (!recoveryPointArn) return { copies: 0 };
  const copies = await deps.ledger.copiesOf(recoveryPointArn);
  for (const item of copies) {
    if (item.status !== 'RUNNING') await freeSlots(deps, item, { executionArn });
    if (item.unavailableSince && item.executionArn === executionArn) await stopProbing(deps, item);
    // Tasks following a FAILED copy wait for this execution's next attempt, which will not come: wake them.
    const forgotten = await deps.ledger.forgetExecution(item, executionArn);
    if (forgotten?.status === 'FAILED') {
      await completeTasks(deps.sfn, forgotten.waiters ?? [], { output: ATTEMPT_FAILED });
    }
  }
  return { recoveryPointArn, copies: copies.length };
}

/**
 * Records a copy job's end and completes every task waiting on it. Returns the ledger record, or undefined
 * when the job is not one of ours (copies made by backup plans raise the same events).
 */
export async function settleCopy(
  deps: SlotDependencies,
  key: CopyKey,
  outcome: JobOutcome,
): Promise<LedgerRecord | undefined> {
  const ended = outcomeOf(outcome.state);
  const status = ended === 'succeeded' ? 'COMPLETED' : ended === 'failed' ? 'FAILED' : undefined;
  const lastError =
    status === 'FAILED'
      ? errorSummary(
          new CopyJobFailedError(
            `copy job ${outcome.copyJobId} ended ${outcome.state}${outcome.statusMessage ? `: ${outcome.statusMessage}` : ''}`,
          ),
        )
      : undefined;
  // The common case: the end of the job the item is running, in one write.
  const running = status && (await deps.ledger.markJobEnded(key, outcome.copyJobId, status, lastError));
  if (running) return handOn(deps, key, running, running);
  let record = await deps.ledger.get(key);
  // While PENDING, a copyJobId on the item is an earlier attempt's: this event may be the new attempt's job.
  if (record?.status === 'PENDING') {
    // The event beat the copy task's markRunning: leave the outcome for it, unless it got there meanwhile.
    if (await deps.ledger.noteJobOutcome(key, outcome)) return record;
    record = await deps.ledger.get(key);
  }
  if (!record || record.copyJobId !== outcome.copyJobId) return undefined;
  if (!status) return record;
  const settled = await deps.ledger.markFinal(key, record.attempt, status, {
    executionArn: record.executionArn,
    ...(lastError ? { lastError } : {}),
  });
  const final = settled ?? (await deps.ledger.get(key));
  return final ? handOn(deps, key, final, settled) : record;
}

/** After a job's end is written (`settled`; undefined when another writer had): frees its slots, wakes its tasks. */
async function handOn(
  deps: SlotDependencies,
  key: CopyKey,
  final: LedgerRecord,
  settled: LedgerRecord | undefined,
): Promise<LedgerRecord> {
  if (settled?.status === 'COMPLETED') {
    count(Metric.CopiesCompleted, 1, key.destinationVaultArn);
    if (settled.startedAt) seconds(Metric.CopyDuration, (Date.now() - Date.parse(settled.startedAt)) / 1000);
  } else if (settled) count(Metric.CopiesFailed, 1, key.destinationVaultArn);
  await freeSlots(deps, final);
  const waiters = [...(final.waiters ?? [])];
  // A failed attempt fails no task directly: each decides again (decideCopy), so a duplicate execution follows
  // the attempt another one starts instead of failing for a copy that will exist.
  if (final.status === 'COMPLETED') await completeTasks(deps.sfn, waiters, { output: resultOf(final) });
  else if (final.status === 'FAILED') await completeTasks(deps.sfn, waiters, { output: ATTEMPT_FAILED });
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
  const job = await describeCopyJob(deps.backup, record.copyJobId);
  const settled = await settleCopy(deps, key, {
    copyJobId: record.copyJobId,
    state: job.State ?? 'UNKNOWN',
    ...(job.StatusMessage ? { statusMessage: job.StatusMessage } : {}),
  });
  return { status: settled?.status ?? record.status, copyJobId: record.copyJobId };
}
