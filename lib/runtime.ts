import type { BackupClient } from '@aws-sdk/client-backup';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CopySlots } from './aws/copy-slots.js';
import { CopyLedger } from './aws/ledger.js';
import type { Config, Settings } from './config.js';

/** Everything the handlers use; each handler takes only the part its code calls. */
export interface Runtime {
  config: Config;
  ledger: CopyLedger;
  backup: BackupClient;
  sfn: SFNClient;
  slots?: CopySlots;
}

export interface Clients {
  backup: BackupClient;
  documents: DynamoDBDocumentClient;
  sfn: SFNClient;
}

/** The runtime `clients` give: the ledger and copy slots live in DynamoDB, the other clients are used as they are. */
export type RuntimeOver<C extends Partial<Clients>, S extends Settings = Config> = { config: S } & Pick<
  C,
  Extract<keyof C, 'backup' | 'sfn'>
> &
  (C extends Pick<Clients, 'documents'> ? Pick<Runtime, 'ledger' | 'slots'> : unknown);

/**
 * Builds the part of the runtime `clients` make possible, so a function constructs only the clients it calls;
 * a function that never reads the copy policy passes its settings alone, and its bundle carries no policy.
 */
export function createRuntime<C extends Partial<Clients>, S extends Settings = Config>(
  config: S,
  clients: C,
): RuntimeOver<C, S> {
  const { documents, ...others } = clients;
  const stores = documents && {
    ledger: new CopyLedger(documents, config.ledgerTable),
    ...(config.copySlots > 0
      ? {
          slots: new CopySlots(documents, config.ledgerTable, {
            perRegion: config.copySlots,
            byRegion: config.copySlotsByRegion,
          }),
        }
      : {}),
  };
  return { config, ...others, ...stores } as RuntimeOver<C, S>;
}
