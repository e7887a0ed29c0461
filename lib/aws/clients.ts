import { BackupClient, type BackupClientConfig } from '@aws-sdk/client-backup';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { SFNClient, type SFNClientConfig } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { classifyErrorsOf } from './aws-errors.js';

/*
 * One client per service per container, built by the handlers whose code calls that service: esbuild drops the
 * SDK packages a function never constructs. Endpoints come from the SDK's own AWS_ENDPOINT_URL_<SERVICE>
 * variables, which is how local runs point them at DynamoDB Local and the Backup emulator (LocalService passes
 * them as `config`). Every client re-raises AWS's "not now" answers as the errors the state machine retries
 * (lib/aws/aws-errors.ts), once its own retries, if any, are spent.
 */

/**
 * maxAttempts 1 by default: in the state machine, its Retry owns Backup retries (backoff with jitter up to 2
 * minutes, visible in the history) and StartCopyJob's idempotency token makes each one safe; SDK retries inside
 * would only multiply them. The reconciler, which no Retry covers, asks for the SDK's standard retries instead.
 */
export const createBackupClient = (config: BackupClientConfig = {}) =>
  classifyErrorsOf(new BackupClient({ maxAttempts: 1, ...config }), {
    // AWS Backup's modelled quota error (e.g. concurrent copy jobs), not a request-rate throttle.
    quotaErrorNames: ['LimitExceededException'],
  });

/** The SDK's standard retries (3 attempts) absorb a brief throttle of a ledger call before any task fails. */
export const createDocumentClient = (config: DynamoDBClientConfig = {}) =>
  DynamoDBDocumentClient.from(classifyErrorsOf(new DynamoDBClient(config)), {
    marshallOptions: { removeUndefinedValues: true },
  });

/** The SDK's standard retries: a repeated SendTask* on a closed token answers TaskTimedOut, which is handled. */
export const createSfnClient = (config: SFNClientConfig = {}) => classifyErrorsOf(new SFNClient(config));
