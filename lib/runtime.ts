import type { BackupClient } from '@aws-sdk/client-backup';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createBackupClient, createDocumentClient } from './aws/clients.js';
import { CopyLedger } from './aws/ledger.js';
import { type Config, loadConfig } from './config.js';

/** Everything a handler needs, built once per container (or per simulated run). */
export interface Runtime {
  config: Config;
  ledger: CopyLedger;
  backup: BackupClient;
  sfn: SFNClient;
}

export function createRuntime(
  config: Config,
  clients: { backup?: BackupClient; documents?: DynamoDBDocumentClient; sfn?: SFNClient } = {},
): Runtime {
  return {
    config,
    ledger: new CopyLedger(clients.documents ?? createDocumentClient(), config.ledgerTable),
    backup: clients.backup ?? createBackupClient(),
    sfn: clients.sfn ?? new SFNClient({}),
  };
}

let current: Runtime | undefined;

/** The container's runtime from its environment, validated on first use. */
export function runtime(): Runtime {
  current ??= createRuntime(loadConfig());
  return current;
}
