import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionNotRedrivable,
  type ExecutionStatus,
  RedriveExecutionCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { redriveClientToken, restartExecutionName } from '../domain/keys.js';

/**
 * The statuses RedriveExecution accepts (Step Functions developer guide, "Redriving executions",
 * https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html).
 */
export const UNSUCCESSFUL: readonly ExecutionStatus[] = ['FAILED', 'TIMED_OUT', 'ABORTED'];

export const isUnsuccessful = (status: string | undefined) =>
  UNSUCCESSFUL.includes(status as ExecutionStatus);

/** What DescribeExecution says of an ended execution, as much as resuming it needs. */
export interface EndedExecution {
  executionArn: string;
  name: string;
  input?: string;
  redriveCount: number;
  redriveStatus?: string;
  redriveStatusReason?: string;
}

export interface Resumption {
  action: 'redriven' | 'restarted' | 'skipped';
  /** What was done, or why not. */
  detail: string;
}

/**
 * Resumes an unsuccessful execution with RedriveExecution, which re-runs only what did not succeed (in a Map,
 * the unsuccessful iterations), under a client token derived from the execution and its re-drive count: AWS
 * answers a repeat of the same token with the same re-drive (its last 10 tokens, for 15 minutes). One Step
 * Functions will not re-drive (past the 14-day window, say) is started anew with the same input as
 * `<name>-rerun-<n>`; so is one given `restartWhy` (refused input, whose re-drive would only fail again).
 */
export async function resumeExecution(
  sfn: SFNClient,
  stateMachineArn: string,
  execution: EndedExecution,
  restartWhy?: string,
): Promise<Resumption> {
  if (restartWhy) return restart(sfn, stateMachineArn, execution, restartWhy);
  if (execution.redriveStatus === 'NOT_REDRIVABLE') {
    return restart(sfn, stateMachineArn, execution, execution.redriveStatusReason ?? 'not re-drivable');
  }
  try {
    await sfn.send(
      new RedriveExecutionCommand({
        executionArn: execution.executionArn,
        clientToken: redriveClientToken(execution.executionArn, execution.redriveCount),
      }),
    );
    return { action: 'redriven', detail: `re-drive ${execution.redriveCount + 1} started` };
  } catch (error) {
    if (!(error instanceof ExecutionNotRedrivable)) throw error;
    // A running execution is not re-drivable either: another caller re-drove it since it was described.
    const now = await sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }));
    if (!isUnsuccessful(now.status)) {
      return { action: 'skipped', detail: `now ${now.status}: re-driven elsewhere meanwhile` };
    }
    return restart(sfn, stateMachineArn, execution, error.message);
  }
}

/** StartExecution with the same input under a name derived from the old one; a second call finds it started. */
async function restart(
  sfn: SFNClient,
  stateMachineArn: string,
  execution: EndedExecution,
  why: string,
): Promise<Resumption> {
  if (execution.input === undefined) throw new Error('the execution input is not available to start it anew');
  const name = restartExecutionName(execution.name);
  try {
    await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: execution.input }));
    return { action: 'restarted', detail: `started anew as ${name} (${why})` };
  } catch (error) {
    if (!(error instanceof ExecutionAlreadyExists)) throw error;
    return { action: 'skipped', detail: `already started anew as ${name} (${why})` };
  }
}
