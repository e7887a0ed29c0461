import { describe, expect, it } from 'vitest';
import {
  type ArnKind,
  checkArn,
  isBackupVaultName,
  parseArn,
  vaultNameFromArn,
} from '../../lib/domain/arn.js';
import {
  ACCOUNT,
  ANY_SCOPE,
  CONTINUOUS_ARN,
  EBS_SNAPSHOT_ARN,
  OTHER_ACCOUNT,
  RDS_SNAPSHOT_ARN,
  RECOVERY_POINT_ARN,
  ROLE_ARN,
  SCOPE,
  vaultArn,
} from './factories.js';

const rulesOf = (field: string, value: unknown, kind: ArnKind, scope = SCOPE) =>
  checkArn(field, value, kind, scope).map((v) => v.rule);

/** An ARN of exactly `length` characters. */
const arnOfLength = (length: number) => {
  const prefix = `arn:aws:ec2:us-east-1::snapshot/`;
  return prefix + 'a'.repeat(length - prefix.length);
};

describe('parseArn', () => {
  it.each([
    [
      'a backup vault',
      'arn:aws:backup:us-east-1:111111111111:backup-vault:primary',
      ['aws', 'backup', 'us-east-1', '111111111111', 'backup-vault:primary'],
    ],
    [
      'an IAM role (no region)',
      'arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole',
      ['aws', 'iam', '', '111111111111', 'role/service-role/AWSBackupDefaultServiceRole'],
    ],
    [
      'an EBS snapshot recovery point (no account)',
      'arn:aws:ec2:us-east-1::snapshot/snap-0a1b2c3d4e5f67890',
      ['aws', 'ec2', 'us-east-1', '', 'snapshot/snap-0a1b2c3d4e5f67890'],
    ],
    [
      'an RDS snapshot recovery point (colons in the resource)',
      'arn:aws:rds:us-east-1:111111111111:snapshot:awsbackup:job-0f1e',
      ['aws', 'rds', 'us-east-1', '111111111111', 'snapshot:awsbackup:job-0f1e'],
    ],
    [
      'an ARN in aws-cn',
      'arn:aws-cn:backup:cn-north-1:111111111111:backup-vault:v1',
      ['aws-cn', 'backup', 'cn-north-1', '111111111111', 'backup-vault:v1'],
    ],
    [
      'an ARN in aws-us-gov',
      'arn:aws-us-gov:backup:us-gov-west-1:111111111111:backup-vault:v1',
      ['aws-us-gov', 'backup', 'us-gov-west-1', '111111111111', 'backup-vault:v1'],
    ],
  ])('splits %s into its parts', (_case, text, [partition, service, region, accountId, resource]) => {
    expect(parseArn(text)).toEqual({ partition, service, region, accountId, resource });
  });

  it.each([
    ['an empty string', ''],
    ['no resource', 'arn:aws:backup:us-east-1:111111111111:'],
    ['too few parts', 'arn:aws:backup'],
    ['an unknown partition', 'arn:aws-iso:backup:us-iso-east-1:111111111111:backup-vault:v1'],
    ['a made-up partition', 'arn:azure:backup:us-east-1:111111111111:backup-vault:v1'],
    ['upper-case ARN prefix', 'ARN:aws:backup:us-east-1:111111111111:backup-vault:v1'],
    ['an upper-case region', 'arn:aws:backup:US-EAST-1:111111111111:backup-vault:v1'],
    ['a region without its number', 'arn:aws:backup:us-east:111111111111:backup-vault:v1'],
    ['an 11-digit account', 'arn:aws:backup:us-east-1:11111111111:backup-vault:v1'],
    ['a 13-digit account', 'arn:aws:backup:us-east-1:1111111111111:backup-vault:v1'],
    ['a non-numeric account', 'arn:aws:backup:us-east-1:11111111111a:backup-vault:v1'],
    ['a leading space', ' arn:aws:backup:us-east-1:111111111111:backup-vault:v1'],
    ['a trailing newline', 'arn:aws:backup:us-east-1:111111111111:backup-vault:v1\n'],
    ['a newline in the resource', 'arn:aws:backup:us-east-1:111111111111:backup-vault:v1\nx'],
    ['1025 characters', arnOfLength(1025)],
  ])('refuses %s', (_case, text) => {
    expect(parseArn(text)).toBeUndefined();
  });

  it('accepts an ARN of exactly 1024 characters', () => {
    expect(parseArn(arnOfLength(1024))?.service).toBe('ec2');
  });
});

