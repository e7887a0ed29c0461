import { createHash } from 'node:crypto';

/*
 * Every key, token and name this service derives, in one place. Each is deterministic: the same facts give the
 * same value in any process, at any time, in any release — which is what makes retries, duplicate events and
 * re-drives find the work already done. Changing a derivation is changing the identity of work in flight;
 * test/unit/keys.test.ts pins each one to values computed outside this code base.
 */

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * StartCopyJob's `IdempotencyToken` for one attempt at one copy, so a retry, a duplicate event or a re-drive of
 * the same attempt presents the same token and AWS Backup returns the same job; a new attempt (after a FAILED
 * copy) gets a new token, so AWS starts a new job. AWS documents the token only as a "customer-chosen string";
 * a UUID's layout (36 characters of [0-9a-f-], version nibble 5) is the shape the console and the SDKs use.
 */
export function copyIdempotencyToken(
  recoveryPointArn: string,
  destinationVaultArn: string,
  attempt: number,
): string {
  const hex = sha256Hex(`${recoveryPointArn}\n${destinationVaultArn}\n${attempt}`);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The holder of a copy slot: one per copy, so acquiring twice for the same copy holds one slot. 32 characters of
 * [0-9a-f], short and fixed because every holder is a key of its slot item's map (DynamoDB: 400 KB an item).
 */
export function copySlotHolder(copy: { recoveryPointArn: string; destinationVaultArn: string }): string {
  return sha256Hex(`${copy.recoveryPointArn}\n${copy.destinationVaultArn}`).slice(0, 32);
}

/**
 * One run of an execution, `<executionArn>#<redriveCount>`: a re-drive is a new run of the same execution
 * (`$$.Execution.RedriveCount` counts them). The ledger stores the run that claimed a copy to tell its own
 * earlier claim from another execution's.
 */
export function runId(run: { executionArn: string; redriveCount: number }): string {
  return `${run.executionArn}#${run.redriveCount}`;
}

/** Tells, in the console and in the ledger's executionArn, that the reconciler started a run. */
export const RECONCILE_EXECUTION_PREFIX = 'reconcile-';

/** StartExecution's `name` is 1-80 characters (and unique per state machine for 90 days). */
export const MAX_EXECUTION_NAME_LENGTH = 80;

/**
 * The name of the execution the reconciler starts for a recovery point, so two reconciler runs asking for the
 * same recovery point ask for the same name and Step Functions starts only one. 74 characters of [0-9a-z-]:
 * within StartExecution's 1-80 and the [0-9A-Za-z_-] that CloudWatch Logs needs.
 */
export function reconcileExecutionName(recoveryPointArn: string): string {
  return `${RECONCILE_EXECUTION_PREFIX}${sha256Hex(recoveryPointArn)}`;
}

/**
 * The name of an execution started anew in place of `name` (which cannot be re-driven): `<name>-rerun-<n>`,
 * n counting restarts, so restarting `x-rerun-1` gives `x-rerun-2` and a second restart of the same execution
 * finds ExecutionAlreadyExists. A name too long for the suffix within StartExecution's 80 characters is cut
 * and tagged with 8 hex characters of a digest of what was cut, so two long names never share a rerun name.
 * Adds only [0-9a-z-], so the result has no character the original did not.
 */
export function restartExecutionName(name: string): string {
  const match = /^(.*)-rerun-(\d+)$/.exec(name);
  const base = match?.[1] ?? name;
  const suffix = `-rerun-${match ? Number(match[2]) + 1 : 1}`;
  if (base.length + suffix.length <= MAX_EXECUTION_NAME_LENGTH) return `${base}${suffix}`;
  const digest = sha256Hex(base).slice(0, 8);
  return `${base.slice(0, MAX_EXECUTION_NAME_LENGTH - suffix.length - digest.length - 1)}-${digest}${suffix}`;
}

/**
 * RedriveExecution's `clientToken` (1-64 printable ASCII characters): the same for the same re-drive of the same
 * execution, so a second `redrive` run within Step Functions' 15 minutes does not re-drive twice, and another
 * for the next re-drive. 64 characters of [0-9a-f].
 */
export function redriveClientToken(executionArn: string, redriveCount: number): string {
  return sha256Hex(runId({ executionArn, redriveCount }));
}

/**
 * The ledger key (in place of a recovery point ARN) for input that names no usable recovery point, so even
 * garbage leaves a record and `redrive` finds it again from the execution's input. `invalid-input:` and 32 hex
 * characters: no ARN starts so, and it is far below DynamoDB's 2 KB partition key.
 */
export function rejectedInputKey(input: unknown): string {
  return `invalid-input:${sha256Hex(JSON.stringify(input) ?? 'undefined').slice(0, 32)}`;
}

/** Outcomes the ledger's resource index tells apart: a copy exists, or the last attempt ended without one. */
export type ResourceOutcome = 'COMPLETED' | 'FAILED';

/**
 * The sort key of a final copy item in the ledger's resource index (partition: the protected resource's ARN):
 * `<destination vault ARN>#<COMPLETED|FAILED>#<completedAt ISO-8601>`, so the newest COMPLETED copy of a resource
 * in a destination is one Query with begins_with and Limit 1, newest first, however many copies the ledger holds.
 * Every status but COMPLETED (FAILED, REJECTED) files under FAILED: the item's `status` tells them apart.
 */
export function resourceOutcomeKey(destinationVaultArn: string, status: string, completedAt: string): string {
  return `${resourceOutcomePrefix(destinationVaultArn, status === 'COMPLETED' ? 'COMPLETED' : 'FAILED')}${completedAt}`;
}

/** The begins_with prefix of one (destination, outcome) in the resource index. */
export function resourceOutcomePrefix(destinationVaultArn: string, outcome: ResourceOutcome): string {
  return `${destinationVaultArn}#${outcome}#`;
}

/** Tells, in the console and in the ledger's executionArn, that `backfill` started a run. */
export const BACKFILL_EXECUTION_PREFIX = 'backfill-';

/**
 * The name of the execution `backfill` starts for a recovery point lacking a copy in `destinations`, so a second
 * backfill (or one after an interruption) asks for the same name while those copies are missing and Step
 * Functions starts one; once copied, nothing is missing and nothing is asked. 73 characters of [0-9a-z-].
 */
export function backfillExecutionName(recoveryPointArn: string, destinations: readonly string[]): string {
  return `${BACKFILL_EXECUTION_PREFIX}${sha256Hex([recoveryPointArn, ...[...destinations].sort()].join('\n'))}`;
}
