import { createHash } from 'node:crypto';

/** Prefix that tells, in the console and in the ledger's executionArn, that the reconciler started a run. */
export const RECONCILE_EXECUTION_PREFIX = 'reconcile-';

/**
 * The name of the execution the reconciler starts for a recovery point. Deterministic, so two reconciler runs
 * asking for the same recovery point ask for the same name, and Step Functions (names are unique per state
 * machine for 90 days) starts only one. 74 characters of [0-9a-z-], within StartExecution's 1-80 of
 * [0-9A-Za-z_-].
 */
export function reconcileExecutionName(recoveryPointArn: string): string {
  return `${RECONCILE_EXECUTION_PREFIX}${createHash('sha256').update(recoveryPointArn).digest('hex')}`;
}