describe('checkArn: backupVault', () => {
  it.each([
    vaultArn('primary', 'us-east-1'),
    vaultArn('dr-west', 'us-west-2'),
    vaultArn('dr_isolated', 'us-west-2', '222222222222'),
    vaultArn('ab'),
    vaultArn('a'.repeat(50)),
  ])('accepts %s', (arn) => {
    expect(checkArn('vaultArn', arn, 'backupVault', SCOPE)).toEqual([]);
  });

  it.each([
    ['another service', ROLE_ARN, 'must be a backup ARN'],
    ['a recovery point, not a vault', RECOVERY_POINT_ARN, 'must be a backup vault ARN'],
    ['another partition', vaultArn('v1', 'cn-north-1', ACCOUNT, 'aws-cn'), 'must be in partition aws'],
    ['an unknown partition', vaultArn('v1', 'us-east-1', ACCOUNT, 'aws-iso'), 'must be a well-formed ARN'],
    ['another region', vaultArn('v1', 'eu-west-1'), 'must be in an allowed region (us-east-1, us-west-2)'],
    [
      'another account',
      vaultArn('v1', 'us-east-1', OTHER_ACCOUNT),
      'must be in an allowed account (111111111111, 222222222222)',
    ],
    ['no region', 'arn:aws:backup::111111111111:backup-vault:v1', 'must name a region'],
    ['no account', 'arn:aws:backup:us-east-1::backup-vault:v1', 'must name an account'],
    ['malformed text', 'backup-vault:primary', 'must be a well-formed ARN'],
    ['too long for the ledger sort key', vaultArn('v'.repeat(1000)), 'must be at most 1024 bytes of UTF-8'],
    ['a 1-character vault name', vaultArn('a'), 'must be a backup vault ARN'],
    ['a 51-character vault name', vaultArn('a'.repeat(51)), 'must be a backup vault ARN'],
    ['an empty vault name', vaultArn(''), 'must be a backup vault ARN'],
    ['a shell injection', vaultArn('primary;rm-rf'), 'must be a backup vault ARN'],
    ['a path traversal', vaultArn('../primary'), 'must be a backup vault ARN'],
    ['a quote', vaultArn(`primary'--`), 'must be a backup vault ARN'],
    ['an extra colon', vaultArn('primary:other'), 'must be a backup vault ARN'],
    ['a slash', vaultArn('primary/other'), 'must be a backup vault ARN'],
    ['a space', vaultArn('my vault'), 'must be a backup vault ARN'],
    ['a wildcard', vaultArn('*'), 'must be a backup vault ARN'],
    ['a number', 42, 'must be an ARN string'],
    ['null', null, 'must be an ARN string'],
  ])('refuses %s', (_case, value, fragment) => {
    const violations = checkArn('rules[0].destinations[1].vaultArn', value, 'backupVault', SCOPE);
    expect(violations.length).toBeGreaterThan(0);
    expect(violations.every((v) => v.field === 'rules[0].destinations[1].vaultArn')).toBe(true);
    expect(violations.every((v) => v.value === value)).toBe(true);
    expect(violations.map((v) => v.rule).join(' | ')).toContain(fragment);
  });

  it('reports every broken rule of one ARN', () => {
    expect(rulesOf('f', vaultArn('v1', 'eu-west-1', OTHER_ACCOUNT), 'backupVault')).toEqual([
      'must be in an allowed region (us-east-1, us-west-2)',
      'must be in an allowed account (111111111111, 222222222222)',
    ]);
  });

  it('accepts any region and account when the scope lists none', () => {
    expect(checkArn('f', vaultArn('v1', 'ap-southeast-2', OTHER_ACCOUNT), 'backupVault', ANY_SCOPE)).toEqual(
      [],
    );
  });

  it('still refuses another partition when the scope lists no accounts or regions', () => {
    expect(rulesOf('f', vaultArn('v1', 'cn-north-1', ACCOUNT, 'aws-cn'), 'backupVault', ANY_SCOPE)).toEqual([
      'must be in partition aws',
    ]);
  });

  it('accepts an aws-cn vault when the scope is aws-cn', () => {
    const scope = { partition: 'aws-cn', accounts: [], regions: [] };
    expect(checkArn('f', vaultArn('v1', 'cn-north-1', ACCOUNT, 'aws-cn'), 'backupVault', scope)).toEqual([]);
  });
});

