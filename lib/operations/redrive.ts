import {
  DescribeExecutionCommand,
  type ExecutionListItem,
  paginateGetExecutionHistory,
  paginateListExecutions,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { isUnsuccessful, resumeExecution, UNSUCCESSFUL } from '../aws/executions.js';
import type { CopyLedger } from '../aws/ledger.js';
import { describeStepError, INPUT_REJECTED } from '../contracts.js';
import { findRecoveryPointArn } from '../domain/event.js';
import { rejectedInputKey, restartExecutionName } from '../domain/keys.js';
import { type LedgerError, type LedgerRecord, PLAN_KEY } from '../domain/ledger-record.js';
import { errorSummary } from '../errors.js';

export interface RedriveDependencies {
  sfn: SFNClient;
  ledger: CopyLedger;
  /** Where restarted executions are started: the state machine the failed ones belong to. */
  stateMachineArn: string;
}

/**
 * Unsuccessful executions of the state machine that stopped at or after `since` and were never re-driven,
 * oldest first (the nearest to the end of the 14-day re-drive window go first), at most `limit`.
 */
export async function findRedrivable(options: {
  sfn: SFNClient;
  stateMachineArn: string;
  since: Date;
  limit?: number;
  /** ListExecutions maxResults; the API default (100) unless set. */
  pageSize?: number;
}): Promise<ExecutionListItem[]> {
  const { sfn, stateMachineArn, since, limit, pageSize } = options;
  const found: ExecutionListItem[] = [];
  for (const statusFilter of UNSUCCESSFUL) {
    const pages = paginateListExecutions(
      { client: sfn, ...(pageSize ? { pageSize } : {}) },
      { stateMachineArn, statusFilter, redriveFilter: 'NOT_REDRIVEN' },
    );
    // Listed newest started first, but a long run can start before `since` and stop after it: read every page.
    for await (const page of pages) {
      found.push(...(page.executions ?? []).filter((e) => e.stopDate && e.stopDate >= since));
    }
  }
  found.sort((a, b) => (a.stopDate?.getTime() ?? 0) - (b.stopDate?.getTime() ?? 0));
  return limit === undefined ? found : found.slice(0, limit);
}

export interface FailureExplanation {
  executionArn: string;
  name: string;
  status: string;
  /** The execution's error, e.g. CopyJobFailedError or InputRejected. */
  error: string;
  /** Why, in words: the ledger's account when it has one, else the execution's cause. */
  reason: string;
  /** The state that failed (or timed out, or ran when the execution stopped), from its history. */
  failedState?: string;
  recoveryPointArn?: string;
  input?: string;
  redriveCount: number;
  redriveStatus?: string;
  redriveStatusReason?: string;
}

/** Reads why an execution failed: DescribeExecution, the tail of its history, and the ledger's items. */
export async function explainFailure(
  deps: Pick<RedriveDependencies, 'sfn' | 'ledger'>,
  executionArn: string,
): Promise<FailureExplanation> {
  const execution = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
  const input = parseInput(execution.input);
  const recoveryPointArn = findRecoveryPointArn(input);
  const [failedState, records] = await Promise.all([
    failedStateOf(deps.sfn, executionArn),
    // The key recordRejection used: input naming no recovery point is recorded under a digest of the input.
    execution.input === undefined
      ? Promise.resolve([])
      : ledgerRecords(deps.ledger, recoveryPointArn ?? rejectedInputKey(input)),
  ]);
  const error = execution.error ?? execution.status ?? 'UNKNOWN';
  const cause = execution.cause && describeStepError({ Error: error, Cause: execution.cause }).message;
  const because = ledgerReason(records) ?? (cause ? `${error}: ${cause}` : error);
  return {
    executionArn,
    name: execution.name ?? executionArn,
    status: execution.status ?? 'UNKNOWN',
    error,
    reason: failedState ? `${failedState}: ${because}` : because,
    ...(failedState ? { failedState } : {}),
    ...(recoveryPointArn ? { recoveryPointArn } : {}),
    ...(execution.input !== undefined ? { input: execution.input } : {}),
    redriveCount: execution.redriveCount ?? 0,
    ...(execution.redriveStatus ? { redriveStatus: execution.redriveStatus } : {}),
    ...(execution.redriveStatusReason ? { redriveStatusReason: execution.redriveStatusReason } : {}),
  };
}

function parseInput(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The state the failure happened in. The history's last event (ExecutionFailed, ExecutionTimedOut,
 * ExecutionAborted) links through previousEventId along the events of the failing thread (e.g. MapStateFailed,
 * MapIterationFailed, TaskFailed, TaskStarted, TaskScheduled) to the StateEntered of the state that failed. The
 * last state entered is not it: other Map iterations keep entering states until the Map stops them.
 */
async function failedStateOf(sfn: SFNClient, executionArn: string): Promise<string | undefined> {
  const pages = paginateGetExecutionHistory(
    { client: sfn, pageSize: 1000 },
    { executionArn, reverseOrder: true, includeExecutionData: false },
  );
  let wanted: number | undefined;
  for await (const page of pages) {
    for (const event of page.events ?? []) {
      wanted ??= event.id;
      if (event.id !== wanted) continue;
      if (event.type?.endsWith('StateEntered')) return event.stateEnteredEventDetails?.name;
      wanted = event.previousEventId;
    }
  }
  return undefined;
}

/** The plan item and, when planned, each destination's copy item. */
async function ledgerRecords(ledger: CopyLedger, recoveryPointArn: string): Promise<LedgerRecord[]> {
  const plan = await ledger.get({ recoveryPointArn, destinationVaultArn: PLAN_KEY });
  if (!plan) return [];
  const copies = await Promise.all(
    (plan.destinations ?? []).map((destinationVaultArn) =>
      ledger.get({ recoveryPointArn, destinationVaultArn }),
    ),
  );
  return [plan, ...copies.filter((copy) => copy !== undefined)];
}

const formatError = (error: LedgerError) => `${error.name}: ${error.message}`;
/** `dr-west` of `arn:aws:backup:us-west-2:111111111111:backup-vault:dr-west`: short enough to read in a table. */
const vaultName = (vaultArn: string) => vaultArn.slice(vaultArn.lastIndexOf(':') + 1);

function ledgerReason(records: LedgerRecord[]): string | undefined {
  const [plan, ...copies] = records;
  if (plan && plan.status !== 'PLANNED' && plan.lastError) {
    return `plan ${plan.status}: ${formatError(plan.lastError)}`;
  }
  const troubled = copies.filter((copy) => copy.status !== 'COMPLETED' && copy.lastError);
  if (troubled.length > 0) {
    return troubled
      .map(
        (copy) =>
          `${vaultName(copy.destinationVaultArn)} ${copy.status}: ${formatError(copy.lastError as LedgerError)}`,
      )
      .join('; ');
  }
  if (copies.length > 0 && copies.every((copy) => copy.status === 'COMPLETED')) {
    return 'every planned copy has COMPLETED since (a later execution made them)';
  }
  return undefined;
}

export type RedriveAction = 'redriven' | 'restarted' | 'skipped' | 'failed';

export interface RedriveResult {
  executionArn: string;
  name: string;
  status: string;
  recoveryPointArn?: string;
  error: string;
  reason: string;
  action: RedriveAction;
  /** What was done, or why not. */
  detail: string;
}

export interface RedriveOptions {
  /** Explain and say what would be done, change nothing. */
  dryRun?: boolean;
  /** Also start executions whose input was refused anew (after fixing the policy, say). */
  includeRejected?: boolean;
}

/**
 * Explains and re-drives each execution in turn. An execution Step Functions will not re-drive (older than the
 * re-drive window, say) is started anew with the same input. One execution's error is its result; the rest go on.
 */
export async function redriveAll(
  deps: RedriveDependencies,
  executions: readonly ExecutionListItem[],
  options: RedriveOptions = {},
  onResult: (result: RedriveResult, done: number) => void = () => {},
): Promise<RedriveResult[]> {
  const results: RedriveResult[] = [];
  for (const execution of executions) {
    const result = await redriveOne(deps, execution, options);
    results.push(result);
    onResult(result, results.length);
  }
  return results;
}

async function redriveOne(
  deps: RedriveDependencies,
  execution: ExecutionListItem,
  options: RedriveOptions,
): Promise<RedriveResult> {
  const executionArn = execution.executionArn ?? '';
  let explanation: FailureExplanation | undefined;
  try {
    explanation = await explainFailure(deps, executionArn);
    const outcome = await redrive(deps, explanation, options);
    const { name, status, error, reason, recoveryPointArn } = explanation;
    return {
      executionArn,
      name,
      status,
      ...(recoveryPointArn ? { recoveryPointArn } : {}),
      error,
      reason,
      ...outcome,
    };
  } catch (failure) {
    const { name, message } = errorSummary(failure);
    return {
      executionArn,
      name: execution.name ?? executionArn,
      status: execution.status ?? 'UNKNOWN',
      error: explanation?.error ?? '',
      reason: explanation?.reason ?? '',
      action: 'failed',
      detail: `${name}: ${message}`,
    };
  }
}

type Outcome = Pick<RedriveResult, 'action' | 'detail'>;

/**
 * Re-drives one explained execution, or starts it anew when it cannot be re-driven (lib/aws/executions.ts
 * resumeExecution). Refused input is skipped unless `includeRejected`; then it is started anew, because a
 * re-drive resumes at the Rejected Fail state and fails again, while a new execution re-reads it.
 */
export async function redrive(
  deps: RedriveDependencies,
  execution: FailureExplanation,
  options: RedriveOptions = {},
): Promise<Outcome> {
  // Listed as unsuccessful, described as something else: someone re-drove it since. Leave it be.
  if (!isUnsuccessful(execution.status)) {
    return { action: 'skipped', detail: `now ${execution.status}: re-driven elsewhere since it was listed` };
  }
  const rejected = execution.error === INPUT_REJECTED;
  if (rejected && !options.includeRejected) {
    return {
      action: 'skipped',
      detail: 'input refused; --include-rejected starts it anew',
    };
  }
  if (options.dryRun) {
    return {
      action: 'skipped',
      detail:
        rejected || execution.redriveStatus === 'NOT_REDRIVABLE'
          ? `dry run: would start anew as ${restartExecutionName(execution.name)}`
          : 'dry run: would re-drive',
    };
  }
  return resumeExecution(deps.sfn, deps.stateMachineArn, execution, rejected ? 'input refused' : undefined);
}
