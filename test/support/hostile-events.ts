/**
 * fast-check arbitraries of hostile intake input: the sample events in events/ and the operator's manual
 * input, each broken by one to three mutations, plus values that are not objects at all. Every mutation
 * makes its input one the service must refuse, whatever the other mutations do: a mutation only writes a
 * value that is invalid where it is written (or removes a required field), and never a valid one.
 *
 * Each generated case says which fields a refusal may name (`fields`, any one suffices: the intake reports
 * the first stage that fails, envelope before detail before ARN checks) and what made it hostile (`kinds`).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { COPY_ROLE, DR_ISOLATED, DR_WEST, policyFor } from '../../local/factories.js';

/** The scope the tests' policy allows; anything outside it is refused. */
const { allowed } = policyFor();

export type HostileKind =
  | 'missing-field'
  | 'wrong-type'
  | 'huge-string'
  | 'foreign-arn'
  | 'malformed-arn'
  | 'injection-vault-name'
  | 'unicode'
  | 'prototype-pollution'
  | 'unknown-key'
  | 'foreign-destination'
  | 'non-completion'
  | 'wrong-source'
  | 'list-size'
  | 'not-an-object';

export const HOSTILE_KINDS: readonly HostileKind[] = [
  'missing-field',
  'wrong-type',
  'huge-string',
  'foreign-arn',
  'malformed-arn',
  'injection-vault-name',
  'unicode',
  'prototype-pollution',
  'unknown-key',
  'foreign-destination',
  'non-completion',
  'wrong-source',
  'list-size',
  'not-an-object',
];

type Path = readonly (string | number)[];

/** One change to a base input, as data so that fast-check prints (and shrinks) it readably. */
export type Mutation = { kind: HostileKind; path: Path; fields: string[] } & (
  | { op: 'set'; value: unknown }
  | { op: 'delete' }
  /** Removes the field and offers it only through `__proto__` or `constructor.prototype`. */
  | { op: 'hide'; via: '__proto__' | 'constructor' }
);

export interface HostileInput {
  base: BaseName | 'none';
  mutations: Mutation[];
  kinds: HostileKind[];
  /** A refusal must name at least one of these fields. */
  fields: string[];
  /** The input as a Lambda or StartExecution receives it: the result of a JSON round trip. */
  input: unknown;
}

// ---------------------------------------------------------------------------------------------------------------
// Bases: valid inputs, so that every refusal is a mutation's doing (the tests check they are accepted)
// ---------------------------------------------------------------------------------------------------------------