describe('checkArn: iamRole', () => {
  it.each([
    ROLE_ARN,
    'arn:aws:iam::222222222222:role/CopyRole',
    'arn:aws:iam::111111111111:role/path/with+=,.@-chars',
  ])('accepts %s', (arn) => {
    expect(checkArn('iamRoleArn', arn, 'iamRole', SCOPE)).toEqual([]);
  });

  it.each([
    ['a user', 'arn:aws:iam::111111111111:user/bob', 'must be an IAM role ARN'],
    ['an empty role name', 'arn:aws:iam::111111111111:role/', 'must be an IAM role ARN'],
    ['a role with a space', 'arn:aws:iam::111111111111:role/my role', 'must be an IAM role ARN'],
    ['another service', 'arn:aws:sts::111111111111:role/x', 'must be a iam ARN'],
    ['no account', 'arn:aws:iam:::role/x', 'must name an account'],
    ['another account', `arn:aws:iam::${OTHER_ACCOUNT}:role/x`, 'must be in an allowed account'],
    ['another partition', 'arn:aws-us-gov:iam::111111111111:role/x', 'must be in partition aws'],
    ['malformed text', 'role/x', 'must be a well-formed ARN'],
  ])('refuses %s', (_case, value, fragment) => {
    expect(rulesOf('iamRoleArn', value, 'iamRole').join(' | ')).toContain(fragment);
  });
});

