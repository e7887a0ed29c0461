import {
  type BackupClient,
  paginateListRecoveryPointsByBackupVault,
  type RecoveryPointByBackupVault,
} from '@aws-sdk/client-backup';
import type { RecoveryPoint } from '../domain/recovery-point.js';

export interface RecoveryPointWindow {
  /** Only recovery points created after this instant. */
  createdAfter: Date;
  /** Only recovery points created before this instant. */
  createdBefore: Date;
  /** MaxResults per ListRecoveryPointsByBackupVault page; AWS's default when absent. */
  pageSize?: number;
}

/** The list item as the domain's RecoveryPoint; the list shape has no StorageClass or Lifecycle. */
function toRecoveryPoint(item: RecoveryPointByBackupVault, vaultName: string): RecoveryPoint {
  return {
    recoveryPointArn: item.RecoveryPointArn ?? '',
    sourceVaultName: item.BackupVaultName ?? vaultName,
    sourceVaultArn: item.BackupVaultArn ?? '',
    resourceType: item.ResourceType ?? 'unknown',
    status: item.Status ?? 'unknown',
    isParent: item.IsParent ?? false,
    ...(item.ResourceArn ? { resourceArn: item.ResourceArn } : {}),
    ...(item.ParentRecoveryPointArn ? { parentRecoveryPointArn: item.ParentRecoveryPointArn } : {}),
    ...(item.CompletionDate ? { completionDate: item.CompletionDate.toISOString() } : {}),
  };
}

/** Every recovery point of `vaultName` created inside the window, following NextToken page by page. */
export async function* listRecoveryPoints(
  client: BackupClient,
  vaultName: string,
  window: RecoveryPointWindow,
): AsyncGenerator<RecoveryPoint> {
  const pages = paginateListRecoveryPointsByBackupVault(
    { client, ...(window.pageSize ? { pageSize: window.pageSize } : {}) },
    {
      BackupVaultName: vaultName,
      ByCreatedAfter: window.createdAfter,
      ByCreatedBefore: window.createdBefore,
    },
  );
  for await (const page of pages) {
    for (const item of page.RecoveryPoints ?? []) {
      if (item.RecoveryPointArn) yield toRecoveryPoint(item, vaultName);
    }
  }
}
