import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

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
  ThrottledAnswers: 'ThrottledAnswers',
  CopyDuration: 'CopyDurationSeconds',
  BackupToCopyStart: 'BackupToCopyStartSeconds',
  RecoveryPointsReconciled: 'RecoveryPointsReconciled',
} as const;

export const count = (name: (typeof Metric)[keyof typeof Metric], value = 1) =>
  metrics.addMetric(name, MetricUnit.Count, value);

export const seconds = (name: (typeof Metric)[keyof typeof Metric], value: number) =>
  metrics.addMetric(name, MetricUnit.Seconds, Math.max(0, value));
