import type { EmfOutput } from '@aws-lambda-powertools/metrics/types';
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

describe('metrics per destination', () => {
  it('count a copy for the service and, in a document of its own, for its destination', async () => {
    const { MetricsSummary } = await import('../../local/metrics-summary.js');
    const collected: EmfOutput[] = [];
    collectMetrics((emf) => collected.push(emf));
    const destination = 'arn:aws:backup:us-west-2:111111111111:backup-vault:dr-west';
    count('CopiesCompleted', 1, destination);
    publishMetrics();
    const perDestination = collected.filter((emf) => emf.destination === destination);
    expect(perDestination).toHaveLength(1);
    expect(perDestination[0]).toMatchObject({ CopiesCompleted: 1, service: 'backup-copy-orchestrator' });
    expect(perDestination[0]?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service', 'destination']]);
    // The summary of a local run counts the copy once, as CloudWatch's service-wide metric does.
    const summary = new MetricsSummary();
    for (const emf of collected) summary.add(emf);
    expect(summary.toJSON().CopiesCompleted).toMatchObject({ samples: 1, sum: 1 });
  });
});
