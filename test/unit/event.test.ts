import { describe, expect, it } from 'vitest';
import { CopyJobEventSchema } from '../../lib/domain/copy-job-event.js';
import { findRecoveryPointArn, normalizeInput } from '../../lib/domain/event.js';
import { InvalidInputError } from '../../lib/errors.js';
import {
  ACCOUNT,
  EBS_SNAPSHOT_ARN,
  fieldsOf,
  OTHER_ACCOUNT,
  RECOVERY_POINT_ARN,
  readJson,
  SCOPE,
  thrown,
  vaultArn,
} from './factories.js';

type Doc = Record<string, unknown>;

const backupJobEvent = () => readJson('events/backup-job-completed.json');
const recoveryPointEvent = () => readJson('events/recovery-point-completed.json');
const manualInput = () => readJson('events/manual-redrive.json');
const copyJobEvent = () => readJson('events/copy-job-completed.json');

/** A copy of `event` with `detail` fields replaced (undefined deletes). */
const withDetail = (event: Doc, changes: Doc): Doc => {
  const detail = { ...(event.detail as Doc) };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete detail[key];
    else detail[key] = value;
  }
  return { ...event, detail };
};

const without = (doc: Doc, key: string): Doc => {
  const copy = { ...doc };
  delete copy[key];
  return copy;
};

const refusal = (input: unknown) => {
  const error = thrown(() => normalizeInput(input, SCOPE));
  expect(error).toBeInstanceOf(InvalidInputError);
  expect(error.name).toBe('InvalidInputError');
  return error as InvalidInputError;
};

describe('normalizeInput: accepted inputs', () => {
  it('reads a Backup Job State Change event', () => {
    expect(normalizeInput(backupJobEvent(), SCOPE)).toEqual({
      recoveryPointArn:
        'arn:aws:backup:us-east-1:111111111111:recovery-point:f1d966fe-a3bd-410b-b292-99f442d13b56',
      sourceBackupVaultName: 'primary',
      origin: 'Backup Job State Change',
      eventId: 'dafac799-9b88-0134-26b7-fef4d54a134f',
      eventTime: '2026-11-20T21:41:17Z',
    });
  });

  it('reads a Recovery Point State Change event for an EBS snapshot (ARN without account)', () => {
    expect(normalizeInput(recoveryPointEvent(), SCOPE)).toEqual({
      recoveryPointArn: 'arn:aws:ec2:us-east-1::snapshot/snap-0a1b2c3d4e5f67890',
      sourceBackupVaultName: 'primary',
      origin: 'Recovery Point State Change',
      eventId: 'ab32977c-378d-2122-e985-4f1e4596f070',
      eventTime: '2026-11-20T21:39:07Z',
    });
  });

  it('accepts a Recovery Point State Change with status AVAILABLE', () => {
    expect(normalizeInput(withDetail(recoveryPointEvent(), { status: 'AVAILABLE' }), SCOPE).origin).toBe(
      'Recovery Point State Change',
    );
  });

  it('reads the manual input without destinations', () => {
    const request = normalizeInput(manualInput(), SCOPE);
    expect(request).toEqual({
      recoveryPointArn: RECOVERY_POINT_ARN,
      sourceBackupVaultName: 'primary',
      origin: 'manual',
    });
    expect(request).not.toHaveProperty('destinations');
    expect(request).not.toHaveProperty('eventId');
  });

  it('reads the manual input with destinations', () => {
    const destinations = [vaultArn('dr-west'), vaultArn('dr-isolated', 'us-west-2', '222222222222')];
    expect(normalizeInput({ ...manualInput(), destinations }, SCOPE)).toEqual({
      recoveryPointArn: RECOVERY_POINT_ARN,
      sourceBackupVaultName: 'primary',
      destinations,
      origin: 'manual',
    });
  });

  it.each([
    ['Backup Job State Change', backupJobEvent],
    ['Recovery Point State Change', recoveryPointEvent],
    ['manual', manualInput],
  ])('turns a re-driven identical %s input into an identical request', (_case, make) => {
    const first = normalizeInput(make(), SCOPE);
    const again = normalizeInput(JSON.parse(JSON.stringify(make())), SCOPE);
    expect(JSON.stringify(again)).toBe(JSON.stringify(first));
  });

  it('ignores event detail fields it does not use', () => {
    const event = withDetail(backupJobEvent(), { somethingNew: { nested: true } });
    expect(normalizeInput(event, SCOPE).sourceBackupVaultName).toBe('primary');
  });
});

