import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backfillExecutionName,
  copyIdempotencyToken,
  copySlotHolder,
  MAX_EXECUTION_NAME_LENGTH,
  reconcileExecutionName,
  redriveClientToken,
  rejectedInputKey,
  resourceOutcomeKey,
  resourceOutcomePrefix,
  restartExecutionName,
  runId,
} from '../../lib/domain/keys.js';
import { ACCOUNT, EBS_SNAPSHOT_ARN, RECOVERY_POINT_ARN, vaultArn } from './factories.js';

/*
 * Pinned values are computed outside this code base (Python's hashlib over the same text). If one changes, a
 * deployment would give work in flight a new identity: a second copy job, a second execution, a lost slot.
 */

const DR_WEST = vaultArn('dr-west');
const EXECUTION_ARN = `arn:aws:states:us-east-1:${ACCOUNT}:execution:copy-recovery-point:x`;
const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** StartExecution's rule for `name` where CloudWatch Logs is to work. */
const VALID_EXECUTION_NAME = /^[0-9A-Za-z_-]{1,80}$/;
/** RedriveExecution's rule for `clientToken`. */
const VALID_CLIENT_TOKEN = /^[!-~]{1,64}$/;

describe('copyIdempotencyToken', () => {
  it.each([
    [1, '848e3863-6c21-5ec7-3654-2db70addcea2'],
    [2, '0a8d3727-7d0e-52a0-2547-ea172bffb4d0'],
  ])('gives attempt %i the pinned token %s', (attempt, token) => {
    expect(copyIdempotencyToken(RECOVERY_POINT_ARN, DR_WEST, attempt)).toBe(token);
  });

  it.each([
    ['the recovery point', [`arn:aws:backup:us-east-1:${ACCOUNT}:recovery-point:other`, DR_WEST, 1]],
    ['the destination vault', [RECOVERY_POINT_ARN, vaultArn('dr-isolated'), 1]],
    ['the attempt', [RECOVERY_POINT_ARN, DR_WEST, 2]],
    ['where one input ends and the next begins', [`${RECOVERY_POINT_ARN}\narn`, DR_WEST.slice(4), 1]],
  ] as const)('differs when only %s differs', (_case, [rp, vault, attempt]) => {
    expect(copyIdempotencyToken(rp, vault, attempt)).not.toBe(
      copyIdempotencyToken(RECOVERY_POINT_ARN, DR_WEST, 1),
    );
  });

  it('is UUID-shaped and 36 characters for any input', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 300 }),
        fc.string({ maxLength: 300 }),
        fc.nat(1000),
        (rp, vault, n) => {
          const token = copyIdempotencyToken(rp, vault, n);
          expect(token).toMatch(UUID_SHAPE);
          expect(token).toHaveLength(36);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives distinct tokens to distinct attempts of one copy', () => {
    const tokens = new Set(
      Array.from({ length: 100 }, (_, i) => copyIdempotencyToken(RECOVERY_POINT_ARN, DR_WEST, i + 1)),
    );
    expect(tokens.size).toBe(100);
  });
});

describe('copySlotHolder', () => {
  it('gives the copy the pinned holder', () => {
    const copy = { recoveryPointArn: RECOVERY_POINT_ARN, destinationVaultArn: DR_WEST };
    expect(copySlotHolder(copy)).toBe('f8557b2bf51d52fa68cbc242eaaebc24');
  });

  it.each([
    ['the recovery point', { recoveryPointArn: EBS_SNAPSHOT_ARN, destinationVaultArn: DR_WEST }],
    [
      'the destination vault',
      { recoveryPointArn: RECOVERY_POINT_ARN, destinationVaultArn: vaultArn('dr-x') },
    ],
    [
      'where one ARN ends',
      { recoveryPointArn: `${RECOVERY_POINT_ARN}\narn`, destinationVaultArn: DR_WEST.slice(4) },
    ],
  ])('differs when only %s differs', (_case, copy) => {
    expect(copySlotHolder(copy)).not.toBe(
      copySlotHolder({ recoveryPointArn: RECOVERY_POINT_ARN, destinationVaultArn: DR_WEST }),
    );
  });

  it('is 32 hex characters for any pair of ARNs', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2048 }), fc.string({ maxLength: 2048 }), (rp, vault) => {
        expect(copySlotHolder({ recoveryPointArn: rp, destinationVaultArn: vault })).toMatch(
          /^[0-9a-f]{32}$/,
        );
      }),
      { numRuns: 200 },
    );
  });
});

describe('runId', () => {
  it.each([
    [0, `${EXECUTION_ARN}#0`],
    [3, `${EXECUTION_ARN}#3`],
  ])('names re-drive %i of an execution %s', (redriveCount, id) => {
    expect(runId({ executionArn: EXECUTION_ARN, redriveCount })).toBe(id);
  });
});

describe('reconcileExecutionName', () => {
  it.each([
    [RECOVERY_POINT_ARN, 'reconcile-1aeb4ad34ad72fb50fd8fbd3d9a40c025b72734ea3678ca37d4a4d01ab3929d1'],
    [EBS_SNAPSHOT_ARN, 'reconcile-22084eb6f70e3e3c275df61cc7657fb589c7c1945ea941606d91f28f2431cc2d'],
  ])('names the execution for %s %s', (arn, name) => {
    expect(reconcileExecutionName(arn)).toBe(name);
  });

  it('gives distinct names to recovery points whose ARNs differ in one character', () => {
    const other = `arn:aws:backup:us-east-1:${ACCOUNT}:recovery-point:f1d966fe-a3bd-410b-b292-99f442d13b57`;
    expect(reconcileExecutionName(other)).not.toBe(reconcileExecutionName(RECOVERY_POINT_ARN));
  });

  it('is a valid Step Functions execution name for any ARN, however long or odd', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2048, unit: 'binary' }), (arn) => {
        expect(reconcileExecutionName(arn)).toMatch(VALID_EXECUTION_NAME);
      }),
      { numRuns: 200 },
    );
  });
});

