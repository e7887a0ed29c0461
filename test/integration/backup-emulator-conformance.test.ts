/**
 * The Backup emulator against AWS Backup's model in @aws-sdk/client-backup: for each operation it serves, every
 * member of every structure the output reaches is produced with its modelled type, or is in NOT_PRODUCED with
 * the reason it does not apply; every modelled error can be injected, and arrives as the SDK's error class
 * with every member of the error structure. A member an SDK update adds is neither produced nor listed: the
 * test fails until the emulator produces it or NOT_PRODUCED says why it does not.
 */
import {
  BackupClient,
  DescribeCopyJobCommand,
  DescribeRecoveryPointCommand,
  ListCopyJobsCommand,
  ListRecoveryPointsByBackupVaultCommand,
  StartCopyJobCommand,
  type StartCopyJobInput,
} from '@aws-sdk/client-backup';
import type { NormalizedSchema } from '@smithy/core/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESOURCE_TYPES } from '../../lib/domain/resource-types.js';
import { BackupEmulator, type BackupOperation, type RecoveryPoint } from '../../local/backup-emulator.js';
import {
  kindOf,
  type Member,
  membersOf,
  modelledError,
  modelledErrors,
  outputOf,
  reachableMembers,
} from '../support/backup-model.js';

const OPERATIONS: BackupOperation[] = [
  'StartCopyJob',
  'DescribeCopyJob',
  'ListCopyJobs',
  'DescribeRecoveryPoint',
  'ListRecoveryPointsByBackupVault',
];

const NO_SCANS =
  'only after a malware scan (StartScanJob, or a backup plan ScanActions); the emulator scans nothing';
const NO_INDEX =
  'only with a backup index (CreateBackupIndex, or a backup plan IndexActions); the emulator keeps none';
const ORIGINALS =
  'only on a recovery point that is itself a copy from another account or Region; seeded recovery points are the originals (seed it to model a copy)';
const NO_RESTORES = 'set once the recovery point is restored; the emulator serves no restores';

/** The one list of modelled output members the emulator does not produce, each with why it does not apply. */
const NOT_PRODUCED: Record<string, string> = {
  'DescribeRecoveryPointOutput.SourceBackupVaultArn': ORIGINALS,
  'RecoveryPointByBackupVault.SourceBackupVaultArn': ORIGINALS,
  'DescribeRecoveryPointOutput.LastRestoreTime': NO_RESTORES,
  'RecoveryPointByBackupVault.LastRestoreTime': NO_RESTORES,
  'DescribeRecoveryPointOutput.IndexStatus': NO_INDEX,
  'DescribeRecoveryPointOutput.IndexStatusMessage': NO_INDEX,
  'RecoveryPointByBackupVault.IndexStatus': NO_INDEX,
  'RecoveryPointByBackupVault.IndexStatusMessage': NO_INDEX,
  'DescribeRecoveryPointOutput.ScanResults': NO_SCANS,
  'ScanResult.MalwareScanner': NO_SCANS,
  'ScanResult.ScanJobState': NO_SCANS,
  'ScanResult.LastScanTimestamp': NO_SCANS,
  'ScanResult.Findings': NO_SCANS,
  'RecoveryPointByBackupVault.AggregatedScanResult': NO_SCANS,
  'AggregatedScanResult.FailedScan': NO_SCANS,
  'AggregatedScanResult.Findings': NO_SCANS,
  'AggregatedScanResult.LastComputed': NO_SCANS,
  'CopyJob.DestinationVaultLockState':
    "the lock state of a logically air-gapped destination vault; the emulator's vaults are standard backup vaults",
  'CopyJob.CreatedByBackupJobId':
    'the model: "Only applicable to scheduled copy jobs and automatic copy jobs to logically air-gapped vault"; StartCopyJob makes on-demand copies',
};

const DEST = 'arn:aws:backup:us-west-2:222222222222:backup-vault:dr';
const ROLE = 'arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole';

let emulator: BackupEmulator;
let client: BackupClient;
/** Every answer the emulator gave, per operation, after seeding only what a test would seed. */
const answers = new Map<BackupOperation, unknown[]>();
let seeded: RecoveryPoint[] = [];

const copyOf = (rp: RecoveryPoint, overrides: Partial<StartCopyJobInput> = {}): StartCopyJobInput => ({
  RecoveryPointArn: rp.RecoveryPointArn,
  SourceBackupVaultName: rp.BackupVaultName,
  DestinationBackupVaultArn: DEST,
  IamRoleArn: ROLE,
  ...overrides,
});

async function record<T>(operation: BackupOperation, answer: Promise<T>): Promise<T> {
  const out = await answer;
  answers.set(operation, [...(answers.get(operation) ?? []), out]);
  return out;
}

