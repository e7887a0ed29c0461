import type { BackupClient } from '@aws-sdk/client-backup';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import * as z from 'zod';
import type { CopySlots } from './aws/copy-slots.js';
import { isUnsuccessful, resumeExecution } from './aws/executions.js';
import type { CopyLedger } from './aws/ledger.js';
import { listRecoveryPoints } from './aws/recovery-points.js';
import { parseEnvironment } from './config.js';
import { reclaimCopySlots } from './copy.js';
import { emitCoverageMetrics } from './coverage.js';
import { reconcileExecutionName } from './domain/keys.js';
import { awaitsItsExecution, type LedgerRecord, PLAN_KEY } from './domain/ledger-record.js';
import { type CopyPolicy, ruleMatches } from './domain/policy.js';
import { checkCopyable, type RecoveryPoint } from './domain/recovery-point.js';
import { RecoveryPointNotCopyableError } from './errors.js';
import { logger } from './logger.js';
import { count, Metric } from './metrics.js';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

const SettingsSchema = z
  .object({
    STATE_MACHINE_ARN: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[0-9A-Za-z_-]{1,80}$/,
        'must be the copy state machine ARN',
      ),
    RECONCILE_LOOKBACK_HOURS: z.coerce.number().int().positive().default(24),
    RECONCILE_GRACE_MINUTES: z.coerce.number().int().nonnegative().default(15),
  })
  .refine((env) => env.RECONCILE_GRACE_MINUTES < env.RECONCILE_LOOKBACK_HOURS * 60, {
    path: ['RECONCILE_GRACE_MINUTES'],
    message: 'must be shorter than RECONCILE_LOOKBACK_HOURS, or no recovery point is ever due',
  });

export interface ReconcileOptions {
  /** Recovery points created this many hours back or less are looked at. */
  lookbackHours: number;
  /**
   * Recovery points completed, and executions ended, less than this many minutes ago are left to their own
   * event (Backup's, or the Execution Status Change that gives an ended execution's copy slots back).
   */
  graceMinutes: number;
  /** ListRecoveryPointsByBackupVault page size; AWS's default when absent. */
  pageSize?: number;
  /** Also measure coverage and emit ResourcesOutsideRpo and OldestCopyAgeHours (the hourly run does). */
  measureCoverage?: boolean;
}

export interface ReconcileSettings extends ReconcileOptions {
  stateMachineArn: string;
}

/** Reads the reconciler's environment (beyond lib/config.ts); a bad value fails naming its variable. */
export function loadReconcileSettings(env: NodeJS.ProcessEnv = process.env): ReconcileSettings {
  const settings = parseEnvironment(SettingsSchema, env);
  return {
    stateMachineArn: settings.STATE_MACHINE_ARN,
    lookbackHours: settings.RECONCILE_LOOKBACK_HOURS,
    graceMinutes: settings.RECONCILE_GRACE_MINUTES,
  };
}

let current: ReconcileSettings | undefined;

/** The container's settings from its environment, validated on first use. */
export function reconcileSettings(): ReconcileSettings {
  current ??= loadReconcileSettings();
  return current;
}

export interface ReconcileDependencies {
  backup: BackupClient;
  ledger: CopyLedger;
  sfn: SFNClient;
  slots?: CopySlots;
  policy: CopyPolicy;
  stateMachineArn: string;
  /** The instant the window is measured from. */
  now: Date;
}

/**
 * Invariants: scanned = matched + skipped; matched = alreadyRecorded + started.length + alreadyStarted; resumed
 * counts copies of alreadyRecorded recovery points.
 */
export interface ReconcileResult {
  /** Recovery points listed in the source vaults' window. */
  scanned: number;
  /** Listed, due (finished before the grace period, copyable) and matched by a policy rule. */
  matched: number;
  /** Matched, and an execution has recorded its plan (or rejection). */
  alreadyRecorded: number;
  /**
   * Matched, unrecorded, and started now: the ones whose event was lost. A concurrent run asking while that
   * execution still runs is answered with it (same name and input) and lists it too; there is still one.
   */
  started: { recoveryPointArn: string; executionArn: string }[];
  /** Matched, unrecorded, but an execution of that name has already ended: one a run before this started. */
  alreadyStarted: number;
  /** Listed but not matched: unfinished, inside the grace period, not copyable, or no rule wants it. */
  skipped: number;
  /** Copy slots held by copies neither starting nor running, given back. */
  slotsReclaimed: number;
  /** Copies left PLANNED, QUEUED or PENDING by an execution that ended unsuccessfully, resumed now. */
  resumed: number;
}

