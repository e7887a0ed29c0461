import { describe, expect, it } from 'vitest';
import { AWS_COPY_QUOTAS } from '../../local/backup-emulator.js';
import { type BurstResult, idealMakespanMs } from '../../scripts/bench/burst.js';
import type { ColdStartResult } from '../../scripts/bench/cold-start.js';
import type { HandlerTimeResult } from '../../scripts/bench/handler-time.js';
import { type BenchResults, misses, parseReport, renderMarkdown } from '../../scripts/bench/markdown.js';

const machine = {
  os: 'Linux 6',
  cpu: 'AMD EPYC',
  cores: 2,
  memoryGiB: 23.5,
  node: 'v20.20.2',
  loadAverage: 0.5,
};

const run = (command: string, date: string, measured: Partial<BenchResults>): BenchResults => ({
  date,
  command,
  machine,
  settings: { copyMinutes: 10, busyRate: 20, outageMinutes: 30, maxWallMinutes: 15 },
  ...measured,
});

const coldStart = (initMs: number): ColdStartResult => ({
  samples: 20,
  nodeVersion: 'v20.20.2',
  floorMs: 4,
  functions: [
    {
      name: 'normalizeInput',
      zipBytes: 200 * 1024,
      initMs,
      sdkClients: [],
      floorWithSdkMs: 4,
      ratio: initMs / 4,
    },
  ],
});

const handlerTime: HandlerTimeResult = {
  handlers: [{ function: 'planCopies', scenario: 'plan', invocations: 1000, medianMs: 1.25, p99Ms: 3.5 }],
  notMeasured: ['reconcile'],
};

describe('the benchmark report', () => {
  it('replaces only the sections a partial run measured, keeping the others with their run and misses', () => {
    const full = renderMarkdown(
      run('npm run bench', '2026-11-23 02:05 UTC', { coldStart: coldStart(100), handlerTime }),
    );
    const partial = renderMarkdown(
      run('npm run bench -- --sections cold-start', '2026-12-01 10:00 UTC', { coldStart: coldStart(40) }),
      full,
    );

    const before = parseReport(full);
    const after = parseReport(partial);
    expect(after.get('handler-time')).toEqual(before.get('handler-time'));
    expect(after.get('handler-time')?.text[0]).toContain('`npm run bench` on 2026-11-23 02:05 UTC');
    const coldStartText = after.get('cold-start')?.text.join('\n');
    expect(coldStartText).toContain('`npm run bench -- --sections cold-start` on 2026-12-01 10:00 UTC');
    expect(coldStartText).toContain('| normalizeInput | 200 KiB | ≤ 150 KiB **FAIL** | 40.00 |');
    expect(coldStartText).not.toContain('100.00');
    expect(after.get('cold-start')?.misses).toEqual([
      'normalizeInput: 200 KiB zipped (target ≤ 150 KiB)',
      'normalizeInput: init 10.00 × floor + its SDK clients (target ≤ 1.5)',
    ]);
    expect(partial.indexOf('## 3. Cold start and size')).toBeLessThan(partial.indexOf('## 4. Handler time'));
  });

  it('keeps the targets a kept section missed in the list at the top', () => {
    const full = renderMarkdown(run('npm run bench', '2026-11-23 02:05 UTC', { coldStart: coldStart(100) }));
    const partial = renderMarkdown(
      run('npm run bench -- --sections handler-time', 'later', { handlerTime }),
      full,
    );

    const top = partial.slice(partial.indexOf('## Targets missed'), partial.indexOf('## 3.'));
    expect(top).toContain('- Cold start and size: normalizeInput: init 25.00 × floor + its SDK clients');
    expect(renderMarkdown(run('npm run bench', 'later', { coldStart: coldStart(5) }), full)).toMatch(
      /## Targets missed\n\n- Cold start and size: normalizeInput: 200 KiB zipped[^\n]*\n\n## 3\./,
    );
  });

  it('writes only what it measured when there is no earlier report', () => {
    const report = renderMarkdown(run('npm run bench -- --quick', 'now', { handlerTime }));
    expect([...parseReport(report).keys()]).toEqual(['handler-time']);
    expect(report).toContain('## Targets missed\n\nNone.\n');
  });
});

describe('the burst section', () => {
  it("computes the quota-bound ideal from AWS's quotas: 5,000 × 2 copies drain in 48 rounds per Region", () => {
    const copyDurationMs = 600_000;
    const full = { recoveryPoints: 5000, destinations: 2, copyDurationMs, quotas: AWS_COPY_QUOTAS };
    // ⌈5000 / (100 + 5)⌉ = 48 rounds of 10 minutes in each destination Region.
    expect(idealMakespanMs(full)).toBe(48 * copyDurationMs);
    // Few recovery points: a resource's two copies take turns.
    expect(idealMakespanMs({ ...full, recoveryPoints: 10 })).toBe(2 * copyDurationMs);
    expect(idealMakespanMs({ recoveryPoints: 1000, destinations: 1, copyDurationMs, concurrency: 10 })).toBe(
      100 * copyDurationMs,
    );
  });

  it('holds the full-size and outage cells to their targets, and a baseline only to duplicating no copy', () => {
    const burst = (cell: string, changes: Partial<BurstResult>) =>
      ({
        cell,
        recoveryPoints: 5000,
        destinations: 2,
        mode: 'slots',
        makespanRatio: 1.2,
        limitExceededPerCopy: 0.5,
        failedExecutions: 3,
        duplicates: 0,
        lost: 3,
        unfinished: 0,
        stoppedBy: 'drained',
        eventHandlerErrors: 0,
        failures: { LimitExceededException: 3 },
        ...changes,
      }) as BurstResult;
    const found = misses(
      run('npm run bench', 'now', {
        bursts: [
          burst('full-size', {}),
          burst('global-10', {}),
          burst('retry-only', { mode: 'retry-only', duplicates: 2 }),
        ],
      }),
    );
    expect(found).toEqual([
      'burst full-size (N=5000 × 2): 3 lost copies (executions failed with {"LimitExceededException":3})',
      'burst full-size (N=5000 × 2): 3 failed executions',
      'burst full-size (N=5000 × 2): makespan 1.20 × ideal (target ≤ 1.05)',
      'burst full-size (N=5000 × 2): 0.500 LimitExceeded per copy (target ≤ 0.01)',
      'burst retry-only (N=5000 × 2): 2 duplicate copies',
    ]);
  });
});