describe('normalizeInput: refusals name the field', () => {
  it.each<[string, () => unknown, string, string]>([
    ['another event source', () => ({ ...backupJobEvent(), source: 'aws.ec2' }), 'source', 'aws.backup'],
    [
      'an unknown detail-type',
      () => ({ ...backupJobEvent(), 'detail-type': 'Copy Job State Change' }),
      'detail-type',
      'Backup Job State Change, Recovery Point State Change',
    ],
    ...['__proto__', 'constructor', 'toString'].map((key): [string, () => unknown, string, string] => [
      `a detail-type naming an Object.prototype key (${key})`,
      () => ({ ...backupJobEvent(), 'detail-type': key }),
      'detail-type',
      'Backup Job State Change, Recovery Point State Change',
    ]),
    [
      'a backup job that is not COMPLETED',
      () => withDetail(backupJobEvent(), { state: 'FAILED' }),
      'detail.state',
      'COMPLETED',
    ],
    [
      'a backup job still RUNNING',
      () => withDetail(backupJobEvent(), { state: 'RUNNING' }),
      'detail.state',
      'COMPLETED',
    ],
    [
      'a recovery point that is PARTIAL',
      () => withDetail(recoveryPointEvent(), { status: 'PARTIAL' }),
      'detail.status',
      '',
    ],
    [
      'an event without backupVaultName',
      () => withDetail(backupJobEvent(), { backupVaultName: undefined }),
      'detail.backupVaultName',
      '',
    ],
    [
      'an event with no resources',
      () => ({ ...backupJobEvent(), resources: [] }),
      'resources[0]',
      'recovery point ARN',
    ],
    ['an event without resources', () => without(backupJobEvent(), 'resources'), 'resources', ''],
    ['an event without detail', () => without(backupJobEvent(), 'detail'), 'detail', ''],
    ['an event without id', () => without(backupJobEvent(), 'id'), 'id', ''],
    [
      'a 1-character vault name',
      () => withDetail(backupJobEvent(), { backupVaultName: 'p' }),
      'sourceBackupVaultName',
      'must match',
    ],
    [
      'a vault name with a shell injection',
      () => ({ ...manualInput(), sourceBackupVaultName: 'primary; rm -rf /' }),
      'sourceBackupVaultName',
      'must match',
    ],
    [
      'a recovery point of another account',
      () => ({
        ...backupJobEvent(),
        resources: [`arn:aws:backup:us-east-1:${OTHER_ACCOUNT}:recovery-point:x`],
      }),
      'recoveryPointArn',
      'must be in an allowed account',
    ],
    [
      'a recovery point of another region',
      () => ({ ...recoveryPointEvent(), resources: ['arn:aws:ec2:eu-west-1::snapshot/snap-1'] }),
      'recoveryPointArn',
      'must be in an allowed region',
    ],
    [
      'a recovery point of another partition',
      () => ({
        ...manualInput(),
        recoveryPointArn: `arn:aws-cn:backup:cn-north-1:${ACCOUNT}:recovery-point:x`,
      }),
      'recoveryPointArn',
      'must be in partition aws',
    ],
    [
      'a malformed recovery point ARN',
      () => ({ ...manualInput(), recoveryPointArn: 'recovery-point:x' }),
      'recoveryPointArn',
      'must be a well-formed ARN',
    ],
    ['an extra key in manual input', () => ({ ...manualInput(), force: true }), 'force', 'not a known field'],
    [
      'a manual input without sourceBackupVaultName',
      () => without(manualInput(), 'sourceBackupVaultName'),
      'sourceBackupVaultName',
      '',
    ],
    ['an empty destinations list', () => ({ ...manualInput(), destinations: [] }), 'destinations', ''],
    [
      'a destination that is not a vault ARN',
      () => ({ ...manualInput(), destinations: [vaultArn('dr-west'), 'dr-west'] }),
      'destinations[1]',
      'must be a well-formed ARN',
    ],
    [
      'a destination in another account',
      () => ({ ...manualInput(), destinations: [vaultArn('dr', 'us-west-2', OTHER_ACCOUNT)] }),
      'destinations[0]',
      'must be in an allowed account',
    ],
    [
      'a recovery point ARN longer than 2048 characters',
      () => ({ ...manualInput(), recoveryPointArn: `${RECOVERY_POINT_ARN}${'x'.repeat(2048)}` }),
      'recoveryPointArn',
      '',
    ],
  ])('refuses %s', (_case, make, field, fragment) => {
    const error = refusal(make());
    expect(fieldsOf(error)).toContain(field);
    const rules = error.violations.filter((v) => v.field === field).map((v) => v.rule);
    expect(rules.join(' | ')).toContain(fragment);
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', JSON.stringify({ recoveryPointArn: RECOVERY_POINT_ARN, sourceBackupVaultName: 'primary' })],
    ['a number', 42],
    ['a boolean', true],
    ['an array', [RECOVERY_POINT_ARN, 'primary']],
    ['an empty object', {}],
  ])('refuses %s as input', (_case, input) => {
    const error = refusal(input);
    expect(error.violations.length).toBeGreaterThan(0);
    expect(error.message).toMatch(/^not a manual copy request: /);
  });

  it('reports every broken rule of one input together', () => {
    const error = refusal({
      recoveryPointArn: `arn:aws:backup:eu-west-1:${OTHER_ACCOUNT}:recovery-point:x`,
      sourceBackupVaultName: 'x',
      destinations: ['nope'],
    });
    expect(fieldsOf(error)).toEqual([
      'recoveryPointArn',
      'recoveryPointArn',
      'sourceBackupVaultName',
      'destinations[0]',
    ]);
    expect(error.message).toMatch(/^input refused: /);
  });
});

