import * as z from 'zod';
import { InvalidInputError, type RuleViolation } from '../errors.js';
import { type ArnScope, checkArn, isBackupVaultName, keyRule, MAX_PARTITION_KEY_BYTES } from './arn.js';
import { violationsFromZod } from './violations.js';

const MAX_TEXT = 2048;
const text = z.string().max(MAX_TEXT);

/** What every execution works from, whatever started it. */
export const CopyRequestSchema = z.object({
  recoveryPointArn: text,
  sourceBackupVaultName: text,
  /** Operator override: copy only to these of the policy's destinations. */
  destinations: z.array(text).min(1).max(50).optional(),
  origin: z.enum(['Backup Job State Change', 'Recovery Point State Change', 'manual']),
  eventId: text.optional(),
  eventTime: text.optional(),
});

export type CopyRequest = z.infer<typeof CopyRequestSchema>;

// Events are best-effort and loosely typed (numbers as strings, `{}` placeholders): read only what we use.
const EnvelopeSchema = z.object({
  version: text,
  id: text,
  'detail-type': text,
  source: z.literal('aws.backup'),
  account: text,
  time: text,
  region: text,
  resources: z.array(text).max(10),
  detail: z.record(z.string(), z.unknown()),
});

const BackupJobDetail = z.object({ state: z.literal('COMPLETED'), backupVaultName: text });
/** AVAILABLE is what newer resource types report once a recovery point is usable. */
const RecoveryPointDetail = z.object({ status: z.enum(['COMPLETED', 'AVAILABLE']), backupVaultName: text });

const ManualSchema = CopyRequestSchema.pick({
  recoveryPointArn: true,
  sourceBackupVaultName: true,
  destinations: true,
}).strict();

/** A Map, not an object: a detail-type of `__proto__` or `constructor` must find nothing. */
const DETAIL_TYPES = new Map<string, z.ZodType<{ backupVaultName: string }>>([
  ['Backup Job State Change', BackupJobDetail],
  ['Recovery Point State Change', RecoveryPointDetail],
]);

function isEvent(input: unknown): input is { 'detail-type': unknown } {
  return typeof input === 'object' && input !== null && 'detail-type' in input;
}

function parseOrReject<T>(schema: z.ZodType<T>, input: unknown, prefix: string, summary: string): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new InvalidInputError(violationsFromZod(parsed.error, input, prefix), summary);
  return parsed.data;
}

function fromEvent(input: unknown, scope: ArnScope): CopyRequest {
  const event = parseOrReject(EnvelopeSchema, input, '', 'not an AWS Backup event');
  const detailType = event['detail-type'];
  const detailSchema = DETAIL_TYPES.get(detailType);
  if (!detailSchema) {
    throw new InvalidInputError([
      {
        field: 'detail-type',
        value: detailType,
        rule: `must be one of ${[...DETAIL_TYPES.keys()].join(', ')}`,
      },
    ]);
  }
  const origin = detailType as CopyRequest['origin'];
  const detail = parseOrReject(detailSchema, event.detail, 'detail', `${origin} event not copyable`);
  // The envelope is the only word on the source account for ARNs without one (EBS snapshots, AMIs).
  const outside: RuleViolation[] = [];
  if (scope.accounts.length > 0 && !scope.accounts.includes(event.account)) {
    outside.push({
      field: 'account',
      value: event.account,
      rule: `must be an allowed account (${scope.accounts.join(', ')})`,
    });
  }
  if (scope.regions.length > 0 && !scope.regions.includes(event.region)) {
    outside.push({
      field: 'region',
      value: event.region,
      rule: `must be an allowed region (${scope.regions.join(', ')})`,
    });
  }
  if (outside.length > 0)
    throw new InvalidInputError(outside, 'event from outside the allowed accounts and regions');
  // The recovery point ARN is only in resources[0]; detail has no recoveryPointArn (AWS Backup event reference).
  const [recoveryPointArn] = event.resources;
  if (recoveryPointArn === undefined) {
    throw new InvalidInputError([
      { field: 'resources[0]', value: undefined, rule: 'must hold the recovery point ARN' },
    ]);
  }
  return {
    recoveryPointArn,
    sourceBackupVaultName: detail.backupVaultName,
    origin,
    eventId: event.id,
    eventTime: event.time,
  };
}

/**
 * Normalizes any accepted execution input — a "Backup Job State Change" or "Recovery Point State Change"
 * event (first delivery or re-driven), or an operator's `{recoveryPointArn, sourceBackupVaultName}` —
 * and checks its ARNs against the allowed accounts and regions.
 */
export function normalizeInput(input: unknown, scope: ArnScope): CopyRequest {
  const request: CopyRequest = isEvent(input)
    ? fromEvent(input, scope)
    : { ...parseOrReject(ManualSchema, input, '', 'not a manual copy request'), origin: 'manual' };
  const violations: RuleViolation[] = [
    ...checkArn('recoveryPointArn', request.recoveryPointArn, 'recoveryPoint', scope),
  ];
  if (!isBackupVaultName(request.sourceBackupVaultName)) {
    violations.push({
      field: 'sourceBackupVaultName',
      value: request.sourceBackupVaultName,
      rule: 'must match ^[a-zA-Z0-9\\-\\_]{2,50}$ (StartCopyJob SourceBackupVaultName)',
    });
  }
  request.destinations?.forEach((vaultArn, i) => {
    violations.push(...checkArn(`destinations[${i}]`, vaultArn, 'backupVault', scope));
  });
  if (violations.length > 0) throw new InvalidInputError(violations, 'input refused');
  return request;
}

/** The recovery point an input names, if it names one at all: where a rejection is recorded. */
export function findRecoveryPointArn(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const candidate = isEvent(input)
    ? (input as { resources?: unknown }).resources
    : [(input as { recoveryPointArn?: unknown }).recoveryPointArn];
  const first = Array.isArray(candidate) ? candidate[0] : undefined;
  // Anything the ledger cannot hold as a partition key (too many UTF-8 bytes, control characters) is keyed
  // by a digest instead (rejectedInputKey).
  return typeof first === 'string' &&
    first.startsWith('arn:') &&
    keyRule(first, MAX_PARTITION_KEY_BYTES) === undefined
    ? first
    : undefined;
}
