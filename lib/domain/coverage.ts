import { RecoveryPointNotCopyableError } from '../errors.js';
import { type CopyPolicy, ruleMatches } from './policy.js';
import { checkCopyable, type RecoveryPoint } from './recovery-point.js';

/*
 * DR coverage: does every protected resource found in the source vaults have a recent enough COMPLETED copy in
 * every destination the policy gives it? Pure: the resources come from ListRecoveryPointsByBackupVault, the
 * copies from the ledger's resource index (lib/aws/resource-index.ts), and `now` from the caller.
 */

/** OK: a copy newer than rpoHours (or any copy, without rpoHours); LATE: the newest copy is older; NEVER: no
 *  copy; REFUSED: no copy, and the policy or AWS refused to make one. */
export type CoverageStatus = 'OK' | 'LATE' | 'NEVER' | 'REFUSED';

export const COVERAGE_STATUSES: readonly CoverageStatus[] = ['OK', 'LATE', 'NEVER', 'REFUSED'];

const HOUR_MS = 3_600_000;

/** One (resource, destination) the policy asks a copy for. */
export interface CoverageTarget {
  resourceArn: string;
  resourceType: string;
  destinationVaultArn: string;
  /** The rule that gave the destination (first rule in file order wins, as in planCopies). */
  rule: string;
  rpoHours?: number;
  /** The oldest backup of the resource seen: a copy is overdue once it is older than rpoHours. */
  firstBackupAt: string;
  /** Why no recovery point of the resource can be copied at all (continuous backups only, say). */
  refusal?: string;
}

/** What the ledger holds for one (resource, destination). */
export interface CopyEvidence {
  newestCompleted?: {
    recoveryPointArn: string;
    completedAt: string;
    /** When the copied backup finished: the age of the data the copy holds. */
    sourceCompletionDate?: string;
  };
  /** The newest attempt that ended without a copy, newer than newestCompleted. */
  lastFailure?: { recoveryPointArn: string; status: string; completedAt: string; reason?: string };
}

export interface CoverageRow {
  resourceArn: string;
  resourceType: string;
  destinationVaultArn: string;
  rule: string;
  rpoHours?: number;
  status: CoverageStatus;
  /** The newest COMPLETED copy: the recovery point it copies, when it completed, and the age of its data. */
  newestCopy?: { recoveryPointArn: string; completedAt: string; backupAt: string; ageHours: number };
  /** The last failure after the newest copy (or the refusal), with its reason. */
  lastFailure?: { status: string; at?: string; reason: string };
  /** Has an rpoHours and misses it: LATE, or NEVER copied though its first backup is older than rpoHours. */
  outsideRpo: boolean;
}

export interface CoverageSummary {
  rows: number;
  resources: number;
  byStatus: Record<CoverageStatus, number>;
  /** Per destination: rows outside their RPO, and the oldest newest-copy age in hours (absent: no copy). */
  byDestination: { destinationVaultArn: string; outsideRpo: number; oldestCopyAgeHours?: number }[];
  outsideRpo: number;
  oldestCopyAgeHours?: number;
}

export interface Coverage {
  generatedAt: string;
  rows: CoverageRow[];
  summary: CoverageSummary;
}

export const evidenceKey = (target: Pick<CoverageTarget, 'resourceArn' | 'destinationVaultArn'>) =>
  `${target.resourceArn}\n${target.destinationVaultArn}`;

function notCopyableReason(recoveryPoint: RecoveryPoint): string | undefined {
  try {
    checkCopyable(recoveryPoint);
    return undefined;
  } catch (error) {
    if (!(error instanceof RecoveryPointNotCopyableError)) throw error;
    return error.violations.map((v) => `${v.field} ${v.rule}`).join('; ');
  }
}