describe('findRecoveryPointArn', () => {
  it.each<[string, unknown, string | undefined]>([
    ['a Backup Job State Change event', backupJobEvent(), RECOVERY_POINT_ARN],
    ['a Recovery Point State Change event', recoveryPointEvent(), EBS_SNAPSHOT_ARN],
    ['a manual input', manualInput(), RECOVERY_POINT_ARN],
    [
      'an invalid event that still names one',
      { 'detail-type': 'Other', resources: [RECOVERY_POINT_ARN] },
      RECOVERY_POINT_ARN,
    ],
    ['an event with empty resources', { 'detail-type': 'X', resources: [] }, undefined],
    [
      'an event whose resources is not a list',
      { 'detail-type': 'X', resources: RECOVERY_POINT_ARN },
      undefined,
    ],
    ['a manual input whose ARN is not an ARN', { recoveryPointArn: 'recovery-point:x' }, undefined],
    ['a manual input whose ARN is a number', { recoveryPointArn: 7 }, undefined],
    ['an ARN longer than 2048 characters', { recoveryPointArn: `arn:${'x'.repeat(2045)}` }, undefined],
    ['null', null, undefined],
    ['a string', RECOVERY_POINT_ARN, undefined],
    ['an array holding an ARN', [RECOVERY_POINT_ARN], undefined],
  ])('finds the recovery point ARN of %s', (_case, input, expected) => {
    expect(findRecoveryPointArn(input)).toBe(expected);
  });

  it('accepts an ARN of exactly 2048 characters', () => {
    const arn = `arn:${'x'.repeat(2044)}`;
    expect(findRecoveryPointArn({ recoveryPointArn: arn })).toBe(arn);
  });

  it.each([
    ['over 2,048 UTF-8 bytes in fewer characters', `arn:${'€'.repeat(700)}`],
    ['a control character', `${RECOVERY_POINT_ARN}\r\nforged`],
  ])('names none for an ARN the ledger cannot key by: %s (a digest keys it instead)', (_case, arn) => {
    expect(findRecoveryPointArn({ recoveryPointArn: arn })).toBeUndefined();
  });
});

describe('CopyJobEventSchema', () => {
  it('reads the sample Copy Job State Change event', () => {
    const event = CopyJobEventSchema.parse(copyJobEvent());
    expect(event.resources[0]).toBe(RECOVERY_POINT_ARN);
    expect(event.detail).toEqual({
      copyJobId: '0175DE71-5784-589F-D8AC-541ACCB4CAC8',
      state: 'COMPLETED',
      destinationBackupVaultArn: vaultArn('dr-west'),
    });
  });

  it('accepts a CREATED event, which carries no copyJobId', () => {
    const created = withDetail(copyJobEvent(), { copyJobId: undefined, state: 'CREATED' });
    expect(CopyJobEventSchema.parse(created).detail.copyJobId).toBeUndefined();
  });

  it.each([
    ['another detail-type', { ...copyJobEvent(), 'detail-type': 'Backup Job State Change' }],
    ['another source', { ...copyJobEvent(), source: 'aws.ec2' }],
    ['no resources', { ...copyJobEvent(), resources: [] }],
    ['no destination vault', withDetail(copyJobEvent(), { destinationBackupVaultArn: undefined })],
  ])('refuses %s', (_case, event) => {
    expect(CopyJobEventSchema.safeParse(event).success).toBe(false);
  });
});
