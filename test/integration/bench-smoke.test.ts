/**
 * The burst benchmark (scripts/bench) at a size a test run affords, checking only what it must never get wrong:
 * every recovery point copied exactly once. Timings are the benchmark's business, never asserted here.
 */
import { describe, expect, inject, it } from 'vitest';
import { runBurst } from '../../scripts/bench/burst.js';

describe('the burst benchmark', () => {
  it.each(['slots', 'retry-only'] as const)(
    'copies each of 20 recovery points once through 5 concurrent copy jobs (%s)',
    async (mode) => {
      const result = await runBurst({
        dynamoDbEndpoint: inject('dynamoDbEndpoint'),
        recoveryPoints: 20,
        concurrency: 5,
        mode,
        // Short copies, so the retry-only baseline drains well within its 10 attempts.
        copyDurationMs: 5_000,
        busyRate: 1,
      });

      expect(result.duplicates).toBe(0);
      expect(result.lost).toBe(0);
    },
  );
});
