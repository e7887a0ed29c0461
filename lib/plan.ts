import type { BackupClient } from '@aws-sdk/client-backup';
import { describeRecoveryPoint } from './aws/backup.js';
import type { CopyLedger } from './aws/ledger.js';
import type { PlanCopiesOutput } from './contracts.js';
import type { Deployment } from './domain/deployment.js';
import { outsideDeployment } from './domain/deployment.js';
import { type CopyRequest, findRecoveryPointArn } from './domain/event.js';
import { rejectedInputKey } from './domain/keys.js';
import type { LedgerError } from './domain/ledger-record.js';
import { type CopyPolicy, planCopies } from './domain/policy.js';
import { checkCopyable } from './domain/recovery-point.js';
import { errorSummary, InvalidInputError, RejectionError } from './errors.js';
import { count, Metric } from './metrics.js';

export interface PlanDependencies {
  ledger: CopyLedger;
  backup: BackupClient;
  policy: CopyPolicy;
  /** Where this function runs: only recovery points of its own account and Region can be copied. */
  deployment: Deployment;
}

/** Name of the error a refused destination's REJECTED copy item carries. */
export const DESTINATION_REFUSED = 'DestinationRefused';

/**
 * Looks the recovery point up, checks it is this deployment's and can be copied, resolves its copies, and records
 * the plan and each refused destination (REJECTED). The other destinations are still copied.
 */
export async function planRecoveryPoint(
  deps: PlanDependencies,
  request: CopyRequest,
  executionArn: string,
): Promise<PlanCopiesOutput> {
  refuseOutsideDeployment(outsideDeployment('recoveryPointArn', request.recoveryPointArn, deps.deployment));
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
  // The vault's ARN carries the account where the recovery point's own ARN has none (EBS snapshots, AMIs).
  refuseOutsideDeployment(
    outsideDeployment('recoveryPoint.BackupVaultArn', recoveryPoint.sourceVaultArn, deps.deployment),
  );
  checkCopyable(recoveryPoint);
  const plan = planCopies(deps.policy, recoveryPoint, request.destinations);
  for (const refused of plan.refused) {
    const recorded = await deps.ledger.recordRefusal(
      { recoveryPointArn: recoveryPoint.recoveryPointArn, destinationVaultArn: refused.destinationVaultArn },
      {
        executionArn,
        rule: refused.rule,
        sourceBackupVaultName: recoveryPoint.sourceVaultName,
        resourceType: recoveryPoint.resourceType,
        ...(recoveryPoint.resourceArn ? { resourceArn: recoveryPoint.resourceArn } : {}),
        lastError: {
          name: DESTINATION_REFUSED,
          message: `${refused.field} (${refused.destinationVaultArn}) ${refused.reason}`,
        },
      },
    );
    if (recorded) count(Metric.DestinationsRefused);
  }
  // Copy items first: once the plan item exists, every destination it names has one (PLANNED or later), so an
  // execution that fails or is cancelled before a copy starts still leaves it for report and re-drive to see.
  await deps.ledger.planCopies(plan.copies, executionArn);
  await deps.ledger.recordPlan(recoveryPoint.recoveryPointArn, 'PLANNED', {
    executionArn,
    sourceBackupVaultName: recoveryPoint.sourceVaultName,
    resourceType: recoveryPoint.resourceType,
    destinations: plan.copies.map((copy) => copy.destinationVaultArn),
    refused: plan.refused.map((refused) => refused.destinationVaultArn),
    warnings: plan.warnings,
  });
  return { recoveryPoint, ...plan };
}

function refuseOutsideDeployment(violations: ReturnType<typeof outsideDeployment>): void {
  if (violations.length > 0) {
    throw new InvalidInputError(violations, "recovery point outside this deployment's account and Region");
  }
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
