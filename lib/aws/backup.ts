import {
  type BackupClient,
  type CopyJob,
  DescribeCopyJobCommand,
  DescribeRecoveryPointCommand,
  type DescribeRecoveryPointOutput,
  type RecoveryPointByBackupVault,
  ResourceNotFoundException,
  LimitExceededException as SdkLimitExceededException,
  ServiceUnavailableException as SdkServiceUnavailableException,
  StartCopyJobCommand,
} from '@aws-sdk/client-backup';
import { describedLifecycle, type Lifecycle } from '../domain/lifecycle.js';
import type { RecoveryPoint } from '../domain/recovery-point.js';
import {
  LimitExceededException,
  RecoveryPointNotCopyableError,
  ServiceUnavailableException,
} from '../errors.js';

/**
 * Re-raises the retryable AWS Backup answers as our classes, whose names the state machine retries on. No
 * answer at all (connection reset, socket timeout: the SDK's TimeoutError) or an unmodelled 5xx counts as
 * unavailable; retrying StartCopyJob is safe because it carries the same idempotency token.
 */
async function call<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    if (error instanceof SdkLimitExceededException) {
      throw new LimitExceededException(error.message, { cause: error });
    }
    if (error instanceof SdkServiceUnavailableException || isTransient(error)) {
      throw new ServiceUnavailableException((error as Error).message, { cause: error });
    }
    throw error;
  }
}

function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return error.name === 'TimeoutError' || (status !== undefined && status >= 500);
}

export async function describeRecoveryPoint(
  client: BackupClient,
  sourceBackupVaultName: string,
  recoveryPointArn: string,
): Promise<RecoveryPoint> {
  const out = await call(() =>
    client.send(
      new DescribeRecoveryPointCommand({
        BackupVaultName: sourceBackupVaultName,
        RecoveryPointArn: recoveryPointArn,
      }),
    ),
  ).catch((error: unknown) => {
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
  const out = await call(() =>
    client.send(
      new StartCopyJobCommand({
        RecoveryPointArn: request.recoveryPointArn,
        SourceBackupVaultName: request.sourceBackupVaultName,
        DestinationBackupVaultArn: request.destinationVaultArn,
        IamRoleArn: request.iamRoleArn,
        IdempotencyToken: request.idempotencyToken,
        Lifecycle: request.lifecycle,
      }),
    ),
  );
  if (!out.CopyJobId) throw new Error('StartCopyJob answered without a CopyJobId');
  return { copyJobId: out.CopyJobId, isParent: out.IsParent ?? false };
}

export async function describeCopyJob(client: BackupClient, copyJobId: string): Promise<CopyJob> {
  const out = await call(() => client.send(new DescribeCopyJobCommand({ CopyJobId: copyJobId })));
  if (!out.CopyJob) throw new Error(`DescribeCopyJob ${copyJobId} answered without a CopyJob`);
  return out.CopyJob;
}
