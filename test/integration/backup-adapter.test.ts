import {
  InvalidRequestException,
  ResourceNotFoundException,
  LimitExceededException as SdkLimitExceededException,
  ServiceUnavailableException as SdkServiceUnavailableException,
} from '@aws-sdk/client-backup';
import { describe, expect, it, onTestFinished } from 'vitest';
import { describeCopyJob, describeRecoveryPoint, startCopyJob } from '../../lib/aws/backup.js';
import { createBackupClient } from '../../lib/aws/clients.js';
import {
  LimitExceededException,
  RecoveryPointNotCopyableError,
  ServiceUnavailableException,
  ThrottlingException,
} from '../../lib/errors.js';
import { BackupEmulator } from '../../local/backup-emulator.js';
import { DR_WEST } from '../../local/factories.js';

const ROLE = 'arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole';

/** The emulator behind the functions' Backup client (which does not retry), so each fault reaches the adapter. */
async function setup() {
  const emulator = await BackupEmulator.start();
  const client = createBackupClient({
    endpoint: emulator.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  onTestFinished(async () => {
    client.destroy();
    await emulator.close();
  });
  const recoveryPoint = emulator.seedRecoveryPoint();
  const startCopy = () =>
    startCopyJob(client, {
      recoveryPointArn: recoveryPoint.RecoveryPointArn,
      sourceBackupVaultName: recoveryPoint.BackupVaultName,
      destinationVaultArn: DR_WEST,
      iamRoleArn: ROLE,
      idempotencyToken: 'token',
    });
  return { emulator, client, recoveryPoint, startCopy };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error('expected the call to fail with an Error');
  return error;
}

describe('the AWS Backup adapter', () => {
  it.each([
    ['LimitExceededException', 400, LimitExceededException, SdkLimitExceededException],
    ['ServiceUnavailableException', 500, ServiceUnavailableException, SdkServiceUnavailableException],
    ['ThrottlingException', 400, ThrottlingException, Error],
  ] as const)(
    're-raises %s as the class the state machine retries, keeping the SDK error as its cause',
    async (name, status, Ours, Sdk) => {
      const { emulator, startCopy } = await setup();
      emulator.injectFault({ operation: 'StartCopyJob', error: name, status, message: `${name} from AWS` });

      const error = await rejection(startCopy());

      expect(error).toBeInstanceOf(Ours);
      expect(error.name).toBe(name);
      expect(error.message).toBe(`Backup StartCopyJob answered ${name}, HTTP ${status}: ${name} from AWS`);
      expect(error.cause).toBeInstanceOf(Sdk);
    },
  );

  it('counts an unmodelled 5xx as unavailable and keeps the answer as the cause', async () => {
    const { emulator, client } = await setup();
    emulator.injectFault({ operation: 'DescribeCopyJob', error: 'InternalFailure', status: 500 });

    const error = await rejection(describeCopyJob(client, 'job-1'));

    expect(error).toBeInstanceOf(ServiceUnavailableException);
    expect(error.cause).toMatchObject({ name: 'InternalFailure', $metadata: { httpStatusCode: 500 } });
  });

  it('refuses a recovery point that is not in its vault, keeping ResourceNotFoundException as the cause', async () => {
    const { client, recoveryPoint } = await setup();

    const error = await rejection(
      describeRecoveryPoint(client, recoveryPoint.BackupVaultName, `${recoveryPoint.RecoveryPointArn}-gone`),
    );

    expect(error).toBeInstanceOf(RecoveryPointNotCopyableError);
    expect(error.cause).toBeInstanceOf(ResourceNotFoundException);
  });

  it('passes any other refusal through as the SDK raised it', async () => {
    const { emulator, startCopy } = await setup();
    emulator.injectFault({ operation: 'StartCopyJob', error: 'InvalidRequestException', status: 400 });

    expect(await rejection(startCopy())).toBeInstanceOf(InvalidRequestException);
  });
});
