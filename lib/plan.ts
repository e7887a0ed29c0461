import type { BackupClient } from '@aws-sdk/client-backup';
import { describeRecoveryPoint } from './aws/backup.js';
import type { CopyLedger } from './aws/ledger.js';
import type { PlanCopiesOutput } from './contracts.js';
import { type CopyRequest, findRecoveryPointArn } from './domain/event.js';
import { rejectedInputKey } from './domain/keys.js';
import type { LedgerError } from './domain/ledger-record.js';
import { type CopyPolicy, planCopies } from './domain/policy.js';
import { checkCopyable } from './domain/recovery-point.js';
import { errorSummary, RejectionError } from './errors.js';
import { count, Metric } from './metrics.js';

export interface PlanDependencies {
  ledger: CopyLedger;
  backup: BackupClient;
  policy: CopyPolicy;
}

/** Looks the recovery point up, checks it can be copied, resolves its copies and records the plan. */
export async function planRecoveryPoint(
  deps: PlanDependencies,
  request: CopyRequest,
  executionArn: string,
): Promise<PlanCopiesOutput> {
  const recoveryPoint = await describeRecoveryPoint(
    deps.backup,
    request.sourceBackupVaultName,
    request.recoveryPointArn,
  ).catch(async (error: unknown) => {
    // Retryable or not, the plan item says why this execution is stuck (a re-drive retries the plan).
    if (!(error instanceof RejectionError)) {
      await deps.ledger.recordPlan(request.recoveryPointArn, 'FAILED', {
        executionArn,
        lastError: errorSummary(error),
      });
    }
    throw error;
  });
  checkCopyable(recoveryPoint);
  const plan = planCopies(deps.policy, recoveryPoint, request.destinations);
  // Copy items first: once the plan item exists, every destination it names has one (PLANNED or later), so an
  // execution that fails or is cancelled before a copy starts still leaves it for report and re-drive to see.
  await deps.ledger.planCopies(plan.copies, executionArn);
  await deps.ledger.recordPlan(recoveryPoint.recoveryPointArn, 'PLANNED', {
    executionArn,
    sourceBackupVaultName: recoveryPoint.sourceVaultName,
    resourceType: recoveryPoint.resourceType,
    destinations: plan.copies.map((copy) => copy.destinationVaultArn),
    warnings: plan.warnings,
  });
  return { recoveryPoint, ...plan };
}

/** Records a refused recovery point (or refused input) on its plan item. */
export async function recordRejection(
  ledger: CopyLedger,
  input: unknown,
  error: LedgerError,
  executionArn: string,
): Promise<string> {
  const key = findRecoveryPointArn(input) ?? rejectedInputKey(input);
  await ledger.recordPlan(key, 'REJECTED', { executionArn, lastError: error });
  count(Metric.InputsRejected);
  return key;
}
