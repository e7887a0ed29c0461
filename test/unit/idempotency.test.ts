import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyIdempotencyToken } from '../../lib/domain/idempotency.js';
import { ACCOUNT, RECOVERY_POINT_ARN, vaultArn } from './factories.js';

const DR_WEST = vaultArn('dr-west');
const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('copyIdempotencyToken', () => {
  // Pinned, computed outside this code base (sha256 of "<rp>\n<vault>\n<attempt>" in Python). If these change,
  // a deployment mid-copy would present a new token for the same attempt and AWS would start a second job.
  it.each([
    [1, '848e3863-6c21-5ec7-3654-2db70addcea2'],
    [2, '0a8d3727-7d0e-52a0-2547-ea172bffb4d0'],
  ])('gives attempt %i the pinned token %s', (attempt, token) => {
    expect(copyIdempotencyToken(RECOVERY_POINT_ARN, DR_WEST, attempt)).toBe(token);
  });

  it('gives the same token for the same inputs every time', () => {
    const tokens = new Set(
      Array.from({ length: 5 }, () => copyIdempotencyToken(RECOVERY_POINT_ARN, DR_WEST, 3)),
    );
    expect(tokens.size).toBe(1);
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

  it('is UUID-shaped and at most 36 characters for any input', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 300 }),
        fc.string({ maxLength: 300 }),
        fc.nat(1000),
        (rp, vault, n) => {
          const token = copyIdempotencyToken(rp, vault, n);
          expect(token).toMatch(UUID_SHAPE);
          expect(token.length).toBeLessThanOrEqual(36);
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