/**
 * How many re-drives of one execution the reconciler makes: one, so a run that keeps failing (a copy that keeps
 * failing cancels its siblings each time) is left to the alarm and `npm run redrive`, not re-driven hourly.
 */
const RESUMES_PER_EXECUTION = 1;

/** Source vaults named by any rule, once each. */
const sourceVaults = (policy: CopyPolicy) => [...new Set(policy.rules.flatMap((r) => r.match.sourceVaults))];

/**
 * Due for a copy: finished before `completedBefore`, copyable (an execution would only record a rejection
 * for a member of a composite or a continuous backup), and matched by some rule.
 */
function isDue(recoveryPoint: RecoveryPoint, policy: CopyPolicy, completedBefore: Date): boolean {
  const { completionDate } = recoveryPoint;
  if (completionDate === undefined || Date.parse(completionDate) > completedBefore.getTime()) return false;
  try {
    checkCopyable(recoveryPoint);
  } catch (error) {
    if (error instanceof RecoveryPointNotCopyableError) return false;
    throw error;
  }
  return policy.rules.some((rule) => ruleMatches(rule, recoveryPoint));
}

/** The ARN Step Functions gives an execution of `stateMachineArn` named `name`. */
const executionArnOf = (stateMachineArn: string, name: string) =>
  `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;

/**
 * Starts the execution for a recovery point under its deterministic name, with the manual input shape.
 * `started` is false when an execution of that name exists: Step Functions refuses a second for 90 days.
 */
async function startExecution(
  deps: ReconcileDependencies,
  recoveryPoint: RecoveryPoint,
): Promise<{ executionArn: string; started: boolean }> {
  const name = reconcileExecutionName(recoveryPoint.recoveryPointArn);
  const named = executionArnOf(deps.stateMachineArn, name);
  try {
    const { executionArn } = await deps.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: deps.stateMachineArn,
        name,
        input: JSON.stringify({
          recoveryPointArn: recoveryPoint.recoveryPointArn,
          sourceBackupVaultName: recoveryPoint.sourceVaultName,
        }),
      }),
    );
    return { executionArn: executionArn ?? named, started: true };
  } catch (error) {
    if (error instanceof ExecutionAlreadyExists) return { executionArn: named, started: false };
    throw error;
  }
}

/**
 * Resumes, once, the copies an execution left PLANNED, QUEUED or PENDING when it ended unsuccessfully (failed,
 * timed out or stopped) before `endedBefore`; returns how many. A running execution is still on them. A re-drive
 * re-runs every unsuccessful Map iteration, so a FAILED sibling of theirs gets one more attempt.
 */
async function resumeLeftBehind(
  deps: ReconcileDependencies,
  executionArn: string,
  copies: readonly LedgerRecord[],
  endedBefore: Date,
): Promise<number> {
  let execution: DescribeExecutionCommandOutput;
  try {
    execution = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (error) {
    // Not one Step Functions knows (a copy task invoked by hand, or history past its 90-day retention): there is
    // nothing to re-drive, and it must not fail the resumes of the others.
    if (!(error instanceof ExecutionDoesNotExist)) throw error;
    logger.warn('copies left behind by an execution Step Functions does not know; left alone', {
      recoveryPointArn: copies[0]?.recoveryPointArn,
      executionArn,
    });
    return 0;
  }
  if (!isUnsuccessful(execution.status)) return 0;
  if (execution.stopDate && execution.stopDate > endedBefore) return 0;
  const keys = {
    recoveryPointArn: copies[0]?.recoveryPointArn,
    executionArn,
    status: execution.status,
    destinations: copies.map((copy) => `${copy.destinationVaultArn} ${copy.status}`),
  };
  const redriveCount = execution.redriveCount ?? 0;
  if (redriveCount >= RESUMES_PER_EXECUTION) {
    logger.warn('copies left behind by an execution already re-driven; left to `npm run redrive`', keys);
    return 0;
  }
  const outcome = await resumeExecution(deps.sfn, deps.stateMachineArn, {
    executionArn,
    // An execution ARN ends with its name.
    name: execution.name ?? executionArn.slice(executionArn.lastIndexOf(':') + 1),
    input: execution.input,
    redriveCount,
    redriveStatus: execution.redriveStatus,
    redriveStatusReason: execution.redriveStatusReason,
  });
  if (outcome.action === 'skipped') {
    logger.info('copies left behind are being resumed already', { ...keys, detail: outcome.detail });
    return 0;
  }
  count(Metric.CopiesResumed, copies.length);
  logger.warn('reconciler resumed copies an ended execution left behind', {
    ...keys,
    detail: outcome.detail,
  });
  return copies.length;
}

/**
 * Finds recovery points of the policy's source vaults, created inside the lookback window and finished before
 * the grace period, that no execution has recorded (no plan item), and starts one execution for each; resumes
 * the copies of recorded ones that an ended execution left behind (resumeLeftBehind).
 * A vault that cannot be listed (or whose starts fail) does not stop the others; the run then fails at the end.
 */
export async function reconcile(
  deps: ReconcileDependencies,
  options: ReconcileOptions,
): Promise<ReconcileResult> {
  // A copy that ends hands its slots on, and so does the end of an execution; a Lambda or an execution that died
  // unseen has nobody to do that, and the copies waiting for a slot would sleep until their timeout.
  const slotsReclaimed = await reclaimCopySlots(deps, deps.now);
  const createdAfter = new Date(deps.now.getTime() - options.lookbackHours * HOUR_MS);
  // Completion follows creation, so anything created after the grace cutoff cannot have finished before it.
  const completedBefore = new Date(deps.now.getTime() - options.graceMinutes * MINUTE_MS);
  const result: ReconcileResult = {
    scanned: 0,
    matched: 0,
    alreadyRecorded: 0,
    started: [],
    alreadyStarted: 0,
    skipped: 0,
    slotsReclaimed,
    resumed: 0,
  };
  // Copies nothing will move on unless their execution runs, by that execution: each is described once.
  const awaiting = new Map<string, LedgerRecord[]>();
  const failures: { vault: string; error: unknown }[] = [];

  const window = { createdAfter, createdBefore: completedBefore, pageSize: options.pageSize };

  for (const vault of sourceVaults(deps.policy)) {
    try {
      for await (const recoveryPoint of listRecoveryPoints(deps.backup, vault, window)) {
        result.scanned++;
        if (!isDue(recoveryPoint, deps.policy, completedBefore)) {
          result.skipped++;
          continue;
        }
        result.matched++;
        const { recoveryPointArn } = recoveryPoint;
        const plan = await deps.ledger.get({ recoveryPointArn, destinationVaultArn: PLAN_KEY });
        if (plan) {
          result.alreadyRecorded++;
          if (plan.status === 'PLANNED') {
            for (const copy of (await deps.ledger.copiesOf(recoveryPointArn)).filter(awaitsItsExecution)) {
              awaiting.set(copy.executionArn, [...(awaiting.get(copy.executionArn) ?? []), copy]);
            }
          }
          continue;
        }
        const { executionArn, started } = await startExecution(deps, recoveryPoint);
        const keys = {
          recoveryPointArn,
          executionArn,
          sourceBackupVaultName: recoveryPoint.sourceVaultName,
          completionDate: recoveryPoint.completionDate,
        };
        if (started) {
          result.started.push({ recoveryPointArn, executionArn });
          count(Metric.RecoveryPointsReconciled);
          logger.warn('reconciler found a recovery point no execution recorded; started one', keys);
        } else {
          result.alreadyStarted++;
          // Ended without a plan item: it failed before planning (re-drive it), or finished while we looked.
          logger.warn('recovery point still unrecorded; its reconciler execution already exists', keys);
        }
      }
    } catch (error) {
      logger.error('reconciler could not finish a source vault', { sourceBackupVaultName: vault, error });
      failures.push({ vault, error });
    }
  }

  for (const [executionArn, copies] of awaiting) {
    try {
      result.resumed += await resumeLeftBehind(deps, executionArn, copies, completedBefore);
    } catch (error) {
      logger.error('reconciler could not resume an execution', { executionArn, error });
      failures.push({ vault: `(resume ${executionArn})`, error });
    }
  }

  // Coverage is measured after the starts above, and does not stop them; its failure fails the run at the end.
  if (options.measureCoverage) {
    try {
      const { summary } = await emitCoverageMetrics({
        backup: deps.backup,
        ledger: deps.ledger,
        policy: deps.policy,
        now: deps.now,
      });
      logger.info('coverage measured', {
        outsideRpo: summary.outsideRpo,
        oldestCopyAgeHours: summary.oldestCopyAgeHours,
        byStatus: summary.byStatus,
      });
    } catch (error) {
      logger.error('reconciler could not measure coverage', { error });
      failures.push({ vault: '(coverage)', error });
    }
  }

  logger.info('reconcile finished', { ...result, started: result.started.length });
  if (failures.length > 0) {
    throw new AggregateError(
      failures.map((failure) => failure.error),
      `reconcile incomplete: vault(s) ${failures.map((failure) => failure.vault).join(', ')} failed`,
    );
  }
  return result;
}
