import type { RuleViolation } from '../errors.js';

export interface Arn {
  partition: string;
  service: string;
  region: string;
  accountId: string;
  resource: string;
}

export const PARTITIONS = ['aws', 'aws-cn', 'aws-us-gov'] as const;

// arn:partition:service:region:account-id:resource — region and account may be empty (IAM, EC2 snapshots).
const ARN_PATTERN = /^arn:([a-z-]+):([a-z0-9-]+):([a-z0-9-]*):(\d{12})?:(.+)$/;
const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d$/;
const MAX_ARN_LENGTH = 1024;
/** C0 and C1 control characters and DEL: no ARN has them, and they would forge lines in logs and reports. */
function hasControlCharacter(text: string): boolean {
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

/**
 * DynamoDB's key limits, in UTF-8 bytes: a partition key at most 2,048, a sort key at most 1,024
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-partition-sort-keys).
 * The ledger's keys are (recoveryPointArn, destinationVaultArn).
 */
export const MAX_PARTITION_KEY_BYTES = 2048;
export const MAX_SORT_KEY_BYTES = 1024;

/** Why `text` cannot be a ledger key of at most `maxBytes`, if it cannot. */
export function keyRule(text: string, maxBytes: number): string | undefined {
  if (hasControlCharacter(text)) return 'must not contain control characters';
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes > maxBytes
    ? `must be at most ${maxBytes} bytes of UTF-8 (DynamoDB's key limit), not ${bytes}`
    : undefined;
}

export function parseArn(text: string): Arn | undefined {
  if (text.length > MAX_ARN_LENGTH || hasControlCharacter(text)) return undefined;
  const match = ARN_PATTERN.exec(text);
  if (!match) return undefined;
  const [, partition = '', service = '', region = '', accountId = '', resource = ''] = match;
  if (!(PARTITIONS as readonly string[]).includes(partition)) return undefined;
  if (region !== '' && !REGION_PATTERN.test(region)) return undefined;
  return { partition, service, region, accountId, resource };
}

/** Where ARNs may point: the partition the service runs in, and the accounts/regions allowed there. */
export interface ArnScope {
  partition: string;
  /** Allowed account ids; empty means any. */
  accounts: readonly string[];
  /** Allowed regions; empty means any. */
  regions: readonly string[];
}

interface ArnExpectation {
  service: string;
  /** UTF-8 bytes at most: what the ledger can hold as this ARN's key (or AWS's own limit). */
  maxBytes: number;
  /** Checks the resource part, e.g. `backup-vault:<name>`; returns the rule broken, if any. */
  resource: (resource: string) => string | undefined;
  needsRegion: boolean;
  needsAccount: boolean;
}

const BACKUP_VAULT_NAME = /^[a-zA-Z0-9\-_]{2,50}$/;

const EXPECTATIONS = {
  backupVault: {
    service: 'backup',
    maxBytes: MAX_SORT_KEY_BYTES,
    needsRegion: true,
    needsAccount: true,
    resource: (r) =>
      r.startsWith('backup-vault:') && BACKUP_VAULT_NAME.test(r.slice('backup-vault:'.length))
        ? undefined
        : 'must be a backup vault ARN (arn:<partition>:backup:<region>:<account>:backup-vault:<name>)',
  },
  iamRole: {
    service: 'iam',
    maxBytes: MAX_PARTITION_KEY_BYTES,
    needsRegion: false,
    needsAccount: true,
    resource: (r) =>
      /^role\/[\w+=,.@/-]{1,512}$/.test(r)
        ? undefined
        : 'must be an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)',
  },
  recoveryPoint: {
    service: '*',
    maxBytes: MAX_PARTITION_KEY_BYTES,
    needsRegion: true,
    needsAccount: false,
    resource: (r) => (r.length > 0 ? undefined : 'must name a recovery point'),
  },
} satisfies Record<string, ArnExpectation>;

export type ArnKind = keyof typeof EXPECTATIONS;

/** Checks an ARN's shape, partition, region and account; returns every rule it breaks. */
export function checkArn(field: string, value: unknown, kind: ArnKind, scope: ArnScope): RuleViolation[] {
  if (typeof value !== 'string') return [{ field, value, rule: 'must be an ARN string' }];
  const expected: ArnExpectation = EXPECTATIONS[kind];
  const tooBig = keyRule(value, expected.maxBytes);
  if (tooBig) return [{ field, value, rule: tooBig }];
  const arn = parseArn(value);
  if (!arn) return [{ field, value, rule: 'must be a well-formed ARN (arn:<partition>:<service>:...)' }];
  const violations: RuleViolation[] = [];
  const add = (rule: string) => violations.push({ field, value, rule });
  if (expected.service !== '*' && arn.service !== expected.service) add(`must be a ${expected.service} ARN`);
  const resourceRule = expected.resource(arn.resource);
  if (resourceRule) add(resourceRule);
  if (arn.partition !== scope.partition) add(`must be in partition ${scope.partition}`);
  if (expected.needsRegion && arn.region === '') add('must name a region');
  if (expected.service === 'iam' && arn.region !== '') add('must not name a region (IAM is global)');
  if (arn.region !== '' && scope.regions.length > 0 && !scope.regions.includes(arn.region)) {
    add(`must be in an allowed region (${scope.regions.join(', ')})`);
  }
  if (expected.needsAccount && arn.accountId === '') add('must name an account');
  if (arn.accountId !== '' && scope.accounts.length > 0 && !scope.accounts.includes(arn.accountId)) {
    add(`must be in an allowed account (${scope.accounts.join(', ')})`);
  }
  return violations;
}

export function vaultNameFromArn(vaultArn: string): string {
  return vaultArn.slice(vaultArn.indexOf(':backup-vault:') + ':backup-vault:'.length);
}

export function isBackupVaultName(name: unknown): name is string {
  return typeof name === 'string' && BACKUP_VAULT_NAME.test(name);
}
