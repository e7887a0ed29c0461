import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { CoverageReport } from '../lib/coverage.js';
import { PLAN_KEY } from '../lib/domain/ledger-record.js';
import { formatCoverage } from '../lib/operations/coverage-output.js';
import { escapeControl, formatTable } from '../lib/operations/table.js';
import type { SimulationReport } from '../local/local-service.js';
import type { MetricSummary } from '../local/metrics-summary.js';

/** What `npm run simulate -- --json` prints. */
export interface SimulationDocument extends SimulationReport {
  /** Inputs that started no execution, and why. */
  unmatched: { source: string; reason: string }[];
  /** The handlers' metrics added up per name (in Lambda they are EMF lines for CloudWatch). */
  metrics: Record<string, MetricSummary>;
  /** With --coverage: the DR coverage after the run (what `npm run coverage -- --json` prints). */
  coverage?: CoverageReport;
}

export interface Trace {
  executions: { arn: string; history: HistoryEvent[] }[];
  /** Execution ARN → the input it came from (`file` or `file[i]`). */
  sources: Map<string, string>;
}

function failureOf(event: HistoryEvent): string | undefined {
  const details =
    event.lambdaFunctionFailedEventDetails ??
    event.taskFailedEventDetails ??
    event.executionFailedEventDetails;
  if (!details)
    return event.taskTimedOutEventDetails ? `timed out: ${event.taskTimedOutEventDetails.error}` : undefined;
  let cause = details.cause ?? '';
  try {
    cause = (JSON.parse(cause) as { errorMessage?: string }).errorMessage ?? cause;
  } catch {
    // plain-text cause
  }
  return `${details.error}: ${cause}`.slice(0, 300);
}

/** The copy a state inside the Map works on, from the `copy` its input carries. */
function copyOf(
  event: HistoryEvent,
): { recoveryPointArn?: string; destinationVaultArn?: string } | undefined {
  try {
    const input = JSON.parse(event.stateEnteredEventDetails?.input ?? 'null') as {
      copy?: { recoveryPointArn?: string; destinationVaultArn?: string };
    } | null;
    return input?.copy?.destinationVaultArn ? input.copy : undefined;
  } catch {
    return undefined;
  }
}

const MAP_ENDS = new Set(['MapStateSucceeded', 'MapStateFailed', 'MapStateAborted', 'MapStateExited']);

/**
 * One execution's states in order. States inside the Map are grouped by the destination vault their
 * iteration copies to, each with its ledger outcome; planning warnings follow PlanCopies.
 */
function formatExecution(
  execution: SimulationReport['executions'][number],
  history: HistoryEvent[],
  source: string | undefined,
  ledger: SimulationReport['ledger'],
): string[] {
  const lines = [
    `Execution ${execution.name}${source ? ` (${source})` : ''}: ${execution.status} (${execution.transitions} state transitions)`,
  ];
  const destinations = new Map<string, { recoveryPointArn?: string; states: string[] }>();
  const mapFailures = new Map<string, number>();
  let inMap = false;
  const flushDestinations = () => {
    for (const [vaultArn, { recoveryPointArn, states }] of destinations) {
      const item = ledger.find(
        (i) => i.destinationVaultArn === vaultArn && i.recoveryPointArn === recoveryPointArn,
      );
      // A COMPLETED copy's lastError is one it got past (a retried throttle): shown with the Map's failures.
      const error =
        item?.lastError && item.status !== 'COMPLETED'
          ? `${item.lastError.name}: ${item.lastError.message}`
          : '';
      if (error) mapFailures.delete(error);
      const outcome = item
        ? `${item.status}${item.copyJobId ? ` job ${item.copyJobId}` : ''}${error ? ` ✗ ${error}` : ''}`
        : 'no ledger item';
      lines.push(`      ${vaultArn}`, `        ${states.join(' → ')}  ⇒ ${outcome}`.slice(0, 400));
    }
    for (const [failure, count] of mapFailures) lines.push(`      ✗ ${count}× ${failure}`);
    destinations.clear();
    mapFailures.clear();
  };
  for (const event of history) {
    const type = event.type ?? '';
    if (type.endsWith('StateEntered')) {
      const name = event.stateEnteredEventDetails?.name ?? '?';
      const copy = copyOf(event);
      if (inMap && copy?.destinationVaultArn) {
        const group = destinations.get(copy.destinationVaultArn) ?? {
          recoveryPointArn: copy.recoveryPointArn,
          states: [],
        };
        group.states.push(name);
        destinations.set(copy.destinationVaultArn, group);
        continue;
      }
      lines.push(`  → ${name}`);
      if (type === 'MapStateEntered') inMap = true;
      if (name === 'PlanCopies') {
        const plan = ledger.find(
          (i) => i.destinationVaultArn === PLAN_KEY && i.executionArn === execution.arn,
        );
        for (const warning of plan?.warnings ?? []) lines.push(`      ! ${warning}`);
      }
      continue;
    }
    if (inMap && MAP_ENDS.has(type)) {
      inMap = false;
      flushDestinations();
      continue;
    }
    const failure = failureOf(event);
    if (!failure || type === 'ExecutionFailed') continue;
    if (inMap) mapFailures.set(failure, (mapFailures.get(failure) ?? 0) + 1);
    else lines.push(`      ✗ ${failure}`);
  }
  flushDestinations();
  if (execution.error) lines.push(`  ✗ ${execution.error}: ${execution.cause ?? ''}`.slice(0, 300));
  return lines;
}

