import { randomUUID } from 'node:crypto';
import {
  BackupClient,
  DescribeCopyJobCommand,
  DescribeRecoveryPointCommand,
  InvalidParameterValueException,
  InvalidRequestException,
  LimitExceededException,
  ListCopyJobsCommand,
  ListRecoveryPointsByBackupVaultCommand,
  MissingParameterValueException,
  ResourceNotFoundException,
  ServiceUnavailableException,
  StartCopyJobCommand,
  type StartCopyJobInput,
  StopBackupJobCommand,
} from '@aws-sdk/client-backup';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  BackupEmulator,
  type BackupEmulatorOptions,
  type CopyJobStateChangeEvent,
  type RecoveryPoint,
} from '../../local/backup-emulator.js';

const DEST = 'arn:aws:backup:us-west-2:222222222222:backup-vault:dr';
const OTHER_DEST = 'arn:aws:backup:eu-west-1:222222222222:backup-vault:dr-eu';
const ROLE = 'arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole';
const T0 = Date.parse('2025-03-01T12:00:00.000Z');

async function setup(options: BackupEmulatorOptions = {}, maxAttempts = 1) {
  const emulator = await BackupEmulator.start(options);
  const client = new BackupClient({
    endpoint: emulator.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts,
  });
  onTestFinished(async () => {
    client.destroy();
    await emulator.close();
  });
  return { emulator, client };
}

/** A clock the test moves by hand: its timers never fire, every request brings the jobs up to date. */
function manualClock(start = T0) {
  const clock = { t: start, now: () => clock.t, setTimeout: () => ({}), clearTimeout: () => {} };
  return clock;
}

function copyOf(rp: RecoveryPoint, overrides: Partial<StartCopyJobInput> = {}): StartCopyJobInput {
  return {
    RecoveryPointArn: rp.RecoveryPointArn,
    SourceBackupVaultName: rp.BackupVaultName,
    DestinationBackupVaultArn: DEST,
    IamRoleArn: ROLE,
    ...overrides,
  };
}

