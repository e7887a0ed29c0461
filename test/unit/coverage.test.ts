import { describe, expect, it } from 'vitest';
import {
  buildCoverage,
  type CopyEvidence,
  type CoverageTarget,
  copiesPerDay,
  coverageFails,
  coverageRow,
  coverageTargets,
  evidenceKey,
} from '../../lib/domain/coverage.js';
import { parseCopyPolicy } from '../../lib/domain/policy.js';
import {
  CONTINUOUS_ARN,
  DR_ACCOUNT,
  RECOVERY_POINT_ARN,
  ROLE_ARN,
  recoveryPoint,
  vaultArn,
} from './factories.js';

const NOW = new Date('2026-12-01T12:00:00.000Z');
const hoursAgo = (hours: number) => new Date(NOW.getTime() - hours * 3_600_000).toISOString();
const DR_WEST = vaultArn('dr-west');
const DR_ISOLATED = vaultArn('dr-isolated', 'us-west-2', DR_ACCOUNT);
const FS = 'arn:aws:elasticfilesystem:us-east-1:111111111111:file-system/fs-0123456789abcdef0';
const VOLUME = 'arn:aws:ec2:us-east-1:111111111111:volume/vol-0123456789abcdef0';

const policy = parseCopyPolicy({
  version: 1,
  allowed: { partition: 'aws', accounts: ['111111111111', DR_ACCOUNT], regions: ['us-east-1', 'us-west-2'] },
  rules: [
    {
      name: 'everything',
      match: { sourceVaults: ['primary'] },
      rpoHours: 24,
      destinations: [
        { vaultArn: DR_WEST, iamRoleArn: ROLE_ARN },
        { vaultArn: DR_ISOLATED, iamRoleArn: ROLE_ARN, rpoHours: 48 },
      ],
    },
    {
      name: 'volumes-again',
      match: { sourceVaults: ['primary'], resourceTypes: ['EBS'] },
      destinations: [{ vaultArn: DR_WEST, iamRoleArn: ROLE_ARN, rpoHours: 1 }],
    },
  ],
});

const target = (overrides: Partial<CoverageTarget> = {}): CoverageTarget => ({
  resourceArn: FS,
  resourceType: 'EFS',
  destinationVaultArn: DR_WEST,
  rule: 'everything',
  rpoHours: 24,
  firstBackupAt: hoursAgo(30),
  ...overrides,
});
const completed = (backupHoursAgo: number) => ({
  recoveryPointArn: RECOVERY_POINT_ARN,
  completedAt: hoursAgo(backupHoursAgo - 1),
  sourceCompletionDate: hoursAgo(backupHoursAgo),
});
const failure = (status: string, reason?: string) => ({
  recoveryPointArn: RECOVERY_POINT_ARN,
  status,
  completedAt: hoursAgo(1),
  ...(reason ? { reason } : {}),
});

describe('coverageRow', () => {
  it.each<[string, Partial<CoverageTarget>, CopyEvidence, string, boolean]>([
    ['a copy of data newer than rpoHours', {}, { newestCompleted: completed(23) }, 'OK', false],
    ['a copy of data older than rpoHours', {}, { newestCompleted: completed(25) }, 'LATE', true],
    [
      'an old copy with no rpoHours',
      { rpoHours: undefined },
      { newestCompleted: completed(900) },
      'OK',
      false,
    ],
    ['no copy, first backup older than rpoHours', {}, {}, 'NEVER', true],
    ['no copy, first backup within rpoHours', { firstBackupAt: hoursAgo(2) }, {}, 'NEVER', false],
    ['no copy, only a FAILED attempt', {}, { lastFailure: failure('FAILED', 'AccessDenied') }, 'NEVER', true],
    [
      'no copy, a REJECTED copy item',
      {},
      { lastFailure: failure('REJECTED', 'not supported') },
      'REFUSED',
      false,
    ],
    ['no copy, nothing copyable', { refusal: 'continuous backup' }, {}, 'REFUSED', false],
    [
      'a late copy whose newer attempt was refused',
      {},
      { newestCompleted: completed(30), lastFailure: failure('REJECTED', 'x') },
      'LATE',
      true,
    ],
  ])('%s: %s', (_, overrides, evidence, status, outsideRpo) => {
    const row = coverageRow(target(overrides), evidence, NOW);
    expect(row.status).toBe(status);
    expect(row.outsideRpo).toBe(outsideRpo);
  });

  it('ages a copy by the backup it holds, not by when the copy finished', () => {
    const row = coverageRow(
      target(),
      { newestCompleted: { ...completed(30), completedAt: hoursAgo(1) } },
      NOW,
    );
    expect(row).toMatchObject({ status: 'LATE', newestCopy: { ageHours: 30, backupAt: hoursAgo(30) } });
  });

  it('shows the last failure reason, or the refusal', () => {
    expect(
      coverageRow(target(), { lastFailure: failure('FAILED', 'AccessDenied: no') }, NOW).lastFailure,
    ).toEqual({ status: 'FAILED', at: hoursAgo(1), reason: 'AccessDenied: no' });
    expect(coverageRow(target({ refusal: 'is a continuous backup' }), {}, NOW).lastFailure).toEqual({
      status: 'REFUSED',
      reason: 'is a continuous backup',
    });
  });
});

