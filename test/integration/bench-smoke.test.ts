/**
 * The burst benchmark (scripts/bench) at a size a test run affords, checking only what it must never get wrong:
 * every recovery point copied exactly once. Timings are the benchmark's business, never asserted here.
 */
import { describe, expect, inject, it } from 'vitest';
import { cellOptions, runBurst } from '../../scripts/bench/burst.js';

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

  it("copies each of 10 recovery points once to 2 destinations in 2 Regions against AWS's copy quotas", async () => {
    const sizes = { recoveryPoints: 10, destinations: 2, copyDurationMs: 5_000, outageMs: 0 };
    const result = await runBurst({
      dynamoDbEndpoint: inject('dynamoDbEndpoint'),
      ...sizes,
      ...cellOptions('full-size', sizes),
      busyRate: 1,
    });

    expect({ copies: result.copies, regions: result.regions, unfinished: result.unfinished }).toEqual({
      copies: 20,
      regions: 2,
      unfinished: 0,
    });
    expect(result.duplicates).toBe(0);
    expect(result.lost).toBe(0);
  });
});
