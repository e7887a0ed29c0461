import { BackupClient } from '@aws-sdk/client-backup';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/*
 * One client per service per container, built by the handlers whose code calls that service: esbuild drops the
 * SDK packages a function never constructs. Endpoints come from the SDK's own AWS_ENDPOINT_URL_<SERVICE>
 * variables, which is how local runs point them at DynamoDB Local and the Backup emulator.
 */

/** maxAttempts 1: the state machine owns Backup retries (backoff with jitter, visible in the history). */
export const createBackupClient = () => new BackupClient({ maxAttempts: 1 });

export const createDocumentClient = () =>
  DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });

export const createSfnClient = () => new SFNClient({});