/** The destinations the policy gives one recovery point, with their RPO: first rule in file order wins. */
export function destinationsOf(
  policy: CopyPolicy,
  recoveryPoint: RecoveryPoint,
): { destinationVaultArn: string; rule: string; rpoHours?: number }[] {
  const chosen = new Map<string, { destinationVaultArn: string; rule: string; rpoHours?: number }>();
  for (const rule of policy.rules) {
    if (!ruleMatches(rule, recoveryPoint)) continue;
    for (const destination of rule.destinations) {
      if (chosen.has(destination.vaultArn)) continue;
      const rpoHours = destination.rpoHours ?? rule.rpoHours;
      chosen.set(destination.vaultArn, {
        destinationVaultArn: destination.vaultArn,
        rule: rule.name,
        ...(rpoHours !== undefined ? { rpoHours } : {}),
      });
    }
  }
  return [...chosen.values()];
}

const backupTime = (recoveryPoint: RecoveryPoint) => recoveryPoint.completionDate ?? '';

/**
 * Every (resource, destination) the policy asks a copy for, from the recovery points found in the source
 * vaults: a resource is matched on its newest recovery point (its type, vault and ARN), plus any destination an
 * older one was given. Recovery points naming no resource are skipped: there is nothing to cover.
 */
export function coverageTargets(
  policy: CopyPolicy,
  recoveryPoints: readonly RecoveryPoint[],
): CoverageTarget[] {
  const byResource = new Map<string, RecoveryPoint[]>();
  for (const recoveryPoint of recoveryPoints) {
    if (!recoveryPoint.resourceArn) continue;
    const list = byResource.get(recoveryPoint.resourceArn) ?? [];
    list.push(recoveryPoint);
    byResource.set(recoveryPoint.resourceArn, list);
  }
  const targets: CoverageTarget[] = [];
  for (const [resourceArn, points] of byResource) {
    const newestFirst = [...points].sort((a, b) => backupTime(b).localeCompare(backupTime(a)));
    const newest = newestFirst[0] as RecoveryPoint;
    const firstBackupAt = backupTime(newestFirst[newestFirst.length - 1] as RecoveryPoint);
    const reasons = newestFirst.map(notCopyableReason);
    const refusal = reasons.every((reason) => reason !== undefined) ? reasons[0] : undefined;
    const seen = new Set<string>();
    for (const point of newestFirst) {
      for (const destination of destinationsOf(policy, point)) {
        if (seen.has(destination.destinationVaultArn)) continue;
        seen.add(destination.destinationVaultArn);
        targets.push({
          resourceArn,
          resourceType: newest.resourceType,
          ...destination,
          firstBackupAt,
          ...(refusal ? { refusal } : {}),
        });
      }
    }
  }
  return targets.sort((a, b) => evidenceKey(a).localeCompare(evidenceKey(b)));
}

const hoursBetween = (from: string, now: Date) => Math.max(0, (now.getTime() - Date.parse(from)) / HOUR_MS);
const round1 = (hours: number) => Math.round(hours * 10) / 10;

/** One row: the newest copy's age against the target's rpoHours, or why there is no copy. */
export function coverageRow(target: CoverageTarget, evidence: CopyEvidence, now: Date): CoverageRow {
  const { refusal, firstBackupAt, ...identity } = target;
  const { newestCompleted, lastFailure } = evidence;
  const failure = lastFailure
    ? {
        lastFailure: {
          status: lastFailure.status,
          at: lastFailure.completedAt,
          reason: lastFailure.reason ?? `ended ${lastFailure.status}`,
        },
      }
    : refusal
      ? { lastFailure: { status: 'REFUSED', reason: refusal } }
      : {};
  if (newestCompleted) {
    const backupAt = newestCompleted.sourceCompletionDate ?? newestCompleted.completedAt;
    const ageHours = hoursBetween(backupAt, now);
    const late = target.rpoHours !== undefined && ageHours > target.rpoHours;
    return {
      ...identity,
      status: late ? 'LATE' : 'OK',
      newestCopy: {
        recoveryPointArn: newestCompleted.recoveryPointArn,
        completedAt: newestCompleted.completedAt,
        backupAt,
        ageHours: round1(ageHours),
      },
      ...failure,
      outsideRpo: late,
    };
  }
  const refused = refusal !== undefined || lastFailure?.status === 'REJECTED';
  const overdue =
    target.rpoHours !== undefined &&
    firstBackupAt !== '' &&
    hoursBetween(firstBackupAt, now) > target.rpoHours;
  return { ...identity, status: refused ? 'REFUSED' : 'NEVER', ...failure, outsideRpo: !refused && overdue };
}

