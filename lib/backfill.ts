import type { BackupClient } from '@aws-sdk/client-backup';
import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { CopyLedger } from './aws/ledger.js';
import { listRecoveryPoints } from './aws/recovery-points.js';
import { destinationsOf } from './domain/coverage.js';
import { backfillExecutionName } from './domain/keys.js';
import type { CopyPolicy } from './domain/policy.js';
import { checkCopyable, type RecoveryPoint } from './domain/recovery-point.js';
import { RecoveryPointNotCopyableError } from './errors.js';

export interface BackfillDependencies {
  backup: BackupClient;
  ledger: CopyLedger;
  sfn: SFNClient;
  policy: CopyPolicy;
  stateMachineArn: string;
  now: () => Date;
  /** Waits between starts (the rate bound); a test's virtual clock can stand in. */
  sleep?: (ms: number) => Promise<void>;
}

export interface BackfillOptions {
  vault: string;
  /** Recovery points created after this instant. */
  since: Date;
  /** Executions started per minute at most. */
  perMinute: number;
  /** List what would start, start nothing. */
  dryRun: boolean;
  /** After each recovery point looked at: how many so far, of how many listed. */
  onProgress?: (done: number, total: number) => void;
}

export interface BackfillStart {
  recoveryPointArn: string;
  executionName: string;
  /** The destinations lacking a COMPLETED copy, the execution's `destinations` input. */
  destinations: string[];
  executionArn?: string;
}

/** Invariant: listed = notCopyable + notMatched + complete + inProgress + toStart.length. */
export interface BackfillResult {
  vault: string;
  since: string;
  dryRun: boolean;
  listed: number;
  /** Continuous backups, composite members, unfinished: an execution would only be refused. */
  notCopyable: number;
  /** No rule gives it a destination. */
  notMatched: number;
  /** A COMPLETED copy in every destination already. */
  complete: number;
  /** Lacking a copy only where one is PENDING or RUNNING: under way, nothing to start. */
  inProgress: number;
  /** Lacking a copy somewhere: started now, or (dry run) would be. */
  toStart: BackfillStart[];
  /** Of toStart: its execution has ended already (ExecutionAlreadyExists): an earlier backfill's, say. */
  alreadyStarted: number;
  started: number;
}

const IN_PROGRESS = new Set(['PENDING', 'RUNNING']);

function isCopyable(recoveryPoint: RecoveryPoint): boolean {
  try {
    checkCopyable(recoveryPoint);
    return true;
  } catch (error) {
    if (error instanceof RecoveryPointNotCopyableError) return false;
    throw error;
  }
}

/** Waits so that starts are at least `intervalMs` apart. */
function pacer(intervalMs: number, now: () => Date, sleep: (ms: number) => Promise<void>) {
  let next = 0;
  return async () => {
    const wait = next - now().getTime();
    if (wait > 0) await sleep(wait);
    next = Math.max(now().getTime(), next) + intervalMs;
  };
}

/**
 * Brings existing backups under the service: for every recovery point of `vault` since `since` that the policy
 * gives destinations and that lacks a COMPLETED copy in some of them (none in progress there), starts the
 * workflow with the manual input `{recoveryPointArn, sourceBackupVaultName, destinations}` under a name
 * derived from the recovery point and those destinations (backfillExecutionName), at most `perMinute` a
 * minute. A second run, or one after an interruption, asks for the same names: Step Functions refuses a
 * second execution of a name, and copies already made are not missing any more.
 */
export async function backfill(
  deps: BackfillDependencies,
  options: BackfillOptions,
): Promise<BackfillResult> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const pace = pacer(60_000 / options.perMinute, deps.now, sleep);
  const result: BackfillResult = {
    vault: options.vault,
    since: options.since.toISOString(),
    dryRun: options.dryRun,
    listed: 0,
    notCopyable: 0,
    notMatched: 0,
    complete: 0,
    inProgress: 0,
    toStart: [],
    alreadyStarted: 0,
    started: 0,
  };
  const points: RecoveryPoint[] = [];
  const window = { createdAfter: options.since, createdBefore: deps.now() };
  for await (const point of listRecoveryPoints(deps.backup, options.vault, window)) points.push(point);
  result.listed = points.length;
  // Oldest first: an interrupted run has brought in the oldest backups, the ones nearest their expiry.
  points.sort((a, b) => (a.completionDate ?? '').localeCompare(b.completionDate ?? ''));

  for (const [i, point] of points.entries()) {
    await consider(point);
    options.onProgress?.(i + 1, points.length);
  }
  return result;

  async function consider(point: RecoveryPoint): Promise<void> {
    if (!isCopyable(point)) {
      result.notCopyable++;
      return;
    }
    const destinations = destinationsOf(deps.policy, point).map((d) => d.destinationVaultArn);
    if (destinations.length === 0) {
      result.notMatched++;
      return;
    }
    const statuses = await Promise.all(
      destinations.map(
        async (destinationVaultArn) =>
          (await deps.ledger.get({ recoveryPointArn: point.recoveryPointArn, destinationVaultArn }))?.status,
      ),
    );
    if (statuses.every((status) => status === 'COMPLETED')) {
      result.complete++;
      return;
    }
    const startable = destinations.filter(
      (_, d) => statuses[d] !== 'COMPLETED' && !IN_PROGRESS.has(String(statuses[d])),
    );
    if (startable.length === 0) {
      result.inProgress++;
      return;
    }
    const start: BackfillStart = {
      recoveryPointArn: point.recoveryPointArn,
      executionName: backfillExecutionName(point.recoveryPointArn, startable),
      destinations: startable,
    };
    result.toStart.push(start);
    if (options.dryRun) return;
    await pace();
    try {
      const { executionArn } = await deps.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: deps.stateMachineArn,
          name: start.executionName,
          input: JSON.stringify({
            recoveryPointArn: point.recoveryPointArn,
            sourceBackupVaultName: point.sourceVaultName,
            destinations: startable,
          }),
        }),
      );
      if (executionArn) start.executionArn = executionArn;
      // Asked again before its copies are claimed, Step Functions answers with the running execution (same
      // name and input: StartExecution is idempotent then) rather than start a second: counted here all the same.
      result.started++;
    } catch (error) {
      if (!(error instanceof ExecutionAlreadyExists)) throw error;
      result.alreadyStarted++;
    }
  }
}
