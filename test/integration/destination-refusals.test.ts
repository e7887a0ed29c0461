import { BackupClient, StartCopyJobCommand } from '@aws-sdk/client-backup';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { CopyPolicy } from '../../lib/domain/policy.js';
import { buildReport } from '../../lib/operations/report.js';
import { BackupEmulator } from '../../local/backup-emulator.js';
import { DUMMY_CREDENTIALS } from '../../local/dynamodb-local.js';
import {
  COPY_ROLE,
  DR_ACCOUNT,
  DR_ISOLATED,
  DR_WEST,
  manualInput,
  policyFor,
  recoveryPointArn,
  SOURCE_ACCOUNT,
} from '../../local/factories.js';
import { LocalService } from '../../local/local-service.js';

let stack: LocalService | undefined;
let emulator: BackupEmulator | undefined;

afterEach(async () => {
  await stack?.close();
  await emulator?.close();
  stack = undefined;
  emulator = undefined;
});

const SOURCE_VAULT = `arn:aws:backup:us-east-1:${SOURCE_ACCOUNT}:backup-vault:primary`;
const DR_EAST = `arn:aws:backup:us-east-1:${SOURCE_ACCOUNT}:backup-vault:dr-east`;
/** A DynamoDB backup without advanced features: DynamoDB's own ARN, no full AWS Backup management. */
const DYNAMODB_BACKUP = `arn:aws:dynamodb:us-east-1:${SOURCE_ACCOUNT}:table/orders/backup/01700000000000-abcdef12`;
const MULTI_AZ_CLUSTER = `arn:aws:rds:us-east-1:${SOURCE_ACCOUNT}:cluster:orders-maz`;

/** Seeds one recovery point with `fields`, runs a manual execution for it through the state machine, reports. */
async function copyRecoveryPoint(policy: CopyPolicy, arn: string, fields: Record<string, unknown> = {}) {
  stack = await LocalService.start({ policy, dynamoDbEndpoint: inject('dynamoDbEndpoint') });
  stack.emulator.seedRecoveryPoint({ RecoveryPointArn: arn, BackupVaultName: 'primary', ...fields });
  await stack.deliver(manualInput(arn));
  await stack.settle();
  return stack.report();
}

type Report = Awaited<ReturnType<typeof copyRecoveryPoint>>;
const item = (report: Report, destination: string) =>
  report.ledger.find((record) => record.destinationVaultArn === destination);

describe('a destination AWS would refuse is recorded REJECTED, and the others are still copied', () => {
  it.each([
    [
      'the source vault itself',
      policyFor([{ vaultArn: SOURCE_VAULT }, { vaultArn: DR_WEST }]),
      recoveryPointArn(),
      SOURCE_VAULT,
      DR_WEST,
      'must not be the source vault',
    ],
    [
      'a copy role of another account',
      policyFor([
        { vaultArn: DR_ISOLATED, iamRoleArn: `arn:aws:iam::${DR_ACCOUNT}:role/copy` },
        { vaultArn: DR_WEST },
      ]),
      recoveryPointArn(),
      DR_ISOLATED,
      DR_WEST,
      `rules[0].destinations[0].iamRoleArn (${DR_ISOLATED}) must be in the source account ${SOURCE_ACCOUNT}`,
    ],
    [
      'another Region for a DynamoDB backup without advanced features',
      policyFor([{ vaultArn: DR_WEST }, { vaultArn: DR_EAST }]),
      DYNAMODB_BACKUP,
      DR_WEST,
      DR_EAST,
      'cannot copy a DynamoDB backup to another Region',
    ],
  ])('%s', async (_case, policy, arn, refused, copied, reason) => {
    // The resource type is the ARN's: a DynamoDB backup has DynamoDB's own ARN, the others are EBS by default.
    const fields = arn === DYNAMODB_BACKUP ? { ResourceType: 'DynamoDB' } : {};
    const report = await copyRecoveryPoint(policy, arn, fields);

    expect(report.status).toBe('SUCCEEDED');
    expect(report.copyJobs.map((job) => [job.destinationVaultArn, job.state])).toEqual([
      [copied, 'COMPLETED'],
    ]);
    expect(item(report, copied)).toMatchObject({ status: 'COMPLETED', attempt: 1 });
    expect(item(report, refused)).toMatchObject({
      status: 'REJECTED',
      attempt: 0,
      rule: 'primary-to-dr',
      lastError: { name: 'DestinationRefused', message: expect.stringContaining(reason) },
    });
    expect(item(report, '*')).toMatchObject({
      status: 'PLANNED',
      destinations: [copied],
      refused: [refused],
    });

    const ledgerReport = buildReport(report.ledger, {
      since: new Date(0),
      until: new Date(),
      now: new Date(),
    });
    expect(ledgerReport.copies.byStatus).toMatchObject({ COMPLETED: 1, REJECTED: 1 });
    expect(ledgerReport.failures).toEqual([
      expect.objectContaining({ destinationVaultArn: refused, status: 'REJECTED', error: expect.anything() }),
    ]);
  });

  it('ends SUCCEEDED with nothing copied when every destination is refused (a policy error, not a missing copy)', async () => {
    const policy = policyFor([
      { vaultArn: SOURCE_VAULT },
      { vaultArn: DR_ISOLATED, iamRoleArn: `arn:aws:iam::${DR_ACCOUNT}:role/copy` },
    ]);
    const report = await copyRecoveryPoint(policy, recoveryPointArn());

    expect(report.status).toBe('SUCCEEDED');
    expect(report.copyJobs).toEqual([]);
    expect([item(report, SOURCE_VAULT)?.status, item(report, DR_ISOLATED)?.status]).toEqual([
      'REJECTED',
      'REJECTED',
    ]);
  });
});

