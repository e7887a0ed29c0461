import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { SimulationReport } from '../local/local-service.js';

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

/** Each execution's states in order with failures, then the copy jobs and the ledger. */
export function formatReport(
  report: SimulationReport,
  executions: { arn: string; history: HistoryEvent[] }[],
): string {
  const lines: string[] = [];
  for (const execution of report.executions) {
    lines.push(
      `Execution ${execution.name}: ${execution.status} (${execution.transitions} state transitions)`,
    );
    const history = executions.find((e) => e.arn === execution.arn)?.history ?? [];
    for (const event of history) {
      if (event.type?.endsWith('StateEntered')) lines.push(`  → ${event.stateEnteredEventDetails?.name}`);
      const failure = failureOf(event);
      if (failure && event.type !== 'ExecutionFailed') lines.push(`      ✗ ${failure}`);
    }
    if (execution.error) lines.push(`  ✗ ${execution.error}: ${execution.cause ?? ''}`.slice(0, 300));
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
  lines.push('', `Result: ${report.status}`);
  return lines.join('\n');
}