const sample = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../events/${file}`, import.meta.url), 'utf8'));

export const BASES = {
  backupJob: sample('backup-job-completed.json'),
  recoveryPoint: sample('recovery-point-completed.json'),
  manual: sample('manual-redrive.json'),
  manualWithDestinations: { ...sample('manual-redrive.json'), destinations: [DR_WEST, DR_ISOLATED] },
} as const;

export type BaseName = keyof typeof BASES;

const MANUAL_KEYS = ['recoveryPointArn', 'sourceBackupVaultName', 'destinations'];
/** Without `detail-type` an event is read as a manual input, which then lacks both required fields. */
const AS_MANUAL_FIELDS = ['recoveryPointArn', 'sourceBackupVaultName'];
const ENVELOPE_TEXT_FIELDS = ['version', 'id', 'detail-type', 'source', 'account', 'time', 'region'] as const;
/** AWS Backup's pattern for BackupVaultName (StartCopyJob SourceBackupVaultName). */
const BACKUP_VAULT_NAME = /^[a-zA-Z0-9\-_]{2,50}$/;
const MAX_TEXT = 2048;

// ---------------------------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------------------------

const smallJson = fc.jsonValue({ maxDepth: 2 });
const smallObject = fc.dictionary(fc.string({ maxLength: 8 }), smallJson, { minKeys: 1, maxKeys: 3 });

/** Anything but a string: numbers (NaN and Infinity become null), booleans, null, arrays, objects. */
const notAString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
  smallObject,
  fc.constant({}),
  fc.constant(['primary']),
);
const notAList = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 20 }),
  fc.constant(DR_WEST),
  smallObject,
  fc.constant({ 0: DR_WEST }),
);
const notAnObjectValue = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 20 }),
  fc.array(smallJson, { maxLength: 3 }),
  fc.constant([BASES.backupJob.detail]),
);

/**
 * A string of `min`..`max` characters (code points, which is what zod's `max` counts) made of a repeated
 * piece: ASCII, multi-byte, astral, control or injection text.
 */
export const longText = (min: number, max = 100_000) =>
  fc
    .tuple(
      fc.oneof(
        fc.constantFrom('A', 'x', 'é', '€', '😀', '\u202e', "'; DROP TABLE ledger;--", '../'),
        fc.string({ minLength: 1, maxLength: 4, unit: 'binary' }),
      ),
      fc.integer({ min, max }),
    )
    .map(([piece, length]) => [...piece.repeat(length)].slice(0, length).join(''));

const nonAsciiChar = fc.oneof(
  fc.constantFrom(
    '\u200f', // right-to-left mark
    '\u200e', // left-to-right mark
    '\u202e', // right-to-left override
    '\u200b', // zero-width space
    '\ufeff', // byte order mark
    '\u00a0', // no-break space
    '\u0301', // combining acute accent
    '\u2028', // line separator
    '😀',
    '🔥',
    'é',
    '中',
  ),
  fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }).filter((c) => (c.codePointAt(0) ?? 0) > 0x7f),
);

const HOMOGLYPHS: Record<string, string> = {
  a: 'а', // Cyrillic
  c: 'с',
  e: 'е',
  i: 'і',
  o: 'о',
  p: 'р',
  x: 'х',
  y: 'у',
  A: 'А',
  B: 'В',
  C: 'С',
  E: 'Е',
  H: 'Н',
  K: 'К',
  M: 'М',
  O: 'О',
  P: 'Р',
  T: 'Т',
  s: 'ѕ',
  '-': '‐', // hyphen U+2010
  ':': '：', // full-width colon
  '1': '١', // Arabic-Indic one
  '2': '２', // full-width two
};

/**
 * `valid` with one non-ASCII character slipped in or one character swapped for a look-alike, within its
 * first `within` characters (default all): `primary` becomes `primаry` (Cyrillic а) or `pri\u200fmary`.
 */
function unicodeVariant(valid: string, within = valid.length): fc.Arbitrary<string> {
  const swappable = [...valid.slice(0, within)].flatMap((c, i) => (HOMOGLYPHS[c] ? [i] : []));
  const inserted = fc
    .tuple(fc.nat({ max: within }), nonAsciiChar)
    .map(([at, c]) => `${valid.slice(0, at)}${c}${valid.slice(at)}`);
  if (swappable.length === 0) return inserted;
  const swapped = fc
    .constantFrom(...swappable)
    .map((at) => `${valid.slice(0, at)}${HOMOGLYPHS[valid[at] as string]}${valid.slice(at + 1)}`);
  return fc.oneof(inserted, swapped);
}

/** How far the strictly checked part of an ARN goes: everything before the resource. */
const beforeResource = (arn: string) => arn.split(':').slice(0, 5).join(':').length;

const INJECTIONS = [
  '../',
  '..\\..\\',
  "'; DROP TABLE ledger;--",
  '" OR "1"="1',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, meant literally
  '${}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell-style probe, meant literally
  '${jndi:ldap://127.0.0.1/x}',
  '{{7*7}}',
  '#{7*7}',
  '%00',
  '\u0000',
  '\n',
  '\r\n',
  '<script>alert(1)</script>',
  '$(id)',
  '`id`',
  '; rm -rf /',
  '| cat /etc/passwd',
  ' ',
  '*',
  '?',
  '/',
  ':',
  '%2F',
];

/** A name AWS Backup refuses: an injection piece inside a plausible name, or any string outside the pattern. */
export const invalidVaultName: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(
      fc.stringMatching(/^[a-z0-9_-]{0,10}$/),
      fc.constantFrom(...INJECTIONS),
      fc.stringMatching(/^[a-z0-9_-]{0,10}$/),
    )
    .map((parts) => parts.join('')),
  fc.constantFrom('', 'p', 'primary '.repeat(7), 'a'.repeat(51), 'prim ary', 'primary\n'),
  fc.string({ unit: 'binary', maxLength: 60 }).filter((name) => !BACKUP_VAULT_NAME.test(name)),
);

const otherAccount = fc.oneof(
  fc.constantFrom('000000000000', '333333333333', '999999999999', '123456789012'),
  fc.stringMatching(/^\d{12}$/).filter((account) => !allowed.accounts.includes(account)),
);
const otherRegion = fc.oneof(
  fc.constantFrom('eu-west-1', 'us-east-2', 'ap-southeast-2', 'cn-north-1', 'us-gov-west-1', 'il-central-1'),
  fc.stringMatching(/^[a-z]{2}-[a-z]{4,9}-\d$/).filter((region) => !allowed.regions.includes(region)),
);
const otherPartition = fc.constantFrom(
  'aws-cn',
  'aws-us-gov',
  'aws-iso',
  'aws-iso-b',
  'aws-eusc',
  'aws-fake',
);

/** A partition, region and account of which at least one is outside the allowed scope. */
const foreignPlace = fc
  .record({
    partition: fc.option(otherPartition, { nil: undefined }),
    region: fc.option(otherRegion, { nil: undefined }),
    account: fc.option(otherAccount, { nil: undefined }),
  })
  .filter((place) => Object.values(place).some((part) => part !== undefined))
  .map(({ partition, region, account }) => ({
    partition: partition ?? allowed.partition,
    region: region ?? (allowed.regions[0] as string),
    account: account ?? (allowed.accounts[0] as string),
    accountIsForeign: account !== undefined,
  }));

/** A recovery point ARN of another partition, account or region (an EBS snapshot ARN carries no account). */
export const foreignRecoveryPointArn: fc.Arbitrary<string> = fc
  .tuple(foreignPlace, fc.uuid(), fc.constantFrom('backup', 'rds', 'ec2'))
  .map(([{ partition, region, account, accountIsForeign }, id, service]) => {
    if (service === 'rds') return `arn:${partition}:rds:${region}:${account}:snapshot:awsbackup:job-${id}`;
    if (service === 'ec2' && !accountIsForeign) return `arn:${partition}:ec2:${region}::snapshot/snap-${id}`;
    return `arn:${partition}:backup:${region}:${account}:recovery-point:${id}`;
  });

const ALLOWED_RECOVERY_POINT = BASES.manual.recoveryPointArn as string;

/** Strings that are not well-formed ARNs, or name no region; none is a usable recovery point ARN. */
export const malformedArn: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'arn',
    'arn:aws',
    'recovery-point:f1d966fe',
    'f1d966fe-a3bd-410b-b292-99f442d13b56',
    `arn:aws:backup:us-east-1:${allowed.accounts[0]}:`,
    `arn:aws:backup::${allowed.accounts[0]}:recovery-point:x`,
    `arn:aws:backup:us-east-1:11111111111:recovery-point:x`,
    `arn:aws:backup:us-east-1:1111111111111:recovery-point:x`,
    `arn:aws:backup:US-EAST-1:${allowed.accounts[0]}:recovery-point:x`,
    `arn:aws:backup:us-east-1;id:${allowed.accounts[0]}:recovery-point:x`,
    `ARN:aws:backup:us-east-1:${allowed.accounts[0]}:recovery-point:x`,
    ` ${ALLOWED_RECOVERY_POINT}`,
    `${ALLOWED_RECOVERY_POINT}\n`,
    `${ALLOWED_RECOVERY_POINT}\nforce`,
    `arn:aws:backup:us-east-1:${allowed.accounts[0]}:recovery-point:x\r\nX-Injected: 1`,
    // Control characters the ARN pattern's `.` once let through: NUL, tab, an ANSI escape, DEL, C1 NEL.
    `${ALLOWED_RECOVERY_POINT}\u0000`,
    `${ALLOWED_RECOVERY_POINT}\tx`,
    `${ALLOWED_RECOVERY_POINT}\u001b[31m`,
    `${ALLOWED_RECOVERY_POINT}\u007f`,
    `${ALLOWED_RECOVERY_POINT}\u0085`,
  ),
  // Within an ARN's 1,024 characters but over DynamoDB's 2,048-byte partition key, in three-byte UTF-8.
  fc
    .integer({
      min: Math.ceil((2049 - ALLOWED_RECOVERY_POINT.length) / 3),
      max: 1024 - ALLOWED_RECOVERY_POINT.length,
    })
    .map((n) => `${ALLOWED_RECOVERY_POINT}${'€'.repeat(n)}`),
  // Longer than an ARN can be (1024) but within the intake's text limit (2048), in one- to three-byte UTF-8.
  fc
    .tuple(
      fc.constantFrom('x', 'é', '€'),
      fc.integer({ min: 1025 - ALLOWED_RECOVERY_POINT.length, max: 2048 - ALLOWED_RECOVERY_POINT.length }),
    )
    .map(([pad, n]) => `${ALLOWED_RECOVERY_POINT}${pad.repeat(n)}`),
);

/** A recovery point ARN broken by unicode in its checked part (partition, service, region, account). */
const unicodeRecoveryPointArn = unicodeVariant(
  ALLOWED_RECOVERY_POINT,
  beforeResource(ALLOWED_RECOVERY_POINT),
);

/** A destination the intake must refuse: outside the allowed scope, not a vault, or a vault name AWS refuses. */
export const foreignDestination: fc.Arbitrary<string> = fc.oneof(
  foreignPlace.map(
    ({ partition, region, account }) => `arn:${partition}:backup:${region}:${account}:backup-vault:dr-west`,
  ),
  invalidVaultName.map((name) => `${DR_WEST.slice(0, DR_WEST.lastIndexOf(':') + 1)}${name}`),
  fc.constantFrom(
    'dr-west',
    ALLOWED_RECOVERY_POINT,
    COPY_ROLE,
    'arn:aws:s3:::dr-west',
    `arn:aws:backup:us-west-2:${allowed.accounts[0]}:backup-plan:dr-west`,
    `arn:aws:backup:us-west-2::backup-vault:dr-west`,
    `arn:aws:backup::${allowed.accounts[0]}:backup-vault:dr-west`,
    `arn:aws:backup:us-west-2:${allowed.accounts[0]}:backup-vault:`,
    `arn:aws:backup:us-west-2:${allowed.accounts[0]}:backup-vault/dr-west`,
  ),
);

const notCompletedState = fc.oneof(
  fc.constantFrom(
    'CREATED',
    'PENDING',
    'RUNNING',
    'ABORTING',
    'ABORTED',
    'FAILED',
    'EXPIRED',
    'PARTIAL',
    'completed',
    'Completed',
    ' COMPLETED',
    'COMPLETED\n',
    '',
  ),
  fc.string().filter((state) => state !== 'COMPLETED'),
);
const unusableStatus = fc.oneof(
  fc.constantFrom('PARTIAL', 'DELETING', 'EXPIRED', 'STOPPED', 'CREATING', 'available', 'COMPLETED ', ''),
  fc.string().filter((status) => status !== 'COMPLETED' && status !== 'AVAILABLE'),
);
const COMPLETION_DETAIL_TYPES = ['Backup Job State Change', 'Recovery Point State Change'];
const otherDetailType = fc.oneof(
  fc.constantFrom(
    'Copy Job State Change',
    'Restore Job State Change',
    'Backup Vault State Change',
    'Backup Plan State Change',
    'Region Setting State Change',
    'Backup Job State Change ',
    'backup job state change',
    'AWS API Call via CloudTrail',
    '',
  ),
  fc.string().filter((type) => !COMPLETION_DETAIL_TYPES.includes(type)),
);
const otherSource = fc.oneof(
  fc.constantFrom('aws.ec2', 'aws.backup ', 'AWS.BACKUP', 'aws.backupgateway', 'custom.backup', 'aws', ''),
  fc.string().filter((source) => source !== 'aws.backup'),
);

/** Keys the manual input does not have: tempting ones (`origin`, `force`, case and look-alikes), empty, random, huge. */
const unknownKey = fc.oneof(
  fc.constantFrom(
    'origin',
    'force',
    'eventId',
    'destinationVaultArn',
    'iamRoleArn',
    'lifecycle',
    'detail',
    'RecoveryPointArn',
    'recoveryPointARN',
    'sourceBackupVaultName ',
    'sourceBackupVaultNamе',
    'destination',
    'toString',
    'hasOwnProperty',
    '',
  ),
  fc.string({ maxLength: 40 }).filter((key) => !MANUAL_KEYS.includes(key)),
  longText(MAX_TEXT + 1),
);

// ---------------------------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------------------------

const set = (kind: HostileKind, path: Path, value: unknown, fields: string[]): Mutation => ({
  kind,
  op: 'set',
  path,
  value,
  fields,
});
const remove = (kind: HostileKind, path: Path, fields: string[]): Mutation => ({
  kind,
  op: 'delete',
  path,
  fields,
});
const hide = (path: Path, via: '__proto__' | 'constructor', fields: string[]): Mutation => ({
  kind: 'prototype-pollution',
  op: 'hide',
  path,
  via,
  fields,
});
const via = fc.constantFrom('__proto__' as const, 'constructor' as const);

/** A `destinations` list of allowed vaults with `hostile` at a random position. */
const destinationsWith = (kind: HostileKind, hostile: fc.Arbitrary<unknown>) =>
  fc
    .tuple(fc.nat({ max: 3 }), fc.nat({ max: 3 }), hostile)
    .map(([before, after, value]) =>
      set(
        kind,
        ['destinations'],
        [...Array(before).fill(DR_WEST), value, ...Array(after).fill(DR_ISOLATED)],
        [`destinations[${before}]`],
      ),
    );

function eventMutations(base: 'backupJob' | 'recoveryPoint'): fc.Arbitrary<Mutation> {
  const completion = base === 'backupJob' ? 'state' : 'status';
  const detailType = BASES[base]['detail-type'] as string;
  const completed = base === 'backupJob' ? 'COMPLETED' : 'AVAILABLE';
  const resource = (BASES[base].resources as string[])[0] as string;
  const envelopeText = fc.constantFrom(...ENVELOPE_TEXT_FIELDS);
  const fieldsOf = (field: string) => (field === 'detail-type' ? AS_MANUAL_FIELDS : [field]);
  const vaultName = ['detail', 'backupVaultName'];
  const vaultNameFields = ['detail.backupVaultName', 'sourceBackupVaultName'];
  const resourceFields = ['resources[0]', 'recoveryPointArn'];
  return fc.oneof(
    fc
      .constantFrom(...ENVELOPE_TEXT_FIELDS, 'resources', 'detail')
      .map((field) => remove('missing-field', [field], fieldsOf(field))),
    fc
      .constantFrom('backupVaultName', completion)
      .map((field) => remove('missing-field', ['detail', field], [`detail.${field}`])),
    fc.tuple(envelopeText, notAString).map(([field, value]) => set('wrong-type', [field], value, [field])),
    notAList.map((value) => set('wrong-type', ['resources'], value, ['resources'])),
    fc
      .tuple(fc.nat({ max: 3 }), notAString)
      .map(([i, value]) => set('wrong-type', ['resources', i], value, [`resources[${i}]`])),
    notAnObjectValue.map((value) => set('wrong-type', ['detail'], value, ['detail'])),
    fc
      .tuple(fc.constantFrom('backupVaultName', completion), notAString)
      .map(([field, value]) => set('wrong-type', ['detail', field], value, [`detail.${field}`])),
    fc
      .tuple(envelopeText, longText(MAX_TEXT + 1))
      .map(([field, value]) => set('huge-string', [field], value, [field])),
    longText(MAX_TEXT + 1).map((value) => set('huge-string', ['resources', 0], value, ['resources[0]'])),
    longText(51).map((value) => set('huge-string', vaultName, value, vaultNameFields)),
    foreignRecoveryPointArn.map((arn) => set('foreign-arn', ['resources', 0], arn, resourceFields)),
    // The envelope says where the event comes from; for an EBS snapshot (no account in its ARN) only it does.
    otherAccount.map((account) => set('foreign-arn', ['account'], account, ['account'])),
    otherRegion.map((region) => set('foreign-arn', ['region'], region, ['region'])),
    malformedArn.map((arn) => set('malformed-arn', ['resources', 0], arn, resourceFields)),
    invalidVaultName.map((name) => set('injection-vault-name', vaultName, name, vaultNameFields)),
    unicodeVariant('primary').map((name) => set('unicode', vaultName, name, vaultNameFields)),
    unicodeVariant('aws.backup').map((source) => set('unicode', ['source'], source, ['source'])),
    unicodeVariant(detailType).map((type) => set('unicode', ['detail-type'], type, ['detail-type'])),
    unicodeVariant(completed).map((value) =>
      set('unicode', ['detail', completion], value, [`detail.${completion}`]),
    ),
    unicodeVariant(resource, beforeResource(resource)).map((arn) =>
      set('unicode', ['resources', 0], arn, resourceFields),
    ),
    otherDetailType.map((type) => set('non-completion', ['detail-type'], type, ['detail-type'])),
    (base === 'backupJob' ? notCompletedState : unusableStatus).map((value) =>
      set('non-completion', ['detail', completion], value, [`detail.${completion}`]),
    ),
    otherSource.map((source) => set('wrong-source', ['source'], source, ['source'])),
    fc.constant(set('list-size', ['resources'], [], ['resources[0]'])),
    fc
      .integer({ min: 11, max: 200 })
      .map((n) => set('list-size', ['resources'], Array(n).fill(resource), ['resources'])),
    fc
      .tuple(fc.constantFrom(...ENVELOPE_TEXT_FIELDS, 'resources', 'detail'), via)
      .map(([field, through]) => hide([field], through, fieldsOf(field))),
    fc
      .tuple(fc.constantFrom('backupVaultName', completion), via)
      .map(([field, through]) => hide(['detail', field], through, [`detail.${field}`])),
  );
}

const manualMutations: fc.Arbitrary<Mutation> = fc.oneof(
  fc
    .constantFrom('recoveryPointArn', 'sourceBackupVaultName')
    .map((field) => remove('missing-field', [field], [field])),
  fc
    .tuple(fc.constantFrom('recoveryPointArn', 'sourceBackupVaultName'), notAString)
    .map(([field, value]) => set('wrong-type', [field], value, [field])),
  notAList.map((value) => set('wrong-type', ['destinations'], value, ['destinations'])),
  destinationsWith('wrong-type', notAString),
  longText(MAX_TEXT + 1).map((arn) => set('huge-string', ['recoveryPointArn'], arn, ['recoveryPointArn'])),
  longText(51).map((name) => set('huge-string', ['sourceBackupVaultName'], name, ['sourceBackupVaultName'])),
  destinationsWith('huge-string', longText(MAX_TEXT + 1)),
  foreignRecoveryPointArn.map((arn) => set('foreign-arn', ['recoveryPointArn'], arn, ['recoveryPointArn'])),
  malformedArn.map((arn) => set('malformed-arn', ['recoveryPointArn'], arn, ['recoveryPointArn'])),
  invalidVaultName.map((name) =>
    set('injection-vault-name', ['sourceBackupVaultName'], name, ['sourceBackupVaultName']),
  ),
  unicodeVariant('primary').map((name) =>
    set('unicode', ['sourceBackupVaultName'], name, ['sourceBackupVaultName']),
  ),
  unicodeRecoveryPointArn.map((arn) => set('unicode', ['recoveryPointArn'], arn, ['recoveryPointArn'])),
  destinationsWith('unicode', unicodeVariant(DR_WEST)),
  destinationsWith('foreign-destination', foreignDestination),
  fc.constant(set('list-size', ['destinations'], [], ['destinations'])),
  fc
    .integer({ min: 51, max: 200 })
    .map((n) => set('list-size', ['destinations'], Array(n).fill(DR_WEST), ['destinations'])),
  fc.tuple(unknownKey, smallJson).map(([key, value]) => set('unknown-key', [key], value, [key])),
  fc
    .tuple(
      fc.constantFrom('__proto__', 'constructor', 'prototype'),
      fc.constantFrom<unknown>(
        { isAdmin: true },
        { destinations: [DR_WEST] },
        { recoveryPointArn: ALLOWED_RECOVERY_POINT },
        { prototype: { origin: 'manual' } },
      ),
    )
    .map(([key, value]) => set('prototype-pollution', [key], value, [key])),
  fc
    .tuple(fc.constantFrom('recoveryPointArn', 'sourceBackupVaultName'), via)
    .map(([field, through]) => hide([field], through, [field, through])),
);

// ---------------------------------------------------------------------------------------------------------------
// Applying mutations
// ---------------------------------------------------------------------------------------------------------------

type Container = Record<string | number, unknown>;

const isContainer = (value: unknown): value is Container => typeof value === 'object' && value !== null;

/** Sets an own property, even one named `__proto__` (plain assignment would change the prototype). */
function define(target: Container, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The container holding `path`'s last key, or undefined when an earlier mutation removed or replaced it. */
function parentOf(root: Container, path: Path): Container | undefined {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (!isContainer(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return isContainer(node) ? node : undefined;
}

function apply(root: Container, mutation: Mutation): void {
  const parent = parentOf(root, mutation.path);
  const key = mutation.path.at(-1);
  if (!parent || key === undefined) return;
  // A copy: fast-check hands out the same constant to many runs, and later mutations write into it.
  if (mutation.op === 'set') {
    define(parent, key, toJson(mutation.value));
  } else if (Object.hasOwn(parent, key)) {
    const value = parent[key];
    delete parent[key];
    if (mutation.op === 'hide') {
      const decoy = mutation.via === '__proto__' ? { [key]: value } : { prototype: { [key]: value } };
      define(parent, mutation.via, decoy);
    }
  }
}

/** What a Lambda or StartExecution receives: JSON text parsed back (own `__proto__` keys survive this). */
function toJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value) ?? 'null');
}

function mutated(bases: BaseName[], mutations: fc.Arbitrary<Mutation>): fc.Arbitrary<HostileInput> {
  return fc
    .tuple(fc.constantFrom(...bases), fc.array(mutations, { minLength: 1, maxLength: 3 }))
    .map(([base, changes]) => {
      const input = toJson(BASES[base]) as Container;
      for (const mutation of changes) apply(input, mutation);
      return {
        base,
        mutations: changes,
        kinds: [...new Set(changes.map((m) => m.kind))],
        fields: [...new Set(changes.flatMap((m) => m.fields))],
        input: toJson(input),
      };
    });
}

/** JSON that is not an object: null, numbers, booleans, strings (a whole input, JSON-encoded), arrays. */
const notAnObject: fc.Arbitrary<HostileInput> = fc
  .oneof(
    fc.constant(null),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.string({ maxLength: 40 }),
    fc.constantFrom(...Object.values(BASES)).map((base) => JSON.stringify(base)),
    fc.constantFrom(...Object.values(BASES)).map((base) => [base]),
    fc.array(smallJson, { maxLength: 4 }),
  )
  .map((input) => ({
    base: 'none' as const,
    mutations: [],
    kinds: ['not-an-object' as const],
    fields: ['(root)'],
    input: toJson(input),
  }));

/** Any hostile intake input: a broken event of either kind, a broken manual input, or not an object at all. */
export const hostileInput: fc.Arbitrary<HostileInput> = fc.oneof(
  { arbitrary: mutated(['backupJob'], eventMutations('backupJob')), weight: 3 },
  { arbitrary: mutated(['recoveryPoint'], eventMutations('recoveryPoint')), weight: 3 },
  { arbitrary: mutated(['manual', 'manualWithDestinations'], manualMutations), weight: 3 },
  { arbitrary: notAnObject, weight: 1 },
);