describe('whole recovery points the deployment or AWS cannot copy', () => {
  it.each([
    [
      'a recovery point in another Region than the deployment',
      `arn:aws:backup:us-west-2:${SOURCE_ACCOUNT}:recovery-point:0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f`,
      {},
      'InvalidInputError',
      "must be in this deployment's (111111111111, us-east-1) Region",
    ],
    [
      'a recovery point in another account than the deployment',
      `arn:aws:backup:us-east-1:${DR_ACCOUNT}:recovery-point:0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f`,
      {},
      'InvalidInputError',
      "must be in this deployment's (111111111111, us-east-1) account",
    ],
    [
      'an RDS Multi-AZ DB cluster',
      recoveryPointArn(),
      { ResourceType: 'RDS', ResourceArn: MULTI_AZ_CLUSTER },
      'RecoveryPointNotCopyableError',
      'Multi-AZ DB cluster',
    ],
  ])('refuses %s, records why, and calls no StartCopyJob', async (_case, arn, fields, name, fragment) => {
    const report = await copyRecoveryPoint(policyFor(), arn, fields);

    expect(report.executions[0]).toMatchObject({ status: 'FAILED', error: 'InputRejected' });
    expect(item(report, '*')).toMatchObject({
      status: 'REJECTED',
      lastError: { name, message: expect.stringContaining(fragment) },
    });
    expect(stack?.emulator.calls.operations.StartCopyJob ?? 0).toBe(0);
  });
});

describe('the Backup emulator refuses what the capability table refuses', () => {
  const start = async () => {
    emulator = await BackupEmulator.start({ vaults: ['primary'] });
    return new BackupClient({
      endpoint: emulator.endpoint,
      region: 'us-east-1',
      credentials: DUMMY_CREDENTIALS,
      maxAttempts: 1,
    });
  };
  const copy = (client: BackupClient, recoveryPoint: string, destination: string) =>
    client.send(
      new StartCopyJobCommand({
        RecoveryPointArn: recoveryPoint,
        SourceBackupVaultName: 'primary',
        DestinationBackupVaultArn: destination,
        IamRoleArn: COPY_ROLE,
      }),
    );

  it.each([
    [
      'a DynamoDB backup without advanced features to another Region',
      DYNAMODB_BACKUP,
      { ResourceType: 'DynamoDB' },
      DR_WEST,
    ],
    [
      'a DynamoDB backup without advanced features to another account',
      DYNAMODB_BACKUP,
      { ResourceType: 'DynamoDB' },
      `arn:aws:backup:us-east-1:${DR_ACCOUNT}:backup-vault:dr`,
    ],
    [
      'an RDS Multi-AZ DB cluster',
      recoveryPointArn(),
      { ResourceType: 'RDS', ResourceArn: MULTI_AZ_CLUSTER },
      DR_WEST,
    ],
    ['a copy to its own vault', recoveryPointArn(), {}, SOURCE_VAULT],
  ])('refuses %s with InvalidRequestException', async (_case, arn, fields, destination) => {
    const client = await start();
    emulator?.seedRecoveryPoint({ RecoveryPointArn: arn, BackupVaultName: 'primary', ...fields });
    await expect(copy(client, arn, destination)).rejects.toMatchObject({ name: 'InvalidRequestException' });
    expect(emulator?.copyJobs()).toEqual([]);
  });

  it.each([
    [
      'a DynamoDB backup with advanced features to another Region and account',
      recoveryPointArn(),
      { ResourceType: 'DynamoDB' },
      DR_ISOLATED,
    ],
    [
      'a DynamoDB backup without them to a vault of its Region and account',
      DYNAMODB_BACKUP,
      { ResourceType: 'DynamoDB' },
      DR_EAST,
    ],
    [
      'an RDS DB instance to another Region and account in one job',
      recoveryPointArn(),
      { ResourceType: 'RDS', ResourceArn: `arn:aws:rds:us-east-1:${SOURCE_ACCOUNT}:db:orders` },
      DR_ISOLATED,
    ],
  ])('copies %s', async (_case, arn, fields, destination) => {
    const client = await start();
    emulator?.seedRecoveryPoint({ RecoveryPointArn: arn, BackupVaultName: 'primary', ...fields });
    await expect(copy(client, arn, destination)).resolves.toMatchObject({ CopyJobId: expect.any(String) });
  });
});
