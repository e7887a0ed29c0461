import { describe, expect, it } from 'vitest';
import {
  COLD_STORAGE_TYPES,
  copyDirectionRefusal,
  isFullyManaged,
  isMultiAzDbCluster,
  RESOURCE_CAPABILITIES,
  RESOURCE_TYPES,
  type ResourceCapabilities,
  supportsArchiveTier,
  supportsColdStorage,
} from '../../lib/domain/resource-types.js';

const BACKUP_ARN =
  'arn:aws:backup:us-east-1:111111111111:recovery-point:8c1b9a2e-3f4d-4e5f-9a6b-7c8d9e0f1a2b';
const DDB_ARN = 'arn:aws:dynamodb:us-east-1:111111111111:table/orders/backup/01700000000000-abcdef12';

/** The table as AWS's "Feature availability by resource" page gives it, typed out by hand. */
const EXPECTED: [string, { full: string; cold: boolean; archive: boolean; continuous: boolean }][] = [
  ['Aurora', { full: 'never', cold: false, archive: false, continuous: true }],
  ['CloudFormation', { full: 'always', cold: false, archive: false, continuous: false }],
  ['DocumentDB', { full: 'never', cold: false, archive: false, continuous: false }],
  ['DynamoDB', { full: 'opt-in', cold: true, archive: false, continuous: false }],
  ['EBS', { full: 'never', cold: false, archive: true, continuous: false }],
  ['EC2', { full: 'never', cold: false, archive: false, continuous: false }],
  ['EFS', { full: 'always', cold: true, archive: false, continuous: false }],
  ['EKS', { full: 'always', cold: false, archive: false, continuous: false }],
  ['FSx', { full: 'never', cold: false, archive: false, continuous: false }],
  ['Neptune', { full: 'never', cold: false, archive: false, continuous: false }],
  ['RDS', { full: 'never', cold: false, archive: false, continuous: true }],
  ['Redshift', { full: 'never', cold: false, archive: false, continuous: false }],
  ['S3', { full: 'always', cold: false, archive: false, continuous: true }],
  ['SAP HANA on Amazon EC2', { full: 'always', cold: true, archive: false, continuous: true }],
  ['Storage Gateway', { full: 'never', cold: false, archive: false, continuous: false }],
  ['Timestream', { full: 'always', cold: true, archive: false, continuous: false }],
  ['VirtualMachine', { full: 'always', cold: true, archive: false, continuous: false }],
];

describe('the capability table', () => {
  it('has one row per GetSupportedResourceType value', () => {
    expect([...RESOURCE_TYPES].sort()).toEqual(EXPECTED.map(([type]) => type).sort());
  });

  it.each(EXPECTED)('%s', (type, expected) => {
    const row = RESOURCE_CAPABILITIES[type as keyof typeof RESOURCE_CAPABILITIES] as ResourceCapabilities;
    expect({
      full: row.fullManagement,
      cold: row.coldStorage,
      archive: row.archiveTier,
      continuous: row.continuousBackup,
    }).toEqual(expected);
    expect(supportsColdStorage(type)).toBe(expected.cold);
    expect(supportsArchiveTier(type)).toBe(expected.archive);
  });

  it('lists the cold storage types for messages', () => {
    expect([...COLD_STORAGE_TYPES].sort()).toEqual([
      'DynamoDB',
      'EFS',
      'SAP HANA on Amazon EC2',
      'Timestream',
      'VirtualMachine',
    ]);
  });

  it('knows nothing of a type AWS added later, and refuses nothing for it', () => {
    expect(supportsColdStorage('Aurora DSQL')).toBe(false);
    expect(isFullyManaged('Aurora DSQL', BACKUP_ARN)).toBe(false);
    expect(
      copyDirectionRefusal({
        resourceType: 'Aurora DSQL',
        recoveryPointArn: BACKUP_ARN,
        crossRegion: true,
        crossAccount: true,
      }),
    ).toBeUndefined();
  });
});

