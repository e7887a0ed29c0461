import { type BackupClient, paginateListRecoveryPointsByBackupVault } from '@aws-sdk/client-backup';
import type { RecoveryPoint } from '../domain/recovery-point.js';
import { toRecoveryPoint } from './backup.js';

export interface RecoveryPointWindow {
  /** Only recovery points created after this instant. */
  createdAfter: Date;
  /** Only recovery points created before this instant. */
  createdBefore: Date;
  /** MaxResults per ListRecoveryPointsByBackupVault page; AWS's default when absent. */
  pageSize?: number;
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