/** Inputs that started nothing, each execution's trace, the copy jobs, the ledger, metrics and the result. */
export function formatReport(report: SimulationDocument, trace: Trace): string {
  const lines: string[] = [];
  for (const { source, reason } of report.unmatched) lines.push(`Input ${source}: no execution, ${reason}`);
  if (report.unmatched.length > 0 && report.executions.length > 0) lines.push('');
  for (const execution of report.executions) {
    const history = trace.executions.find((e) => e.arn === execution.arn)?.history ?? [];
    lines.push(...formatExecution(execution, history, trace.sources.get(execution.arn), report.ledger));
  }
  lines.push('', `Copy jobs (${report.copyJobs.length}):`);
  for (const job of report.copyJobs) {
    lines.push(
      `  ${job.copyJobId} ${job.state}  ${job.recoveryPointArn} → ${job.destinationVaultArn}`,
      `    token ${job.idempotencyToken}  lifecycle ${JSON.stringify(job.lifecycle ?? null)}`,
    );
  }
  lines.push('', `Ledger (${report.ledger.length} items):`);
  for (const item of report.ledger) {
    const error = item.lastError ? `  ${item.lastError.name}: ${item.lastError.message}` : '';
    lines.push(
      `  ${item.status.padEnd(9)} ${item.recoveryPointArn} → ${item.destinationVaultArn}  attempt ${item.attempt}${item.copyJobId ? `  job ${item.copyJobId}` : ''}`,
    );
    if (error) lines.push(`   ${error.slice(0, 300)}`);
  }
  const metrics = Object.entries(report.metrics);
  if (metrics.length > 0) {
    lines.push(
      '',
      'Metrics (what CloudWatch would receive):',
      ...formatTable(metrics, [
        { header: 'METRIC', value: ([name]) => name },
        { header: 'UNIT', value: ([, m]) => m.unit },
        { header: 'SAMPLES', value: ([, m]) => m.samples },
        { header: 'SUM', value: ([, m]) => Number(m.sum.toFixed(3)) },
        { header: 'MAX', value: ([, m]) => Number(m.max.toFixed(3)) },
      ]).split('\n'),
    );
  }
  // One entry per line: each line is escaped on its own below, which would turn the table's newlines into text.
  if (report.coverage)
    lines.push('', 'Coverage (npm run coverage):', ...formatCoverage(report.coverage).split('\n'));
  const byStatus = new Map<string, number>();
  for (const { status } of report.executions) byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  const executions = [...byStatus].map(([status, count]) => `${count} ${status}`).join(', ');
  const summary = [
    `${report.executions.length} execution${report.executions.length === 1 ? '' : 's'}${executions ? ` (${executions})` : ''}`,
    `${report.copyJobs.length} copy jobs`,
    ...(report.unmatched.length > 0
      ? [`${report.unmatched.length} input${report.unmatched.length === 1 ? '' : 's'} started nothing`]
      : []),
  ];
  lines.push('', `Result: ${report.status}: ${summary.join(', ')}`);
  // Every line may carry an ARN, vault name or message from an event or the ledger.
  return lines.map(escapeControl).join('\n');
}
