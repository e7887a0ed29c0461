import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { EmfOutput } from '@aws-lambda-powertools/metrics/types';

export { MetricUnit };

const NAMESPACE = { namespace: 'BackupCopyOrchestrator', serviceName: 'backup-copy-orchestrator' };

/** CloudWatch metrics in embedded metric format, flushed after each invocation by lambdaHandler. */
export const metrics = new Metrics(NAMESPACE);

/** Metric names; the alarms in serverless.yml refer to these. */
export const Metric = {
  CopiesStarted: 'CopiesStarted',
  CopiesCompleted: 'CopiesCompleted',
  CopiesFailed: 'CopiesFailed',
  InputsRejected: 'InputsRejected',
  /** Destinations the policy names that AWS would refuse for the recovery point: recorded REJECTED, not copied. */
  DestinationsRefused: 'DestinationsRefused',
  ThrottledAnswers: 'ThrottledAnswers',
  CopyDuration: 'CopyDurationSeconds',
  BackupToCopyStart: 'BackupToCopyStartSeconds',
  RecoveryPointsReconciled: 'RecoveryPointsReconciled',
  /** Copies the reconciler resumed (re-drove or restarted their execution) after their execution ended. */
  CopiesResumed: 'CopiesResumed',
  /** Per destination and in all: (resource, destination) rows outside their rpoHours (lib/domain/coverage.ts). */
  ResourcesOutsideRpo: 'ResourcesOutsideRpo',
  /** Per destination and in all: the age, in hours, of the oldest of the resources' newest copies. */
  OldestCopyAgeHours: 'OldestCopyAgeHours',
  /** Hourly, from the reconciler: copies QUEUED for a copy slot, in all. */
  CopiesWaitingForSlot: 'CopiesWaitingForSlot',
  /** Hourly, from the reconciler: how long the copy waiting longest for a slot has waited, in minutes. */
  OldestSlotWaitMinutes: 'OldestSlotWaitMinutes',
} as const;

export type MetricName = (typeof Metric)[keyof typeof Metric];

/** Counts `name` for the service, and also for `destination` (dimension `destination`) when given. */
export function count(name: MetricName, value = 1, destination?: string): void {
  metrics.addMetric(name, MetricUnit.Count, value);
  if (destination !== undefined) publishPerDestination(destination, [[name, MetricUnit.Count, value]]);
}

let collector: ((emf: EmfOutput) => void) | undefined;

/**
 * Publishes `values` at once in their own EMF document with the dimensions service and `destination`: one
 * document carries one value per dimension, so each destination needs its own (to the local collector in a
 * local run).
 */
export function publishPerDestination(
  destination: string,
  values: readonly (readonly [MetricName, (typeof MetricUnit)[keyof typeof MetricUnit], number])[],
): void {
  const perDestination = new Metrics({ ...NAMESPACE, defaultDimensions: { destination } });
  for (const [name, unit, value] of values) perDestination.addMetric(name, unit, value);
  if (collector) {
    collector(perDestination.serializeMetrics());
    perDestination.clearMetrics();
  } else perDestination.publishStoredMetrics();
}

export const seconds = (name: (typeof Metric)[keyof typeof Metric], value: number) =>
  metrics.addMetric(name, MetricUnit.Seconds, Math.max(0, value));

/**
 * Local runs (simulate, npm run local) take each invocation's metrics here instead of as EMF lines on stdout,
 * which carries the command's own output (`--json`: one document). Powertools flushes by itself too (100
 * metrics, or 100 values of one), through publishStoredMetrics: so that is what is redirected.
 */
export function collectMetrics(collect: (emf: EmfOutput) => void): void {
  collector = collect;
  metrics.publishStoredMetrics = function publishToCollector(this: Metrics) {
    try {
      if (this.hasStoredMetrics()) collect(this.serializeMetrics());
    } finally {
      this.clearMetrics();
      this.clearDimensions();
      this.clearMetadata();
    }
    return this;
  };
}

/** Publishes what the invocation recorded: EMF on stdout in Lambda, or to the local collector. */
export function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