beforeAll(async () => {
  emulator = await BackupEmulator.start();
  client = new BackupClient({
    endpoint: emulator.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  // One recovery point per resource type with the emulator's defaults; a composite stack with two nested
  // recovery points; one whose backup plan deletes it after copying (DeleteAfterEvent).
  seeded = [...RESOURCE_TYPES].map((ResourceType) => emulator.seedRecoveryPoint({ ResourceType }));
  const stack = emulator.seedRecoveryPoint({ ResourceType: 'CloudFormation', Status: 'PARTIAL' });
  const nested = ['EBS', 'DynamoDB'].map((ResourceType) =>
    emulator.seedRecoveryPoint({ ResourceType, ParentRecoveryPointArn: stack.RecoveryPointArn }),
  );
  const deletedAfterCopy = emulator.seedRecoveryPoint({
    Lifecycle: { DeleteAfterDays: 35, DeleteAfterEvent: 'DELETE_AFTER_COPY' },
  });
  seeded.push(stack, ...nested, deletedAfterCopy);

  const [ebs] = seeded;
  if (!ebs) throw new Error('no EBS recovery point seeded');
  emulator.failCopy(
    { destinationBackupVaultArn: DEST },
    { state: 'FAILED', message: 'Access denied to the key' },
  );
  await record('StartCopyJob', client.send(new StartCopyJobCommand(copyOf(ebs))));
  await record(
    'StartCopyJob',
    client.send(
      new StartCopyJobCommand(
        copyOf(ebs, {
          Lifecycle: {
            MoveToColdStorageAfterDays: 30,
            DeleteAfterDays: 365,
            OptInToArchiveForSupportedResources: true,
          },
        }),
      ),
    ),
  );
  await record('StartCopyJob', client.send(new StartCopyJobCommand(copyOf(stack))));
  await record('StartCopyJob', client.send(new StartCopyJobCommand(copyOf(deletedAfterCopy))));

  for (const rp of seeded) {
    await record(
      'DescribeRecoveryPoint',
      client.send(
        new DescribeRecoveryPointCommand({
          BackupVaultName: rp.BackupVaultName,
          RecoveryPointArn: rp.RecoveryPointArn,
        }),
      ),
    );
  }
  await record(
    'ListRecoveryPointsByBackupVault',
    client.send(new ListRecoveryPointsByBackupVaultCommand({ BackupVaultName: 'primary' })),
  );
  await record(
    'ListRecoveryPointsByBackupVault',
    client.send(new ListRecoveryPointsByBackupVaultCommand({ BackupVaultName: 'primary', MaxResults: 1 })),
  );
  const all = await record('ListCopyJobs', client.send(new ListCopyJobsCommand({})));
  await record('ListCopyJobs', client.send(new ListCopyJobsCommand({ MaxResults: 1 })));
  for (const job of all.CopyJobs ?? []) {
    await record('DescribeCopyJob', client.send(new DescribeCopyJobCommand({ CopyJobId: job.CopyJobId })));
  }
});

afterAll(async () => {
  client?.destroy();
  await emulator?.close();
});

/** Checks `value` against its schema; records each structure member present as produced. */
function check(
  schema: NormalizedSchema,
  value: unknown,
  at: string,
  produced: Set<string>,
  problems: string[],
  member?: Member,
) {
  const wrong = (expected: string) =>
    problems.push(`${at}: expected ${expected}, got ${JSON.stringify(value)}`);
  switch (kindOf(schema)) {
    case 'structure': {
      if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Date)
        return wrong('a structure');
      const fields = value as Record<string, unknown>;
      for (const m of membersOf(schema)) {
        if (fields[m.name] === undefined) continue;
        produced.add(m.path);
        check(m.schema, fields[m.name], `${at}.${m.name}`, produced, problems, m);
      }
      return;
    }
    case 'list':
      if (!Array.isArray(value)) return wrong('a list');
      for (const [i, item] of value.entries())
        check(schema.getValueSchema(), item, `${at}[${i}]`, produced, problems);
      return;
    case 'map':
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return wrong('a map');
      for (const [key, item] of Object.entries(value)) {
        if (member?.enumValues && !member.enumValues.includes(key))
          problems.push(`${at}: key ${key} is not one of ${member.enumValues.join(', ')}`);
        check(schema.getValueSchema(), item, `${at}.${key}`, produced, problems);
      }
      return;
    case 'timestamp':
      if (!(value instanceof Date) || Number.isNaN(value.getTime())) wrong('a timestamp');
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) wrong('a number');
      return;
    case 'boolean':
      if (typeof value !== 'boolean') wrong('a boolean');
      return;
    case 'string':
      if (typeof value !== 'string') return wrong('a string');
      if (member?.enumValues && !member.enumValues.includes(value))
        wrong(`one of ${member.enumValues.join(', ')}`);
      return;
    default:
      problems.push(`${at}: a ${schema.getName() ?? 'schema'} the test cannot check`);
  }
}