describe('restartExecutionName', () => {
  const long = (tail: string) => `${'x'.repeat(78)}${tail}`;

  it.each([
    ['abc', 'abc-rerun-1'],
    ['abc-rerun-1', 'abc-rerun-2'],
    ['abc-rerun-9', 'abc-rerun-10'],
    ['reconcile-1aeb4ad3', 'reconcile-1aeb4ad3-rerun-1'],
    [long('a'), `${'x'.repeat(63)}-af09261b-rerun-1`],
  ])('restarts %s as %s', (name, restarted) => {
    expect(restartExecutionName(name)).toBe(restarted);
  });

  it('keeps two long names that differ only past the cut apart', () => {
    expect(restartExecutionName(long('a'))).not.toBe(restartExecutionName(long('b')));
  });

  it('counts on from a cut name and stays within StartExecution 80 characters', () => {
    const once = restartExecutionName(long('a'));
    expect(restartExecutionName(once)).toBe(`${'x'.repeat(63)}-af09261b-rerun-2`);
  });

  it('is a valid execution name for any valid execution name', () => {
    fc.assert(
      fc.property(fc.stringMatching(VALID_EXECUTION_NAME), (name) => {
        const restarted = restartExecutionName(name);
        expect(restarted).toMatch(VALID_EXECUTION_NAME);
        expect(restarted.length).toBeLessThanOrEqual(MAX_EXECUTION_NAME_LENGTH);
        expect(restarted).not.toBe(name);
      }),
      { numRuns: 300 },
    );
  });
});

describe('redriveClientToken', () => {
  it.each([
    [0, '87e8b3c6a771a7ce502b3d51ad12dadae19d5c3bbd4fff425ffa155e859f6adc'],
    [1, '0226bca3ea8a6c4561098d9532bf9595525fd37f7a645023096c2c79251ebb6f'],
  ])('gives re-drive %i of an execution the pinned token', (redriveCount, token) => {
    expect(redriveClientToken(EXECUTION_ARN, redriveCount)).toBe(token);
  });

  it('is a valid RedriveExecution client token for any execution ARN', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2048 }), fc.nat(1000), (arn, n) => {
        expect(redriveClientToken(arn, n)).toMatch(VALID_CLIENT_TOKEN);
      }),
      { numRuns: 200 },
    );
  });
});

describe('rejectedInputKey', () => {
  it.each([
    [null, 'invalid-input:74234e98afe7498fb5daf1f36ac2d78a'],
    [undefined, 'invalid-input:eb045d78d273107348b0300c01d29b75'],
    ['garbage', 'invalid-input:5d85f8940016519153cfad87ff09d5c0'],
    [[1, 2], 'invalid-input:49a64717d5d4cb19952e6eac2946415c'],
    [{ 'detail-type': 'x' }, 'invalid-input:49ed048feab906a0792ba5f7305e6f3c'],
  ])('keys the input %j as %s', (input, key) => {
    expect(rejectedInputKey(input)).toBe(key);
  });

  it('never takes the shape of an ARN, whatever the input', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (input) => {
        expect(rejectedInputKey(input)).toMatch(/^invalid-input:[0-9a-f]{32}$/);
      }),
      { numRuns: 200 },
    );
  });
});

describe('backfillExecutionName', () => {
  const DR_ISOLATED = vaultArn('dr-isolated', 'us-west-2', '222222222222');

  it('pins the name of a recovery point and its missing destinations, whatever their order', () => {
    const name = 'backfill-4581325378d89ebe5ae9c0f67e05ee55274faaceea35f34ec31c595367544f04';
    expect(backfillExecutionName(RECOVERY_POINT_ARN, [DR_WEST, DR_ISOLATED])).toBe(name);
    expect(backfillExecutionName(RECOVERY_POINT_ARN, [DR_ISOLATED, DR_WEST])).toBe(name);
    expect(backfillExecutionName(RECOVERY_POINT_ARN, [DR_WEST])).toBe(
      'backfill-f8557b2bf51d52fa68cbc242eaaebc2408461e08e1a421e05fc442f5dccc8cdc',
    );
    expect(name).toMatch(VALID_EXECUTION_NAME);
  });
});

describe('resourceOutcomeKey', () => {
  it('files COMPLETED apart from every other final status, newest last in sort order', () => {
    const at = '2026-12-01T10:00:00.000Z';
    expect(resourceOutcomeKey(DR_WEST, 'COMPLETED', at)).toBe(`${DR_WEST}#COMPLETED#${at}`);
    expect(resourceOutcomeKey(DR_WEST, 'REJECTED', at)).toBe(`${DR_WEST}#FAILED#${at}`);
    expect(
      resourceOutcomeKey(DR_WEST, 'FAILED', at).startsWith(resourceOutcomePrefix(DR_WEST, 'FAILED')),
    ).toBe(true);
    expect(
      resourceOutcomeKey(DR_WEST, 'COMPLETED', at) <
        resourceOutcomeKey(DR_WEST, 'COMPLETED', '2026-12-01T10:00:01.000Z'),
    ).toBe(true);
  });
});
