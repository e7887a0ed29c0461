import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { EmfOutput } from '@aws-lambda-powertools/metrics/types';

/** CloudWatch metrics in embedded metric format, flushed after each invocation by lambdaHandler. */
export const metrics = new Metrics({
  namespace: 'BackupCopyOrchestrator',
  serviceName: 'backup-copy-orchestrator',
});

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
} as const;

export const count = (name: (typeof Metric)[keyof typeof Metric], value = 1) =>
  metrics.addMetric(name, MetricUnit.Count, value);

export const seconds = (name: (typeof Metric)[keyof typeof Metric], value: number) =>
  metrics.addMetric(name, MetricUnit.Seconds, Math.max(0, value));

/**
 * Local runs (simulate, npm run local) take each invocation's metrics here instead of as EMF lines on stdout,
 * which carries the command's own output (`--json`: one document). Powertools flushes by itself too (100
 * metrics, or 100 values of one), through publishStoredMetrics: so that is what is redirected.
 */
export function collectMetrics(collect: (emf: EmfOutput) => void): void {
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