function producedBy(operation: BackupOperation): { produced: Set<string>; problems: string[] } {
  const produced = new Set<string>();
  const problems: string[] = [];
  for (const answer of answers.get(operation) ?? []) {
    const { $metadata: _metadata, ...output } = answer as Record<string, unknown>;
    check(outputOf(operation), output, operation, produced, problems);
  }
  return { produced, problems };
}

describe('the Backup emulator conforms to the SDK model of AWS Backup', () => {
  it.each(OPERATIONS)('%s answers with every member in its modelled type', (operation) => {
    expect(answers.get(operation)?.length ?? 0).toBeGreaterThan(0);
    expect(producedBy(operation).problems).toEqual([]);
  });

  it('produces every output member of every operation, except those NOT_PRODUCED gives a reason for', () => {
    // Members of shapes several operations share (CopyJob, Lifecycle) count as produced if any produces them.
    const produced = new Set(OPERATIONS.flatMap((operation) => [...producedBy(operation).produced]));
    const modelled = new Set(
      OPERATIONS.flatMap((operation) => reachableMembers(outputOf(operation)).map((m) => m.path)),
    );
    const missing = [...modelled].filter((path) => !produced.has(path) && !(path in NOT_PRODUCED));
    expect(missing).toEqual([]);
    // The list stays true: nothing in it is produced after all, or gone from the model.
    expect(Object.keys(NOT_PRODUCED).filter((path) => produced.has(path) || !modelled.has(path))).toEqual([]);
  });

  it('describes recovery points with all 29 members of the model but those that do not apply', () => {
    const members = membersOf(outputOf('DescribeRecoveryPoint'));
    expect(members).toHaveLength(29);
    const { produced } = producedBy('DescribeRecoveryPoint');
    expect(members.filter((m) => produced.has(m.path)).length).toBe(
      members.filter((m) => !(m.path in NOT_PRODUCED)).length,
    );
  });
});

describe('every modelled error of every operation the emulator serves', () => {
  const calls: Record<BackupOperation, () => Promise<unknown>> = {
    StartCopyJob: () => client.send(new StartCopyJobCommand(copyOf(seeded[0] as RecoveryPoint))),
    DescribeCopyJob: async () => {
      const { CopyJobs } = await client.send(new ListCopyJobsCommand({ MaxResults: 1 }));
      return client.send(new DescribeCopyJobCommand({ CopyJobId: CopyJobs?.[0]?.CopyJobId }));
    },
    ListCopyJobs: () => client.send(new ListCopyJobsCommand({})),
    DescribeRecoveryPoint: () =>
      client.send(
        new DescribeRecoveryPointCommand({
          BackupVaultName: 'primary',
          RecoveryPointArn: seeded[0]?.RecoveryPointArn,
        }),
      ),
    ListRecoveryPointsByBackupVault: () =>
      client.send(new ListRecoveryPointsByBackupVaultCommand({ BackupVaultName: 'primary' })),
  };
  const cases = OPERATIONS.flatMap((operation) =>
    modelledErrors(operation).map((name) => [operation, name] as const),
  );

  it('covers errors of each operation', () => {
    expect(new Set(cases.map(([operation]) => operation))).toEqual(new Set(OPERATIONS));
  });

  it.each(cases)(
    '%s: %s can be injected, and the SDK deserializes it as that class',
    async (operation, name) => {
      const error = modelledError(name);
      const message = `${name} injected into ${operation}`;
      emulator.injectFault({ operation, error: name, status: error.status, message });
      const thrown = (await calls[operation]().then(
        () => undefined,
        (e: unknown) => e,
      )) as Record<string, unknown> & Error & { $fault: string; $metadata: { httpStatusCode?: number } };
      expect(thrown).toBeInstanceOf(error.errorClass);
      expect(thrown.name).toBe(name);
      expect(thrown.$fault).toBe(error.fault);
      expect(thrown.$metadata.httpStatusCode).toBe(error.status);
      // The body carries every member of the error structure; the SDK makes Message the error's message.
      expect(error.members).toEqual(['Code', 'Message', 'Type', 'Context']);
      expect(thrown.message).toBe(message);
      for (const member of error.members.filter((m) => m !== 'Message')) {
        expect(typeof thrown[member], `${name}.${member}`).toBe('string');
      }
    },
  );
});