describe('coverageTargets', () => {
  it('gives every resource every destination of the rules it matches, first rule winning, with its RPO', () => {
    const targets = coverageTargets(policy, [
      recoveryPoint({ resourceArn: FS, completionDate: hoursAgo(5) }),
      recoveryPoint({
        resourceArn: FS,
        completionDate: hoursAgo(29),
        recoveryPointArn: `${RECOVERY_POINT_ARN}0`,
      }),
      recoveryPoint({ resourceArn: VOLUME, resourceType: 'EBS', completionDate: hoursAgo(3) }),
    ]);
    expect(
      targets.map((t) => [t.resourceArn, t.destinationVaultArn, t.rule, t.rpoHours, t.firstBackupAt]),
    ).toEqual([
      [VOLUME, DR_WEST, 'everything', 24, hoursAgo(3)],
      [VOLUME, DR_ISOLATED, 'everything', 48, hoursAgo(3)],
      [FS, DR_WEST, 'everything', 24, hoursAgo(29)],
      [FS, DR_ISOLATED, 'everything', 48, hoursAgo(29)],
    ]);
  });

  it('marks a resource none of whose recovery points can be copied as refused, with the reason', () => {
    const [first] = coverageTargets(policy, [
      recoveryPoint({ resourceArn: FS, recoveryPointArn: CONTINUOUS_ARN, completionDate: hoursAgo(1) }),
    ]);
    expect(first?.refusal).toContain('continuous backup');
  });

  it('skips a recovery point naming no resource, and a resource no rule matches', () => {
    expect(coverageTargets(policy, [recoveryPoint({ resourceArn: undefined })])).toEqual([]);
    expect(coverageTargets(policy, [recoveryPoint({ sourceVaultName: 'other' })])).toEqual([]);
  });
});

describe('buildCoverage', () => {
  it('counts rows by status and, per destination, those outside RPO and the oldest copy; fails on LATE or NEVER', () => {
    const targets = [
      target(),
      target({ destinationVaultArn: DR_ISOLATED, rpoHours: 48 }),
      target({ resourceArn: VOLUME }),
    ];
    const evidence = new Map<string, CopyEvidence>([
      [evidenceKey(targets[0] as CoverageTarget), { newestCompleted: completed(2) }],
      [evidenceKey(targets[1] as CoverageTarget), { newestCompleted: completed(50) }],
    ]);
    const coverage = buildCoverage(targets, evidence, NOW);
    expect(coverage.summary).toEqual({
      rows: 3,
      resources: 2,
      byStatus: { OK: 1, LATE: 1, NEVER: 1, REFUSED: 0 },
      byDestination: [
        { destinationVaultArn: DR_WEST, outsideRpo: 1, oldestCopyAgeHours: 2 },
        { destinationVaultArn: DR_ISOLATED, outsideRpo: 1, oldestCopyAgeHours: 50 },
      ],
      outsideRpo: 2,
      oldestCopyAgeHours: 50,
    });
    expect(coverageFails(coverage)).toBe(true);
    expect(coverageFails(buildCoverage([targets[0] as CoverageTarget], evidence, NOW))).toBe(false);
  });
});

describe('copiesPerDay', () => {
  it('counts completions per UTC day per destination, every day and destination included', () => {
    const chart = copiesPerDay(
      [
        { destinationVaultArn: DR_WEST, completedAt: '2026-11-29T23:59:59.000Z' },
        { destinationVaultArn: DR_WEST, completedAt: '2026-11-30T00:00:00.000Z' },
        { destinationVaultArn: DR_WEST, completedAt: '2026-11-30T10:00:00.000Z' },
      ],
      [DR_WEST, DR_ISOLATED],
      new Date('2026-11-29T12:00:00.000Z'),
      NOW,
    );
    expect(chart).toEqual({
      days: ['2026-11-29', '2026-11-30', '2026-12-01'],
      byDestination: [
        { destinationVaultArn: DR_WEST, counts: [1, 2, 0] },
        { destinationVaultArn: DR_ISOLATED, counts: [0, 0, 0] },
      ],
    });
  });
});
