import {
  type BackupClient,
  type CopyJob,
  DescribeCopyJobCommand,
  DescribeRecoveryPointCommand,
  type DescribeRecoveryPointOutput,
  type RecoveryPointByBackupVault,
  ResourceNotFoundException,
  StartCopyJobCommand,
} from '@aws-sdk/client-backup';
import { describedLifecycle, type Lifecycle } from '../domain/lifecycle.js';
import type { RecoveryPoint } from '../domain/recovery-point.js';
import { RecoveryPointNotCopyableError } from '../errors.js';

// Retryable answers reach here already raised as lib/errors.ts classes: the client classifies them
// (lib/aws/aws-errors.ts). Retrying StartCopyJob is safe because it carries the same idempotency token.

export async function describeRecoveryPoint(
  client: BackupClient,
  sourceBackupVaultName: string,
  recoveryPointArn: string,
): Promise<RecoveryPoint> {
  const out = await client
    .send(
      new DescribeRecoveryPointCommand({
        BackupVaultName: sourceBackupVaultName,
        RecoveryPointArn: recoveryPointArn,
      }),
    )
    .catch((error: unknown) => {
      // A recovery point that is not there (deleted, expired, or a typo in manual input) will never be copied.
      if (!(error instanceof ResourceNotFoundException)) throw error;
      throw new RecoveryPointNotCopyableError(
        [
          {
            field: 'recoveryPointArn',
            value: recoveryPointArn,
            rule: `is not in vault ${sourceBackupVaultName}`,
          },
        ],
        'recovery point not found',
        { cause: error },
      );
    });
  return toRecoveryPoint(
    { ...out, RecoveryPointArn: out.RecoveryPointArn ?? recoveryPointArn },
    sourceBackupVaultName,
  );
}

/** DescribeRecoveryPoint's answer or a ListRecoveryPointsByBackupVault item, as the domain's RecoveryPoint. */
export function toRecoveryPoint(
  out: DescribeRecoveryPointOutput | RecoveryPointByBackupVault,
  vaultName: string,
): RecoveryPoint {
  const lifecycle = out.Lifecycle ? describedLifecycle(out.Lifecycle) : undefined;
  return {
    recoveryPointArn: out.RecoveryPointArn ?? '',
    sourceVaultName: out.BackupVaultName ?? vaultName,
    sourceVaultArn: out.BackupVaultArn ?? '',
    resourceType: out.ResourceType ?? 'unknown',
    status: out.Status ?? 'unknown',
    isParent: out.IsParent ?? false,
    ...(out.ResourceArn ? { resourceArn: out.ResourceArn } : {}),
    ...('StorageClass' in out && out.StorageClass ? { storageClass: out.StorageClass } : {}),
    ...(lifecycle && Object.keys(lifecycle).length > 0 ? { lifecycle } : {}),
    ...(out.ParentRecoveryPointArn ? { parentRecoveryPointArn: out.ParentRecoveryPointArn } : {}),
    ...(out.CompletionDate ? { completionDate: out.CompletionDate.toISOString() } : {}),
  };
}

export interface StartCopyJobRequest {
  recoveryPointArn: string;
  sourceBackupVaultName: string;
  destinationVaultArn: string;
  iamRoleArn: string;
  idempotencyToken: string;
  /** Input members only (lib/domain/lifecycle.ts). */
  lifecycle?: Lifecycle;
}

export async function startCopyJob(
  client: BackupClient,
  request: StartCopyJobRequest,
): Promise<{ copyJobId: string; isParent: boolean }> {
  const out = await client.send(
    new StartCopyJobCommand({
      RecoveryPointArn: request.recoveryPointArn,
      SourceBackupVaultName: request.sourceBackupVaultName,
      DestinationBackupVaultArn: request.destinationVaultArn,
      IamRoleArn: request.iamRoleArn,
      IdempotencyToken: request.idempotencyToken,
      Lifecycle: request.lifecycle,
    }),
  );
  if (!out.CopyJobId) throw new Error('StartCopyJob answered without a CopyJobId');
  return { copyJobId: out.CopyJobId, isParent: out.IsParent ?? false };
}

export async function describeCopyJob(client: BackupClient, copyJobId: string): Promise<CopyJob> {
  const out = await client.send(new DescribeCopyJobCommand({ CopyJobId: copyJobId }));
  if (!out.CopyJob) throw new Error(`DescribeCopyJob ${copyJobId} answered without a CopyJob`);
  return out.CopyJob;
}
