import type { BackupClient } from '@aws-sdk/client-backup';
import type { CopyLedger } from './aws/ledger.js';
import { listRecoveryPoints } from './aws/recovery-points.js';
import { newReadMeter, type ReadMeter } from './aws/resource-index.js';
import {
  buildCoverage,
  type CopyEvidence,
  type Coverage,
  copiesPerDay,
  coverageTargets,
  evidenceKey,
} from './domain/coverage.js';
import type { CopyPolicy } from './domain/policy.js';
import type { RecoveryPoint } from './domain/recovery-point.js';
import { Metric, MetricUnit, metrics, publishPerDestination } from './metrics.js';

const HOUR_MS = 3_600_000;

/** Resources backed up within this window are covered unless told otherwise: a week, or twice the longest RPO. */
export function defaultCoverageWindowHours(policy: CopyPolicy): number {
  const rpos = policy.rules.flatMap((rule) => [rule.rpoHours, ...rule.destinations.map((d) => d.rpoHours)]);
  return Math.max(168, ...rpos.filter((rpo): rpo is number => rpo !== undefined).map((rpo) => 2 * rpo));
}

export interface CoverageDependencies {
  backup: BackupClient;
  ledger: CopyLedger;
  policy: CopyPolicy;
  now: Date;
}

export interface CoverageOptions {
  /** Resources with a recovery point created after this instant are covered. */
  since: Date;
  /** Also count completed copies per day per destination since `since` (the --html chart). */
  history?: boolean;
  /** Index queries in flight at once. */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface CoverageReport extends Coverage {
  since: string;
  /** Recovery points listed in the source vaults. */
  recoveryPoints: number;
  copiesPerDay?: ReturnType<typeof copiesPerDay>;
  /** What the ledger reads cost: DynamoDB's ConsumedCapacity, summed over every Query. */
  ledgerReads: ReadMeter;
}

/** `work` over `items`, `concurrency` at a time, results in order. */
async function mapConcurrently<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
  onDone: (done: number) => void = () => {},
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
      onDone(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/**
 * Coverage now: every resource with a recovery point in the policy's source vaults since `since`, times every
 * destination the policy gives it, each with the newest COMPLETED copy from the ledger's resource index.
 */
export async function measureCoverage(
  deps: CoverageDependencies,
  options: CoverageOptions,
): Promise<CoverageReport> {
  const recoveryPoints: RecoveryPoint[] = [];
  const vaults = [...new Set(deps.policy.rules.flatMap((rule) => rule.match.sourceVaults))];
  for (const vault of vaults) {
    const window = { createdAfter: options.since, createdBefore: deps.now };
    for await (const point of listRecoveryPoints(deps.backup, vault, window)) recoveryPoints.push(point);
  }
  const targets = coverageTargets(deps.policy, recoveryPoints);
  const index = deps.ledger.resourceIndex(newReadMeter());
  const concurrency = options.concurrency ?? 16;
  const found = await mapConcurrently(
    targets,
    concurrency,
    (target) => index.evidence(target.resourceArn, target.destinationVaultArn),
    (done) => options.onProgress?.(done, targets.length),
  );
  const evidence = new Map<string, CopyEvidence>(
    targets.map((target, i) => [evidenceKey(target), found[i] ?? {}]),
  );
  const coverage = buildCoverage(targets, evidence, deps.now);
  const report: CoverageReport = {
    ...coverage,
    since: options.since.toISOString(),
    recoveryPoints: recoveryPoints.length,
    ledgerReads: index.meter,
  };
  if (options.history) {
    const completions = await mapConcurrently(targets, concurrency, async (target) =>
      (await index.completedSince(target.resourceArn, target.destinationVaultArn, options.since)).map(
        (completedAt) => ({ destinationVaultArn: target.destinationVaultArn, completedAt }),
      ),
    );
    const destinations = [...new Set(targets.map((t) => t.destinationVaultArn))];
    report.copiesPerDay = copiesPerDay(completions.flat(), destinations, options.since, deps.now);
  }
  return report;
}

/**
 * The reconciler's hourly measure: ResourcesOutsideRpo and OldestCopyAgeHours per destination (dimension
 * `destination`), and over all destinations (dimension `service` alone, which the alarm watches).
 */
export async function emitCoverageMetrics(deps: CoverageDependencies): Promise<CoverageReport> {
  const since = new Date(deps.now.getTime() - defaultCoverageWindowHours(deps.policy) * HOUR_MS);
  const report = await measureCoverage(deps, { since });
  for (const destination of report.summary.byDestination) {
    publishPerDestination(destination.destinationVaultArn, [
      [Metric.ResourcesOutsideRpo, MetricUnit.Count, destination.outsideRpo],
      ...(destination.oldestCopyAgeHours === undefined
        ? []
        : [[Metric.OldestCopyAgeHours, MetricUnit.NoUnit, destination.oldestCopyAgeHours] as const]),
    ]);
  }
  metrics.addMetric(Metric.ResourcesOutsideRpo, MetricUnit.Count, report.summary.outsideRpo);
  if (report.summary.oldestCopyAgeHours !== undefined)
    metrics.addMetric(Metric.OldestCopyAgeHours, MetricUnit.NoUnit, report.summary.oldestCopyAgeHours);
  return report;
}