describe('checkArn: recoveryPoint', () => {
  it.each([
    ['a backup recovery point', RECOVERY_POINT_ARN],
    ['an EBS snapshot (no account in the ARN)', EBS_SNAPSHOT_ARN],
    ['an RDS snapshot', RDS_SNAPSHOT_ARN],
    ['a continuous recovery point (refused later, by checkCopyable)', CONTINUOUS_ARN],
  ])('accepts %s', (_case, arn) => {
    expect(checkArn('recoveryPointArn', arn, 'recoveryPoint', SCOPE)).toEqual([]);
  });

  it.each([
    [
      'another account',
      `arn:aws:backup:us-east-1:${OTHER_ACCOUNT}:recovery-point:x`,
      'must be in an allowed account',
    ],
    [
      'another region',
      `arn:aws:backup:eu-west-1:${ACCOUNT}:recovery-point:x`,
      'must be in an allowed region',
    ],
    [
      'an EBS snapshot in another region',
      'arn:aws:ec2:eu-west-1::snapshot/snap-1',
      'must be in an allowed region',
    ],
    [
      'another partition',
      `arn:aws-cn:backup:cn-north-1:${ACCOUNT}:recovery-point:x`,
      'must be in partition aws',
    ],
    ['no region', `arn:aws:backup::${ACCOUNT}:recovery-point:x`, 'must name a region'],
    ['malformed text', 'recovery-point:x', 'must be a well-formed ARN'],
    ['undefined', undefined, 'must be an ARN string'],
    [
      // 700 three-byte characters: within parseArn's 1,024 characters, over DynamoDB's 2,048-byte partition key.
      'an ARN of 2,153 UTF-8 bytes in 753 characters',
      `arn:aws:backup:us-east-1:${ACCOUNT}:recovery-point:${'€'.repeat(700)}`,
      "must be at most 2048 bytes of UTF-8 (DynamoDB's key limit), not 2153",
    ],
    ['a newline', `${RECOVERY_POINT_ARN}\nforged log line`, 'must not contain control characters'],
    ['a NUL', `${RECOVERY_POINT_ARN}\u0000`, 'must not contain control characters'],
    ['an escape sequence', `${RECOVERY_POINT_ARN}\u001b[31m`, 'must not contain control characters'],
    ['DEL', `${RECOVERY_POINT_ARN}\u007f`, 'must not contain control characters'],
    ['a C1 control (NEL)', `${RECOVERY_POINT_ARN}\u0085`, 'must not contain control characters'],
  ])('refuses %s', (_case, value, fragment) => {
    expect(rulesOf('recoveryPointArn', value, 'recoveryPoint').join(' | ')).toContain(fragment);
  });

  it('accepts 2,048 bytes and refuses 2,049 (multi-byte characters count as their bytes)', () => {
    const prefix = `arn:aws:backup:us-east-1:${ACCOUNT}:recovery-point:`;
    const within =
      prefix + '€'.repeat(Math.floor((2048 - prefix.length) / 3)) + 'a'.repeat((2048 - prefix.length) % 3);
    expect(Buffer.byteLength(within)).toBe(2048);
    expect(within.length).toBeLessThan(1024);
    expect(rulesOf('recoveryPointArn', within, 'recoveryPoint')).toEqual([]);
    expect(rulesOf('recoveryPointArn', `${within}a`, 'recoveryPoint')).toEqual([
      "must be at most 2048 bytes of UTF-8 (DynamoDB's key limit), not 2049",
    ]);
  });
});

describe('parseArn: control characters', () => {
  it.each(['\t', '\n', '\r', '\u0000', '\u001f', '\u007f', '\u009f'])('refuses %j anywhere', (char) => {
    expect(parseArn(`arn:aws:backup:us-east-1:${ACCOUNT}:backup-vault:${char}primary`)).toBeUndefined();
    expect(parseArn(`arn:aws:backup:us-east-1:${ACCOUNT}:backup-vault:primary${char}`)).toBeUndefined();
  });

  it('accepts printable non-ASCII (the byte limit, not parseArn, bounds it)', () => {
    expect(parseArn(`arn:aws:s3:::bücket`)?.resource).toBe('bücket');
  });
});

describe('isBackupVaultName', () => {
  it.each([
    ['2 characters', 'ab'],
    ['50 characters', 'a'.repeat(50)],
    ['digits', '01'],
    ['an underscore', 'dr_west'],
    ['a hyphen', 'dr-west'],
    ['upper case', 'DR-West'],
    ['only separators', '-_'],
  ])('accepts %s', (_case, name) => {
    expect(isBackupVaultName(name)).toBe(true);
  });

  it.each([
    ['the empty string', ''],
    ['1 character', 'a'],
    ['51 characters', 'a'.repeat(51)],
    ['a space', 'dr west'],
    ['a leading space', ' drwest'],
    ['a trailing newline', 'drwest\n'],
    ['a dot', 'dr.west'],
    ['a colon', 'dr:west'],
    ['a slash', 'dr/west'],
    ['accented letters', 'café'],
    ['non-Latin letters', 'хранилище'],
    ['an emoji', 'vault🔒'],
    ['a full-width hyphen', 'dr－west'],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
  ])('refuses %s', (_case, name) => {
    expect(isBackupVaultName(name)).toBe(false);
  });
});

describe('vaultNameFromArn', () => {
  it.each([
    [vaultArn('dr-west'), 'dr-west'],
    [vaultArn('dr_isolated', 'us-east-1', '222222222222', 'aws-cn'), 'dr_isolated'],
  ])('reads the vault name of %s', (arn, name) => {
    expect(vaultNameFromArn(arn)).toBe(name);
  });
});
