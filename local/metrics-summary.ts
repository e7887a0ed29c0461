import type { EmfOutput } from '@aws-lambda-powertools/metrics/types';

export interface MetricSummary {
  unit: string;
  /** Values recorded (a Count metric recorded 3 times with 1 each: samples 3, sum 3). */
  samples: number;
  sum: number;
  max: number;
}

/**
 * What the handlers' EMF documents of a local run add up to, per metric name (what CloudWatch would show for
 * the dimension `service` alone).
 */
export class MetricsSummary {
  readonly #metrics = new Map<string, MetricSummary>();

  add(emf: EmfOutput): void {
    for (const directive of emf._aws.CloudWatchMetrics) {
      // A per-destination document repeats what the service-wide one counts (lib/metrics.ts count).
      if (directive.Dimensions.some((set) => set.includes('destination'))) continue;
      for (const { Name, Unit } of directive.Metrics) {
        const raw = emf[Name];
        const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number');
        const summary = this.#metrics.get(Name) ?? { unit: Unit, samples: 0, sum: 0, max: 0 };
        summary.samples += values.length;
        summary.sum += values.reduce((a, b) => a + b, 0);
        summary.max = Math.max(summary.max, ...values);
        this.#metrics.set(Name, summary);
      }
    }
  }

  /** Metric name → summary, names sorted. */
  toJSON(): Record<string, MetricSummary> {
    return Object.fromEntries([...this.#metrics].sort(([a], [b]) => a.localeCompare(b)));
  }
}