/** The rows of every target, and their counts: by status, and per destination outside RPO and oldest copy. */
export function buildCoverage(
  targets: readonly CoverageTarget[],
  evidence: ReadonlyMap<string, CopyEvidence>,
  now: Date,
): Coverage {
  const rows = targets.map((target) => coverageRow(target, evidence.get(evidenceKey(target)) ?? {}, now));
  const byStatus = Object.fromEntries(COVERAGE_STATUSES.map((s) => [s, 0])) as Record<CoverageStatus, number>;
  const destinations = new Map<string, CoverageSummary['byDestination'][number]>();
  for (const row of rows) {
    byStatus[row.status] += 1;
    const counts = destinations.get(row.destinationVaultArn) ?? {
      destinationVaultArn: row.destinationVaultArn,
      outsideRpo: 0,
    };
    if (row.outsideRpo) counts.outsideRpo += 1;
    if (row.newestCopy)
      counts.oldestCopyAgeHours = Math.max(counts.oldestCopyAgeHours ?? 0, row.newestCopy.ageHours);
    destinations.set(row.destinationVaultArn, counts);
  }
  const byDestination = [...destinations.values()].sort((a, b) =>
    a.destinationVaultArn.localeCompare(b.destinationVaultArn),
  );
  const ages = byDestination.flatMap((d) =>
    d.oldestCopyAgeHours === undefined ? [] : [d.oldestCopyAgeHours],
  );
  return {
    generatedAt: now.toISOString(),
    rows,
    summary: {
      rows: rows.length,
      resources: new Set(rows.map((row) => row.resourceArn)).size,
      byStatus,
      byDestination,
      outsideRpo: byDestination.reduce((sum, d) => sum + d.outsideRpo, 0),
      ...(ages.length > 0 ? { oldestCopyAgeHours: Math.max(...ages) } : {}),
    },
  };
}

/** A pipeline gate: any row LATE or NEVER fails it. */
export const coverageFails = (coverage: Coverage) =>
  coverage.summary.byStatus.LATE > 0 || coverage.summary.byStatus.NEVER > 0;

/**
 * Copies completed per UTC day per destination, for the chart: every day of [since, until] and every one of
 * `destinations`, zeroes included.
 */
export function copiesPerDay(
  completions: readonly { destinationVaultArn: string; completedAt: string }[],
  destinations: readonly string[],
  since: Date,
  until: Date,
): { days: string[]; byDestination: { destinationVaultArn: string; counts: number[] }[] } {
  const days: string[] = [];
  for (let day = Date.parse(since.toISOString().slice(0, 10)); day <= until.getTime(); day += 24 * HOUR_MS) {
    days.push(new Date(day).toISOString().slice(0, 10));
  }
  const index = new Map(days.map((day, i) => [day, i]));
  const counts = new Map<string, number[]>(destinations.map((d) => [d, days.map(() => 0)]));
  for (const { destinationVaultArn, completedAt } of completions) {
    const i = index.get(completedAt.slice(0, 10));
    if (i === undefined) continue;
    const row = counts.get(destinationVaultArn) ?? days.map(() => 0);
    row[i] = (row[i] ?? 0) + 1;
    counts.set(destinationVaultArn, row);
  }
  return {
    days,
    byDestination: [...counts]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([destinationVaultArn, row]) => ({ destinationVaultArn, counts: row })),
  };
}