async function failure(
  promise: Promise<unknown>,
): Promise<Error & { $metadata: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { $metadata: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
}

describe('StartCopyJob and DescribeCopyJob', () => {
  it('round-trips a copy job through the real SDK', async () => {
    const clock = manualClock();
    const { emulator, client } = await setup({
      clock,
      runningAfterMs: 1_000,
      copyDurationMs: 60_000,
    });
    const rp = emulator.seedRecoveryPoint({ ResourceArn: 'arn:aws:ec2:us-east-1:111111111111:volume/vol-1' });

    const started = await client.send(new StartCopyJobCommand(copyOf(rp, { IdempotencyToken: 'tok-1' })));
    expect(started.CopyJobId).toMatch(/^[0-9A-F-]{36}$/);
    expect(started.CreationDate).toEqual(new Date(T0));
    expect(started.IsParent).toBe(false);

    const { CopyJob: job } = await client.send(new DescribeCopyJobCommand({ CopyJobId: started.CopyJobId }));
    expect(job).toMatchObject({
      CopyJobId: started.CopyJobId,
      AccountId: '111111111111',
      State: 'CREATED',
      SourceRecoveryPointArn: rp.RecoveryPointArn,
      SourceBackupVaultArn: 'arn:aws:backup:us-east-1:111111111111:backup-vault:primary',
      DestinationBackupVaultArn: DEST,
      IamRoleArn: ROLE,
      ResourceArn: 'arn:aws:ec2:us-east-1:111111111111:volume/vol-1',
      ResourceType: 'EBS',
      BackupSizeInBytes: rp.BackupSizeInBytes,
      IsParent: false,
    });
    expect(job?.CreationDate).toBeInstanceOf(Date);
    expect(job?.CreationDate?.getTime()).toBe(T0);
    expect(job?.CompletionDate).toBeUndefined();
    expect(emulator.copyJobs()).toHaveLength(1);
    expect(emulator.copyJobs()[0]?.idempotencyToken).toBe('tok-1');
  });

  it('answers ResourceNotFoundException for an unknown copy job id', async () => {
    const { client } = await setup();
    const err = await failure(client.send(new DescribeCopyJobCommand({ CopyJobId: 'NOPE' })));
    expect(err).toBeInstanceOf(ResourceNotFoundException);
    expect(err.$metadata.httpStatusCode).toBe(400);
  });
});

describe('StartCopyJob idempotency', () => {
  it('returns the same job for the same IdempotencyToken and counts a replay', async () => {
    const { emulator, client } = await setup();
    const rp = emulator.seedRecoveryPoint();
    const input = copyOf(rp, { IdempotencyToken: 'same-token' });

    const first = await client.send(new StartCopyJobCommand(input));
    const second = await client.send(new StartCopyJobCommand(input));

    expect(second.CopyJobId).toBe(first.CopyJobId);
    expect(second.CreationDate).toEqual(first.CreationDate);
    expect(emulator.copyJobs()).toHaveLength(1);
    expect(emulator.calls.idempotentReplays).toBe(1);
    expect(emulator.calls.operations.StartCopyJob).toBe(2);
  });

  it('refuses a reused token carrying a different request', async () => {
    const { emulator, client } = await setup();
    const rp = emulator.seedRecoveryPoint();
    await client.send(new StartCopyJobCommand(copyOf(rp, { IdempotencyToken: 'tok' })));

    const err = await failure(
      client.send(
        new StartCopyJobCommand(
          copyOf(rp, { IdempotencyToken: 'tok', DestinationBackupVaultArn: OTHER_DEST }),
        ),
      ),
    );
    expect(err).toBeInstanceOf(InvalidRequestException);
    expect(err.name).toBe('InvalidRequestException');
    expect(emulator.copyJobs()).toHaveLength(1);
  });

  it('starts a new job once the idempotency window has passed', async () => {
    const clock = manualClock();
    const { emulator, client } = await setup({ clock, idempotencyWindowMs: 1_000 });
    const rp = emulator.seedRecoveryPoint();
    const input = copyOf(rp, { IdempotencyToken: 'tok' });

    const first = await client.send(new StartCopyJobCommand(input));
    clock.t += 999;
    expect((await client.send(new StartCopyJobCommand(input))).CopyJobId).toBe(first.CopyJobId);
    clock.t += 1;
    const later = await client.send(new StartCopyJobCommand(input));

    expect(later.CopyJobId).not.toBe(first.CopyJobId);
    expect(emulator.copyJobs()).toHaveLength(2);
  });

  it('keeps the job when the response is lost, so a retry with the token finds it', async () => {
    const { emulator, client } = await setup();
    const rp = emulator.seedRecoveryPoint();
    emulator.injectFault({
      operation: 'StartCopyJob',
      error: 'ServiceUnavailableException',
      afterApply: true,
    });
    const input = copyOf(rp, { IdempotencyToken: 'lost' });

    const err = await failure(client.send(new StartCopyJobCommand(input)));
    expect(err).toBeInstanceOf(ServiceUnavailableException);
    expect(emulator.copyJobs()).toHaveLength(1);

    const retry = await client.send(new StartCopyJobCommand(input));
    expect(retry.CopyJobId).toBe(emulator.copyJobs()[0]?.copyJobId);
    expect(emulator.calls.idempotentReplays).toBe(1);
  });
});

describe('StartCopyJob limits and faults', () => {
  it('answers LimitExceededException past the per-account concurrency limit, but not for replays', async () => {
    const clock = manualClock();
    const { emulator, client } = await setup({
      clock,
      concurrencyLimit: 2,
      copyDurationMs: 10_000,
    });
    // Three recovery points of three resources: AWS runs one copy job per resource at a time anyway.
    const [rp, rp2, rp3] = [0, 1, 2].map(() => emulator.seedRecoveryPoint()) as [
      RecoveryPoint,
      RecoveryPoint,
      RecoveryPoint,
    ];
    const a = await client.send(new StartCopyJobCommand(copyOf(rp, { IdempotencyToken: 'a' })));
    await client.send(new StartCopyJobCommand(copyOf(rp2, { IdempotencyToken: 'b' })));

    const err = await failure(client.send(new StartCopyJobCommand(copyOf(rp3, { IdempotencyToken: 'c' }))));
    expect(err).toBeInstanceOf(LimitExceededException);
    expect(err.name).toBe('LimitExceededException');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect((err as LimitExceededException).$fault).toBe('client');

    const replay = await client.send(new StartCopyJobCommand(copyOf(rp, { IdempotencyToken: 'a' })));
    expect(replay.CopyJobId).toBe(a.CopyJobId);

    const otherAccount = emulator.seedRecoveryPoint({
      RecoveryPointArn: 'arn:aws:backup:us-east-1:333333333333:recovery-point:other',
    });
    await client.send(new StartCopyJobCommand(copyOf(otherAccount, { IdempotencyToken: 'd' })));

    clock.t += 10_000; // the first two finish, freeing the account's slots
    await client.send(new StartCopyJobCommand(copyOf(rp3, { IdempotencyToken: 'c' })));
    expect(emulator.copyJobs()).toHaveLength(4);
    expect(emulator.calls.errors.LimitExceededException).toBe(1);
  });

  it('runs one copy job per resource at a time, as AWS Backup does', async () => {
    const clock = manualClock();
    const { emulator, client } = await setup({ clock, copyDurationMs: 10_000 });
    const rp = emulator.seedRecoveryPoint();
    const sameResource = emulator.seedRecoveryPoint({ ResourceArn: rp.ResourceArn });
    await client.send(new StartCopyJobCommand(copyOf(rp)));

    const refused = await failure(
      client.send(new StartCopyJobCommand(copyOf(rp, { DestinationBackupVaultArn: OTHER_DEST }))),
    );
    expect(refused).toBeInstanceOf(LimitExceededException);
    expect(refused.message).toContain(rp.ResourceArn);
    expect(await failure(client.send(new StartCopyJobCommand(copyOf(sameResource))))).toBeInstanceOf(
      LimitExceededException,
    );

    clock.t += 10_000;
    await client.send(new StartCopyJobCommand(copyOf(rp, { DestinationBackupVaultArn: OTHER_DEST })));
    expect(emulator.copyJobs()).toHaveLength(2);
  });

  it('holds fully managed types to the per-Region quota plus the per-vault overflow; others to neither', async () => {
    const { emulator, client } = await setup({
      copyDurationMs: 3_600_000,
      copyQuotas: { perRegion: 2, perVaultOverflow: 1, perResource: 1 },
    });
    const efs = () =>
      emulator.seedRecoveryPoint({
        ResourceType: 'EFS',
        ResourceArn: `arn:aws:elasticfilesystem:us-east-1:111111111111:file-system/fs-${randomUUID().slice(0, 8)}`,
      });
    const OTHER_VAULT_SAME_REGION = 'arn:aws:backup:us-west-2:222222222222:backup-vault:dr-2';
    for (let i = 0; i < 3; i++) await client.send(new StartCopyJobCommand(copyOf(efs())));
    // Two on the Region's quota, one on DEST's overflow: DEST is full, another vault there has its own one.
    expect(await failure(client.send(new StartCopyJobCommand(copyOf(efs()))))).toBeInstanceOf(
      LimitExceededException,
    );
    await client.send(
      new StartCopyJobCommand(copyOf(efs(), { DestinationBackupVaultArn: OTHER_VAULT_SAME_REGION })),
    );
    // Another Region counts on its own; EBS (copied by EC2, not AWS Backup) on neither.
    await client.send(new StartCopyJobCommand(copyOf(efs(), { DestinationBackupVaultArn: OTHER_DEST })));
    for (let i = 0; i < 3; i++)
      await client.send(new StartCopyJobCommand(copyOf(emulator.seedRecoveryPoint())));
    expect(emulator.copyJobs()).toHaveLength(8);
    expect(emulator.calls.errors.LimitExceededException).toBe(1);
  });

  it('answers every operation with ServiceUnavailableException (503) during an outage window', async () => {
    const clock = manualClock();
    const { emulator, client } = await setup({ clock, outages: [{ from: T0 + 1_000, to: T0 + 2_000 }] });
    const rp = emulator.seedRecoveryPoint();
    await client.send(new StartCopyJobCommand(copyOf(rp, { IdempotencyToken: 'a' })));

    clock.t = T0 + 1_000;
    const err = await failure(client.send(new StartCopyJobCommand(copyOf(rp, { IdempotencyToken: 'b' }))));
    expect(err).toBeInstanceOf(ServiceUnavailableException);
    expect(err.$metadata.httpStatusCode).toBe(503);
    clock.t = T0 + 2_000;
    await client.send(new StartCopyJobCommand(copyOf(rp, { IdempotencyToken: 'b' })));
    expect(emulator.copyJobs()).toHaveLength(2);
  });

  it('fails the next `count` calls with an injected ServiceUnavailableException (500), then succeeds', async () => {
    const { emulator, client } = await setup();
    const rp = emulator.seedRecoveryPoint();
    emulator.injectFault({ operation: 'StartCopyJob', error: 'ServiceUnavailableException', count: 2 });

    for (let i = 0; i < 2; i++) {
      const err = await failure(client.send(new StartCopyJobCommand(copyOf(rp))));
      expect(err).toBeInstanceOf(ServiceUnavailableException);
      expect(err.$metadata.httpStatusCode).toBe(500);
      expect((err as ServiceUnavailableException).$fault).toBe('server');
    }
    const ok = await client.send(new StartCopyJobCommand(copyOf(rp)));

    expect(ok.CopyJobId).toBeDefined();
    expect(emulator.copyJobs()).toHaveLength(1);
    expect(emulator.calls.errors.ServiceUnavailableException).toBe(2);
  });

  it('is retried by the SDK itself when the client allows more attempts', async () => {
    const { emulator, client } = await setup({}, 2);
    const rp = emulator.seedRecoveryPoint();
    emulator.injectFault({ operation: 'StartCopyJob', error: 'ServiceUnavailableException', count: 1 });

    await client.send(new StartCopyJobCommand(copyOf(rp)));

    expect(emulator.calls.operations.StartCopyJob).toBe(2);
    expect(emulator.copyJobs()).toHaveLength(1);
  });

  it('names unmodelled injected errors, like ThrottlingException, by their code', async () => {
    const { emulator, client } = await setup();
    emulator.injectFault({
      operation: 'ListCopyJobs',
      error: 'ThrottlingException',
      message: 'Rate exceeded',
    });

    const err = await failure(client.send(new ListCopyJobsCommand({})));
    expect(err.name).toBe('ThrottlingException');
    expect(err.message).toBe('Rate exceeded');
    expect(err.$metadata.httpStatusCode).toBe(400);
    await expect(client.send(new ListCopyJobsCommand({}))).resolves.toMatchObject({ CopyJobs: [] });
  });

  it('adds per-operation latency', async () => {
    const { client } = await setup({ operationLatencyMs: { ListCopyJobs: 80 } });
    const started = performance.now();
    await client.send(new ListCopyJobsCommand({}));
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
  });
});

describe('StartCopyJob validation', () => {
  it('answers MissingParameterValueException for a missing required parameter', async () => {
    const { emulator, client } = await setup();
    const rp = emulator.seedRecoveryPoint();
    const err = await failure(client.send(new StartCopyJobCommand(copyOf(rp, { IamRoleArn: undefined }))));
    expect(err).toBeInstanceOf(MissingParameterValueException);
    expect(err.message).toContain('IamRoleArn');
    expect(emulator.copyJobs()).toHaveLength(0);
  });

  it('answers InvalidParameterValueException for a bad vault name or a non-ARN', async () => {
    const { emulator, client } = await setup();
    const rp = emulator.seedRecoveryPoint();

    const badVault = await failure(
      client.send(new StartCopyJobCommand(copyOf(rp, { SourceBackupVaultName: 'x' }))),
    );
    expect(badVault).toBeInstanceOf(InvalidParameterValueException);
    const spaces = await failure(
      client.send(new StartCopyJobCommand(copyOf(rp, { SourceBackupVaultName: 'my vault' }))),
    );
    expect(spaces).toBeInstanceOf(InvalidParameterValueException);
    const badArn = await failure(
      client.send(new StartCopyJobCommand(copyOf(rp, { DestinationBackupVaultArn: 'dr' }))),
    );
    expect(badArn).toBeInstanceOf(InvalidParameterValueException);
    expect(badArn.message).toContain('DestinationBackupVaultArn');
  });

  it('enforces DeleteAfterDays >= MoveToColdStorageAfterDays + 90 where cold storage applies', async () => {
    const { emulator, client } = await setup();
    const efs = emulator.seedRecoveryPoint({ ResourceType: 'EFS' });

    const err = await failure(
      client.send(
        new StartCopyJobCommand(
          copyOf(efs, { Lifecycle: { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 119 } }),
        ),
      ),
    );
    expect(err).toBeInstanceOf(InvalidParameterValueException);
    expect(err.message).toMatch(/90 days/);

    await client.send(
      new StartCopyJobCommand(
        copyOf(efs, { Lifecycle: { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 120 } }),
      ),
    );
    // AWS ignores the cold setting for a type without cold storage, so no +90 rule there.
    const rds = emulator.seedRecoveryPoint({ ResourceType: 'RDS' });
    await client.send(
      new StartCopyJobCommand(
        copyOf(rds, { Lifecycle: { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 35 } }),
      ),
    );
    expect(emulator.copyJobs()).toHaveLength(2);
  });

  it('applies the +90 rule on EBS only with the archive opt-in, as the policy rules do', async () => {
    const { emulator, client } = await setup();
    const ebs = emulator.seedRecoveryPoint({ ResourceType: 'EBS' });
    const lifecycle = { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 35 };
    await client.send(new StartCopyJobCommand(copyOf(ebs, { Lifecycle: lifecycle })));
    const archived = await failure(
      client.send(
        new StartCopyJobCommand(
          copyOf(ebs, { Lifecycle: { ...lifecycle, OptInToArchiveForSupportedResources: true } }),
        ),
      ),
    );
    expect(archived).toBeInstanceOf(InvalidParameterValueException);
    expect(emulator.copyJobs()).toHaveLength(1);
  });

  it('accepts -1 on both lifecycle fields but refuses a lone -1', async () => {
    const { emulator, client } = await setup();
    const rp = emulator.seedRecoveryPoint({ ResourceType: 'EFS' });

    await client.send(
      new StartCopyJobCommand(
        copyOf(rp, { Lifecycle: { MoveToColdStorageAfterDays: -1, DeleteAfterDays: -1 } }),
      ),
    );
    const err = await failure(
      client.send(
        new StartCopyJobCommand(
          copyOf(rp, { Lifecycle: { MoveToColdStorageAfterDays: 10, DeleteAfterDays: -1 } }),
        ),
      ),
    );
    expect(err).toBeInstanceOf(InvalidParameterValueException);
    expect(err.message).toContain('-1');
  });

  it('refuses continuous recovery points', async () => {
    const { client } = await setup();
    const err = await failure(
      client.send(
        new StartCopyJobCommand({
          RecoveryPointArn: 'arn:aws:backup:us-east-1:111111111111:recovery-point:continuous:db-abc-1234',
          SourceBackupVaultName: 'primary',
          DestinationBackupVaultArn: DEST,
          IamRoleArn: ROLE,
        }),
      ),
    );
    expect(err).toBeInstanceOf(InvalidRequestException);
    expect(err.message).toBe('Does not support continuous backups');
  });

  it('refuses unknown, misplaced and unfinished recovery points', async () => {
    const { emulator, client } = await setup({ vaults: ['primary', 'other'] });
    const elsewhere = emulator.seedRecoveryPoint({ BackupVaultName: 'other' });
    const creating = emulator.seedRecoveryPoint({ Status: 'CREATING' });

    const misplaced = await failure(
      client.send(new StartCopyJobCommand(copyOf(elsewhere, { SourceBackupVaultName: 'primary' }))),
    );
    expect(misplaced).toBeInstanceOf(ResourceNotFoundException);
    const unknown = await failure(
      client.send(
        new StartCopyJobCommand(
          copyOf(creating, {
            RecoveryPointArn: 'arn:aws:backup:us-east-1:111111111111:recovery-point:missing',
          }),
        ),
      ),
    );
    expect(unknown).toBeInstanceOf(ResourceNotFoundException);
    const unfinished = await failure(client.send(new StartCopyJobCommand(copyOf(creating))));
    expect(unfinished).toBeInstanceOf(InvalidRequestException);
    expect(unfinished.message).toContain('CREATING');
  });

  it('copies the statuses the code copies: COMPLETED, AVAILABLE, and PARTIAL only on a composite', async () => {
    const { emulator, client } = await setup();
    const available = emulator.seedRecoveryPoint({ Status: 'AVAILABLE' });
    const partialComposite = emulator.seedRecoveryPoint({
      ResourceType: 'CloudFormation',
      IsParent: true,
      Status: 'PARTIAL',
    });
    const partial = emulator.seedRecoveryPoint({ Status: 'PARTIAL' });

    for (const copyable of [available, partialComposite]) {
      await expect(client.send(new StartCopyJobCommand(copyOf(copyable)))).resolves.toHaveProperty(
        'CopyJobId',
      );
    }
    const refused = await failure(client.send(new StartCopyJobCommand(copyOf(partial))));
    expect(refused).toBeInstanceOf(InvalidRequestException);
    expect(refused.message).toContain('PARTIAL');
  });

  it('describes a seeded recovery point as AWS Backup does for its resource type, with consistent dates', async () => {
    const { emulator, client } = await setup({ clock: manualClock() });
    const efs = emulator.seedRecoveryPoint({ ResourceType: 'EFS' });
    const ebs = emulator.seedRecoveryPoint({ ResourceType: 'EBS' });
    const describe = (rp: RecoveryPoint) =>
      client.send(
        new DescribeRecoveryPointCommand({
          BackupVaultName: rp.BackupVaultName,
          RecoveryPointArn: rp.RecoveryPointArn,
        }),
      );

    const out = await describe(efs);
    expect(out.ResourceArn).toMatch(
      /^arn:aws:elasticfilesystem:us-east-1:111111111111:file-system\/fs-[0-9a-f]{17}$/,
    );
    expect(out.ResourceName).toEqual(expect.any(String));
    expect(out.Lifecycle).toEqual({ MoveToColdStorageAfterDays: 30, DeleteAfterDays: 365 });
    expect(out.CalculatedLifecycle).toEqual({
      MoveToColdStorageAt: new Date(T0 + 30 * 86_400_000),
      DeleteAt: new Date(T0 + 365 * 86_400_000),
    });
    expect(out.EncryptionKeyArn).toMatch(/^arn:aws:kms:us-east-1:111111111111:key\/[0-9a-f-]{36}$/);
    expect(out.IsEncrypted).toBe(true);
    expect(out.CreatedBy?.BackupPlanArn).toBe(
      `arn:aws:backup:us-east-1:111111111111:backup-plan:${out.CreatedBy?.BackupPlanId}`,
    );
    expect(out.InitiationDate?.getTime()).toBeLessThan(T0);
    expect(out.CreationDate?.getTime()).toBe(T0);
    expect(out.CompletionDate?.getTime()).toBeGreaterThanOrEqual(T0);
    // EBS has no cold storage of its own (only the archive tier, on opt-in): the plan rule keeps it warm.
    expect((await describe(ebs)).Lifecycle).toEqual({ DeleteAfterDays: 35 });
  });

  it('copies a composite recovery point as a parent job with one nested job per nested recovery point', async () => {
    const { emulator, client } = await setup();
    const stack = emulator.seedRecoveryPoint({ ResourceType: 'CloudFormation' });
    const nested = ['EBS', 'DynamoDB'].map((ResourceType) =>
      emulator.seedRecoveryPoint({ ResourceType, ParentRecoveryPointArn: stack.RecoveryPointArn }),
    );
    emulator.failCopy({ recoveryPointArn: stack.RecoveryPointArn }, { state: 'PARTIAL' });

    const started = await client.send(new StartCopyJobCommand(copyOf(stack)));
    expect(started.IsParent).toBe(true);
    const parent = (await client.send(new DescribeCopyJobCommand({ CopyJobId: started.CopyJobId }))).CopyJob;
    expect(parent).toMatchObject({
      State: 'PARTIAL',
      NumberOfChildJobs: 2,
      ChildJobsInState: { COMPLETED: 1, FAILED: 1 },
    });
    const children = (await client.send(new ListCopyJobsCommand({ ByParentJobId: started.CopyJobId })))
      .CopyJobs;
    expect(children?.map((job) => job.SourceRecoveryPointArn).sort()).toEqual(
      nested.map((rp) => rp.RecoveryPointArn).sort(),
    );
    expect(children?.map((job) => job.State).sort()).toEqual(['COMPLETED', 'FAILED']);
    for (const child of children ?? []) {
      expect(child).toMatchObject({
        ParentJobId: started.CopyJobId,
        IsParent: false,
        CompositeMemberIdentifier: expect.any(String),
      });
    }
    expect(emulator.copyJobs()).toHaveLength(1);
  });

  it('describes an unseeded recovery point in an existing vault as a completed EBS one, when told to', async () => {
    const { client } = await setup({ vaults: ['primary'], describeUnseededRecoveryPoints: true });
    const arn = 'arn:aws:backup:us-east-1:111111111111:recovery-point:never-seeded';

    const described = await client.send(
      new DescribeRecoveryPointCommand({ BackupVaultName: 'primary', RecoveryPointArn: arn }),
    );
    expect(described).toMatchObject({ RecoveryPointArn: arn, Status: 'COMPLETED', ResourceType: 'EBS' });
    const noVault = await failure(
      client.send(new DescribeRecoveryPointCommand({ BackupVaultName: 'nowhere', RecoveryPointArn: arn })),
    );
    expect(noVault).toBeInstanceOf(ResourceNotFoundException);
  });
});

describe('copy job lifecycle', () => {
  it('moves CREATED -> RUNNING -> COMPLETED on the injected clock and emits one event per transition', async () => {
    const clock = manualClock();
    const { emulator, client } = await setup({
      clock,
      runningAfterMs: 1_000,
      copyDurationMs: 5_000,
    });
    const events: CopyJobStateChangeEvent[] = [];
    emulator.onCopyJobStateChange((e) => events.push(e));
    const rp = emulator.seedRecoveryPoint({ ResourceType: 'EFS' });
    const { CopyJobId } = await client.send(new StartCopyJobCommand(copyOf(rp)));
    const state = async () => (await client.send(new DescribeCopyJobCommand({ CopyJobId }))).CopyJob;

    expect((await state())?.State).toBe('CREATED');
    clock.t = T0 + 999;
    expect((await state())?.State).toBe('CREATED');
    clock.t = T0 + 1_000;
    expect((await state())?.State).toBe('RUNNING');
    clock.t = T0 + 4_999;
    expect((await state())?.DestinationRecoveryPointArn).toBeUndefined();
    clock.t = T0 + 5_000;
    const done = await state();

    expect(done?.State).toBe('COMPLETED');
    expect(done?.CompletionDate?.getTime()).toBe(T0 + 5_000);
    expect(done?.DestinationRecoveryPointArn).toMatch(
      /^arn:aws:backup:us-west-2:222222222222:recovery-point:/,
    );
    expect(events.map((e) => e.detail.state)).toEqual(['CREATED', 'RUNNING', 'COMPLETED']);
    expect(events.map((e) => e.time)).toEqual([
      '2025-03-01T12:00:00Z',
      '2025-03-01T12:00:01Z',
      '2025-03-01T12:00:05Z',
    ]);
    const [created, running, completed] = events;
    expect(created).toMatchObject({
      version: '0',
      'detail-type': 'Copy Job State Change',
      source: 'aws.backup',
      account: '111111111111',
      region: 'us-east-1',
      resources: [rp.RecoveryPointArn],
      detail: { copyJobId: CopyJobId, state: 'CREATED', destinationBackupVaultArn: DEST },
    });
    expect(running?.detail).toMatchObject({ resourceType: 'EFS', destinationRecoveryPointArn: {} });
    expect(completed?.detail).toMatchObject({
      copyJobId: CopyJobId,
      completionDate: '2025-03-01T12:00:05.000Z',
      destinationRecoveryPointArn: done?.DestinationRecoveryPointArn,
      sourceBackupVaultArn: rp.BackupVaultArn,
      iamRoleArn: ROLE,
    });
  });

  it('delivers events from its own timer, without any request', async () => {
    const { emulator, client } = await setup({ copyDurationMs: 30 });
    const rp = emulator.seedRecoveryPoint();
    const completed = new Promise<CopyJobStateChangeEvent>((resolve) =>
      emulator.onCopyJobStateChange((e) => e.detail.state === 'COMPLETED' && resolve(e)),
    );
    const { CopyJobId } = await client.send(new StartCopyJobCommand(copyOf(rp)));
    const callsAfterStart = { ...emulator.calls.operations };

    const event = await completed;
    expect(event.detail.copyJobId).toBe(CopyJobId);
    expect(emulator.calls.operations).toEqual(callsAfterStart);
  });

  it('ends the next matching job in the injected outcome, and only the next one', async () => {
    const { emulator, client } = await setup();
    const events: CopyJobStateChangeEvent[] = [];
    emulator.onCopyJobStateChange((e) => events.push(e));
    const rp = emulator.seedRecoveryPoint();
    emulator.failCopy(
      { recoveryPointArn: rp.RecoveryPointArn },
      { state: 'FAILED', message: 'Access denied' },
    );

    const first = await client.send(new StartCopyJobCommand(copyOf(rp)));
    const second = await client.send(new StartCopyJobCommand(copyOf(rp)));
    const failed = (await client.send(new DescribeCopyJobCommand({ CopyJobId: first.CopyJobId }))).CopyJob;
    const ok = (await client.send(new DescribeCopyJobCommand({ CopyJobId: second.CopyJobId }))).CopyJob;

    expect(failed).toMatchObject({ State: 'FAILED', StatusMessage: 'Access denied' });
    expect(failed?.DestinationRecoveryPointArn).toBeUndefined();
    expect(failed?.CompletionDate).toBeInstanceOf(Date);
    expect(ok?.State).toBe('COMPLETED');
    const failedEvent = events.find((e) => e.detail.state === 'FAILED');
    expect(failedEvent?.detail).toMatchObject({ copyJobId: first.CopyJobId, statusMessage: 'Access denied' });
  });

  it('drops state-change events when told to, while jobs still progress', async () => {
    const { emulator, client } = await setup({ dropCopyJobEvents: true });
    const events: CopyJobStateChangeEvent[] = [];
    emulator.onCopyJobStateChange((e) => events.push(e));
    const rp = emulator.seedRecoveryPoint();
    const { CopyJobId } = await client.send(new StartCopyJobCommand(copyOf(rp)));

    const { CopyJob } = await client.send(new DescribeCopyJobCommand({ CopyJobId }));
    expect(CopyJob?.State).toBe('COMPLETED');
    expect(events).toEqual([]);
    expect(emulator.events).toEqual([]);
  });

  it('settle() finishes every unfinished job at once', async () => {
    const clock = manualClock();
    const { emulator, client } = await setup({ clock, copyDurationMs: 3_600_000 });
    await client.send(new StartCopyJobCommand(copyOf(emulator.seedRecoveryPoint())));
    await client.send(
      new StartCopyJobCommand(
        copyOf(emulator.seedRecoveryPoint(), { DestinationBackupVaultArn: OTHER_DEST }),
      ),
    );

    expect(emulator.settle()).toBe(2);
    expect(emulator.copyJobs().map((j) => j.state)).toEqual(['COMPLETED', 'COMPLETED']);
  });
});

describe('list and describe', () => {
  it('pages ListRecoveryPointsByBackupVault, newest first, honouring ByCreatedAfter and MaxResults', async () => {
    const { emulator, client } = await setup({ vaults: ['primary', 'other'] });
    const seeded = [0, 1, 2, 3, 4].map((i) =>
      emulator.seedRecoveryPoint({ CreationDate: new Date(T0 + i * 1_000) }),
    );
    emulator.seedRecoveryPoint({ BackupVaultName: 'other', CreationDate: new Date(T0 + 9_000) });

    const pages: string[][] = [];
    let NextToken: string | undefined;
    do {
      const page = await client.send(
        new ListRecoveryPointsByBackupVaultCommand({
          BackupVaultName: 'primary',
          ByCreatedAfter: new Date(T0 + 1_000),
          MaxResults: 2,
          NextToken,
        }),
      );
      pages.push((page.RecoveryPoints ?? []).map((p) => p.RecoveryPointArn ?? ''));
      NextToken = page.NextToken;
    } while (NextToken);

    expect(pages).toEqual([
      [seeded[4]?.RecoveryPointArn, seeded[3]?.RecoveryPointArn],
      [seeded[2]?.RecoveryPointArn],
    ]);
    const all = await client.send(new ListRecoveryPointsByBackupVaultCommand({ BackupVaultName: 'primary' }));
    expect(all.RecoveryPoints).toHaveLength(5);
    expect(all.NextToken).toBeUndefined();
    expect(all.RecoveryPoints?.[0]?.CreationDate).toEqual(new Date(T0 + 4_000));
  });

  it('answers ResourceNotFoundException for a vault that does not exist', async () => {
    const { client } = await setup();
    const err = await failure(
      client.send(new ListRecoveryPointsByBackupVaultCommand({ BackupVaultName: 'nope' })),
    );
    expect(err).toBeInstanceOf(ResourceNotFoundException);
  });

  it('pages ListCopyJobs with ByState and ByDestinationVaultArn filters', async () => {
    const { emulator, client } = await setup();
    const rp = emulator.seedRecoveryPoint();
    emulator.failCopy({ destinationBackupVaultArn: DEST }, { state: 'FAILED', times: 1 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await client.send(new StartCopyJobCommand(copyOf(rp)))).CopyJobId ?? '');
    }
    await client.send(new StartCopyJobCommand(copyOf(rp, { DestinationBackupVaultArn: OTHER_DEST })));
    emulator.advance();

    const seen: string[] = [];
    const sizes: number[] = [];
    let NextToken: string | undefined;
    do {
      const page = await client.send(
        new ListCopyJobsCommand({
          ByState: 'COMPLETED',
          ByDestinationVaultArn: DEST,
          MaxResults: 3,
          NextToken,
        }),
      );
      sizes.push(page.CopyJobs?.length ?? 0);
      seen.push(...(page.CopyJobs ?? []).map((j) => j.CopyJobId ?? ''));
      NextToken = page.NextToken;
    } while (NextToken);

    expect(sizes).toEqual([3, 1]);
    expect(seen).toEqual(ids.slice(1).reverse());
    const failed = await client.send(new ListCopyJobsCommand({ ByState: 'FAILED' }));
    expect(failed.CopyJobs?.map((j) => j.CopyJobId)).toEqual([ids[0]]);
  });

  it('round-trips a recovery point with its Lifecycle and dates as Date objects', async () => {
    const { emulator, client } = await setup();
    const created = new Date('2025-01-02T03:04:05.678Z');
    // An EBS snapshot ARN has a slash, so the SDK sends it as %2F inside one path segment.
    const rp = emulator.seedRecoveryPoint({
      RecoveryPointArn: 'arn:aws:ec2:us-east-1::snapshot/snap-0123456789abcdef0',
      ResourceType: 'EFS',
      CreationDate: created,
      Lifecycle: { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 120 },
      CreatedBy: { BackupPlanId: 'plan-1', BackupRuleId: 'rule-1' },
    });

    const out = await client.send(
      new DescribeRecoveryPointCommand({ BackupVaultName: 'primary', RecoveryPointArn: rp.RecoveryPointArn }),
    );

    expect(out.RecoveryPointArn).toBe(rp.RecoveryPointArn);
    expect(out.CreationDate).toBeInstanceOf(Date);
    expect(out.CreationDate?.getTime()).toBe(created.getTime());
    expect(out.CompletionDate?.getTime()).toBe(created.getTime());
    expect(out.Lifecycle).toEqual({ MoveToColdStorageAfterDays: 30, DeleteAfterDays: 120 });
    expect(out.CalculatedLifecycle?.MoveToColdStorageAt).toEqual(
      new Date(created.getTime() + 30 * 86_400_000),
    );
    expect(out.CalculatedLifecycle?.DeleteAt).toEqual(new Date(created.getTime() + 120 * 86_400_000));
    expect(out).toMatchObject({
      BackupVaultName: 'primary',
      Status: 'COMPLETED',
      StorageClass: 'WARM',
      IsParent: false,
      CreatedBy: { BackupPlanId: 'plan-1' },
    });

    const missing = await failure(
      client.send(
        new DescribeRecoveryPointCommand({ BackupVaultName: 'primary', RecoveryPointArn: 'arn:aws:x::1:y' }),
      ),
    );
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
  });

  it('answers an operation it does not implement with UnknownOperationException (404)', async () => {
    const { emulator, client } = await setup();
    const err = await failure(client.send(new StopBackupJobCommand({ BackupJobId: 'job' })));
    expect(err.name).toBe('UnknownOperationException');
    expect(err.$metadata.httpStatusCode).toBe(404);
    expect(emulator.calls.operations.Unknown).toBe(1);
  });

  it('forgets everything on reset()', async () => {
    const { emulator, client } = await setup();
    const rp = emulator.seedRecoveryPoint();
    const { CopyJobId } = await client.send(new StartCopyJobCommand(copyOf(rp)));
    emulator.reset();

    const err = await failure(client.send(new DescribeCopyJobCommand({ CopyJobId })));
    expect(err).toBeInstanceOf(ResourceNotFoundException);
    expect(emulator.copyJobs()).toEqual([]);
    expect(emulator.calls.operations).toEqual({ DescribeCopyJob: 1 });
  });
});
