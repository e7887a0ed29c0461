import { afterEach, describe, expect, it, vi } from 'vitest';
import { collectMetrics, count, publishMetrics } from '../../lib/metrics.js';

afterEach(() => vi.restoreAllMocks());

describe('metrics in a local run', () => {
  it('go to the collector, never to stdout, even when Powertools flushes by itself at 100 values', () => {
    const written = vi.spyOn(process.stdout, 'write');
    const logged = vi.spyOn(console, 'log');
    const collected: number[] = [];
    collectMetrics((emf) => collected.push(...[emf.CopiesStarted].flat().map(Number)));
    for (let i = 0; i < 150; i++) count('CopiesStarted');
    publishMetrics();
    expect(collected.reduce((sum, value) => sum + value, 0)).toBe(150);
    expect(written).not.toHaveBeenCalled();
    expect(logged).not.toHaveBeenCalled();
  });
});
