/**
 * Small input factories shared by the unit tests. Every value here is typed out by hand (or read from the
 * repository's sample files), never computed with the code under test.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { ArnScope } from '../../lib/domain/arn.js';
import type { RecoveryPoint } from '../../lib/domain/recovery-point.js';
import type { RuleViolation } from '../../lib/errors.js';

export const ACCOUNT = '111111111111';
export const DR_ACCOUNT = '222222222222';
export const OTHER_ACCOUNT = '333333333333';

/** The scope `copy-policy.yml` allows. */
export const SCOPE: ArnScope = {
  partition: 'aws',
  accounts: [ACCOUNT, DR_ACCOUNT],
  regions: ['us-east-1', 'us-west-2'],
};

export const ANY_SCOPE: ArnScope = { partition: 'aws', accounts: [], regions: [] };

export const vaultArn = (name: string, region = 'us-west-2', account = ACCOUNT, partition = 'aws') =>
  `arn:${partition}:backup:${region}:${account}:backup-vault:${name}`;

export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole`;
export const SOURCE_VAULT_ARN = vaultArn('primary', 'us-east-1');
export const RECOVERY_POINT_ARN = `arn:aws:backup:us-east-1:${ACCOUNT}:recovery-point:f1d966fe-a3bd-410b-b292-99f442d13b56`;
export const EBS_SNAPSHOT_ARN = 'arn:aws:ec2:us-east-1::snapshot/snap-0a1b2c3d4e5f67890';
export const RDS_SNAPSHOT_ARN = `arn:aws:rds:us-east-1:${ACCOUNT}:snapshot:awsbackup:job-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`;
export const CONTINUOUS_ARN = `arn:aws:backup:us-east-1:${ACCOUNT}:recovery-point:continuous:db-abcdefghijklmnop-1a2b3c4d`;

export function recoveryPoint(overrides: Partial<RecoveryPoint> = {}): RecoveryPoint {
  return {
    recoveryPointArn: RECOVERY_POINT_ARN,
    sourceVaultName: 'primary',
    sourceVaultArn: SOURCE_VAULT_ARN,
    resourceType: 'EFS',
    resourceArn: `arn:aws:elasticfilesystem:us-east-1:${ACCOUNT}:file-system/fs-0123456789abcdef0`,
    status: 'COMPLETED',
    storageClass: 'WARM',
    isParent: false,
    ...overrides,
  };
}

export function readJson(relativeToRepo: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../../${relativeToRepo}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
}

/** `copy-policy.yml` as a plain document, parsed with the `yaml` package. */
export function samplePolicyDocument(): Record<string, unknown> {
  return parse(readFileSync(new URL('../../copy-policy.yml', import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
}

/** Runs `action`, expects it to throw, and returns what it threw. */
export function thrown(action: () => unknown): Error & { violations?: RuleViolation[] } {
  try {
    action();
  } catch (error) {
    if (error instanceof Error) return error as Error & { violations?: RuleViolation[] };
    throw new Error(`threw a non-Error: ${String(error)}`);
  }
  throw new Error('expected to throw, but it returned');
}

export const fieldsOf = (error: { violations?: RuleViolation[] }) =>
  (error.violations ?? []).map((v) => v.field);
