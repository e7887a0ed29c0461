import type { BackupClient } from '@aws-sdk/client-backup';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createBackupClient, createDocumentClient } from './aws/clients.js';
import { CopySlots } from './aws/copy-slots.js';
import { CopyLedger } from './aws/ledger.js';
import { type Config, loadConfig } from './config.js';

/** Everything a handler needs, built once per container (or per simulated run). */
export interface Runtime {
  config: Config;
  ledger: CopyLedger;
  backup: BackupClient;
  sfn: SFNClient;
  slots?: CopySlots;
}

export function createRuntime(
  config: Config,
  clients: { backup?: BackupClient; documents?: DynamoDBDocumentClient; sfn?: SFNClient } = {},
): Runtime {
  const documents = clients.documents ?? createDocumentClient();
  return {
    config,
    ledger: new CopyLedger(documents, config.ledgerTable),
    backup: clients.backup ?? createBackupClient(),
    sfn: clients.sfn ?? new SFNClient({}),
    ...(config.copySlots > 0
      ? { slots: new CopySlots(documents, config.ledgerTable, config.copySlots, config.copySlotLeaseMs) }
      : {}),
  };
}

let current: Runtime | undefined;

/** The container's runtime from its environment, validated on first use. */
export function runtime(): Runtime {
  current ??= createRuntime(loadConfig());
  return current;
}