describe('isFullyManaged (the copy quotas count only these)', () => {
  it.each([
    ['EFS', BACKUP_ARN, true],
    ['S3', BACKUP_ARN, true],
    ['DynamoDB with advanced features', BACKUP_ARN, true],
    ['DynamoDB without them', DDB_ARN, false],
    ['EBS', 'arn:aws:ec2:us-east-1::snapshot/snap-0a1b2c3d4e5f67890', false],
    ['RDS', 'arn:aws:rds:us-east-1:111111111111:snapshot:awsbackup:job-1', false],
  ])('%s: %s', (label, arn, expected) => {
    expect(isFullyManaged(label.split(' ')[0] ?? '', arn)).toBe(expected);
  });
});

describe('copyDirectionRefusal', () => {
  const copy = (
    resourceType: string,
    crossRegion: boolean,
    crossAccount: boolean,
    recoveryPointArn = BACKUP_ARN,
  ) => ({
    resourceType,
    recoveryPointArn,
    crossRegion,
    crossAccount,
  });

  it.each(EXPECTED.map(([type]) => type).filter((type) => type !== 'DynamoDB'))(
    'lets %s go to another Region, another account, or both in one job',
    (type) => {
      for (const [crossRegion, crossAccount] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ] as const) {
        expect(copyDirectionRefusal(copy(type, crossRegion, crossAccount))).toBeUndefined();
      }
    },
  );

  it.each([
    [false, false, undefined],
    [true, false, "must be in the source's Region"],
    [false, true, "must be in the source's account"],
    [true, true, "must be in the source's Region"],
  ])(
    'DynamoDB without advanced features, cross-Region %s, cross-account %s: %s',
    (crossRegion, crossAccount, fragment) => {
      const refusal = copyDirectionRefusal(copy('DynamoDB', crossRegion, crossAccount, DDB_ARN));
      if (fragment === undefined) expect(refusal).toBeUndefined();
      else expect(refusal).toContain(fragment);
      expect(copyDirectionRefusal(copy('DynamoDB', crossRegion, crossAccount, BACKUP_ARN))).toBeUndefined();
    },
  );

  const row = (overrides: Partial<ResourceCapabilities>): ResourceCapabilities => ({
    ...RESOURCE_CAPABILITIES.RDS,
    ...overrides,
  });

  it.each([
    [{ crossRegionCopy: false }, true, false, "must be in the source's Region"],
    [{ crossAccountCopy: false }, false, true, "must be in the source's account"],
    [
      { crossRegionAndAccountInOneJob: false },
      true,
      true,
      'must not be in both another Region and another account',
    ],
    [{ crossRegionAndAccountInOneJob: false }, true, false, undefined],
    [{ crossRegionAndAccountInOneJob: false }, false, true, undefined],
  ])(
    'applies a row %j to cross-Region %s, cross-account %s',
    (overrides, crossRegion, crossAccount, fragment) => {
      const refusal = copyDirectionRefusal(copy('RDS', crossRegion, crossAccount), row(overrides));
      if (fragment === undefined) expect(refusal).toBeUndefined();
      else expect(refusal).toContain(fragment);
    },
  );
});

describe('isMultiAzDbCluster', () => {
  it.each([
    ['RDS', 'arn:aws:rds:us-east-1:111111111111:cluster:orders', BACKUP_ARN, true],
    ['RDS', undefined, 'arn:aws:rds:us-east-1:111111111111:cluster-snapshot:awsbackup:job-1', true],
    [
      'RDS',
      'arn:aws:rds:us-east-1:111111111111:db:orders',
      'arn:aws:rds:us-east-1:111111111111:snapshot:awsbackup:job-1',
      false,
    ],
    [
      'Aurora',
      'arn:aws:rds:us-east-1:111111111111:cluster:orders',
      'arn:aws:rds:us-east-1:111111111111:cluster-snapshot:awsbackup:job-1',
      false,
    ],
  ])('%s %s %s: %s', (resourceType, resourceArn, recoveryPointArn, expected) => {
    expect(isMultiAzDbCluster({ resourceType, resourceArn, recoveryPointArn })).toBe(expected);
  });
});
