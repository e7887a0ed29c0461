/**
 * Burst drain: N recovery points arrive at once, AWS Backup runs at most C copy jobs at a time, every copy takes
 * the same (virtual) time. Runs the real workflow with copy slots (COPY_SLOTS = C) or with the state machine's
 * Retry alone (COPY_SLOTS = 0), and measures how close the drain comes to the ideal N / C × copy time.
 */
import { performance } from 'node:perf_hooks';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { backupJobCompleted, policyFor } from '../../local/factories.js';
import { LocalService, type LocalServiceOptions } from '../../local/local-service.js';
import { functionNameFromArn } from '../../local/state-machine-definition.js';
import { VirtualClock } from '../../local/virtual-clock.js';
import { type DynamoDbMeter, meterDynamoDb } from './dynamodb-meter.js';

export type ThrottleMode = 'slots' | 'retry-only';

export interface BurstOptions {
  dynamoDbEndpoint: string;
  /** Recovery points delivered at once (one copy each). */
  recoveryPoints: number;
  /** Copy jobs AWS Backup runs at once; also COPY_SLOTS in `slots` mode. */
  concurrency: number;
  mode: ThrottleMode;
  /** Virtual duration of every copy job. */
  copyDurationMs: number;
  /** Virtual ms per wall-clock ms of work in flight (see VirtualClock). */
  busyRate: number;
  /** Stop a run that has not drained by this many times the ideal makespan (virtual). Default 3. */
  maxMakespanRatio?: number;
  /** Stop a run that has not drained after this many wall-clock seconds. Default 300. */
  maxWallSeconds?: number;
  /** Called about every second with the executions that have ended and the virtual time gone by. */
  onProgress?: (ended: number, virtualElapsedMs: number) => void;
}

/** What a run used, as AWS would bill it. */
export interface Usage {
  copies: number;
  executions: number;
  /** State transitions, as Step Functions Standard bills them (states entered plus retries). */
  transitions: number;
  /** Per function: invocations (from the executions' histories; copyJobEvents from EventBridge deliveries)
   *  and billed milliseconds (each invocation's measured handler time rounded up to 1 ms). */
  lambda: Record<string, { invocations: number; billedMs: number }>;
  dynamoDb: DynamoDbMeter;
}

export interface BurstResult {
  recoveryPoints: number;
  concurrency: number;
  mode: ThrottleMode;
  copyDurationS: number;
  idealS: number;
  /** Virtual seconds from the first delivery to the end of the last execution. */
  makespanS: number;
  makespanRatio: number;
  startCopyJobPerCopy: number;
  limitExceededPerCopy: number;
  /** Copy jobs beyond the first for the same (recovery point, destination). */
  duplicates: number;
  /** Recovery points whose execution ended without a COMPLETED copy. */
  lost: number;
  failedExecutions: number;
  /** Failed executions by their error, e.g. { "LimitExceededException": 970 }. */
  failures: Record<string, number>;
  /** Executions still running when the run was stopped at its cap (0 when it drained). */
  unfinished: number;
  stoppedBy: 'drained' | 'makespan cap' | 'wall-clock cap';
  /** copyJobEvents invocations that failed (EventBridge would retry them twice). */
  eventHandlerErrors: number;
  transitionsPerCopy: number;
  wallSeconds: number;
  usage: Usage;
}

/** Lambda invocations a history records: direct Lambda tasks and lambda:invoke integrations. */
function invokedFunctions(history: HistoryEvent[]): string[] {
  return history.flatMap((event) => {
    if (event.type === 'LambdaFunctionScheduled') {
      return [functionNameFromArn(event.lambdaFunctionScheduledEventDetails?.resource ?? '')];
    }
    if (event.type === 'TaskScheduled' && event.taskScheduledEventDetails?.resourceType === 'lambda') {
      const parameters = JSON.parse(event.taskScheduledEventDetails.parameters ?? '{}') as {
        FunctionName?: string;
      };
      return [functionNameFromArn(parameters.FunctionName ?? '')];
    }
    return [];
  });
}

/** A LocalService whose every invocation is timed and every DynamoDB request metered. */
export interface MeteredService {
  service: LocalService;
  /** Wall-clock ms of every invocation, per function. */
  invocations: Record<string, number[]>;
  dynamoDb: DynamoDbMeter;
}

/** Starts a LocalService on `clock`, timing each invocation (as work in flight on a VirtualClock). */
export async function startMeteredService(
  options: Omit<LocalServiceOptions, 'clock' | 'onInvoke'> & { clock?: VirtualClock },
): Promise<MeteredService> {
  const invocations: Record<string, number[]> = {};
  const timed = async (name: string, invoke: () => Promise<unknown>) => {
    const started = performance.now();
    try {
      return await invoke();
    } finally {
      const durations = invocations[name] ?? [];
      durations.push(performance.now() - started);
      invocations[name] = durations;
    }
  };
  const { clock } = options;
  const service = await LocalService.start({
    ...options,
    onInvoke: clock ? (name, invoke) => clock.busy(() => timed(name, invoke)) : timed,
  });
  return { service, invocations, dynamoDb: meterDynamoDb(service.documents) };
}

export function usageOf(metered: MeteredService, copies: number): Usage {
  const { service: stack } = metered;
  const executions = stack.stepFunctions.executions();
  const invocations = new Map<string, number>();
  for (const name of executions.flatMap((execution) => invokedFunctions(execution.history))) {
    invocations.set(name, (invocations.get(name) ?? 0) + 1);
  }
  // Not in any history: EventBridge invokes it for each Copy Job State Change the rule matches.
  invocations.set('copyJobEvents', metered.invocations.copyJobEvents?.length ?? 0);
  const lambda = Object.fromEntries(
    [...invocations].map(([name, count]) => [
      name,
      {
        invocations: count,
        billedMs: (metered.invocations[name] ?? []).reduce((sum, ms) => sum + Math.ceil(ms), 0),
      },
    ]),
  );
  return {
    copies,
    executions: executions.length,
    transitions: executions.reduce((sum, execution) => sum + execution.transitions, 0),
    lambda,
    dynamoDb: metered.dynamoDb,
  };
}

/** Settles `service`, or rejects once its executions wait on nothing: no timer, no copy job, no work. */
async function settleOrStall(service: LocalService, clock: VirtualClock): Promise<void> {
  let watchdog: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    let quietChecks = 0;
    watchdog = setInterval(() => {
      quietChecks = clock.stalled ? quietChecks + 1 : 0;
      if (quietChecks < 3) return;
      const running = service.stepFunctions.executions().filter((e) => e.status === 'RUNNING').length;
      reject(new Error(`${running} executions wait on nothing: no timer, no copy job, no work in flight`));
    }, 500);
  });
  try {
    await Promise.race([service.settle(), stalled]);
  } finally {
    clearInterval(watchdog);
  }
}

export async function runBurst(options: BurstOptions): Promise<BurstResult> {
  const n = options.recoveryPoints;
  const clock = new VirtualClock(options.busyRate);
  const metered = await startMeteredService({
    dynamoDbEndpoint: options.dynamoDbEndpoint,
    policy: policyFor(),
    copySlots: options.mode === 'slots' ? options.concurrency : 0,
    emulator: { concurrencyLimit: options.concurrency, copyDurationMs: options.copyDurationMs },
    clock,
  });
  const stack = metered.service;
  clock.start();
  const wallStart = Date.now();
  const firstDelivery = clock.now();
  const idealS = (Math.ceil(n / options.concurrency) * options.copyDurationMs) / 1000;
  const virtualCap = firstDelivery + (options.maxMakespanRatio ?? 3) * idealS * 1000;
  const wallCap = wallStart + (options.maxWallSeconds ?? 300) * 1000;
  // A run that stalls (waiting on 12-hour task timeouts, say) is stopped and reported as unfinished.
  let stoppedBy: BurstResult['stoppedBy'] = 'drained';
  let stop: () => void = () => {};
  const capped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const progress = setInterval(() => {
    const ended = stack.stepFunctions.executions().filter((e) => e.status !== 'RUNNING').length;
    options.onProgress?.(ended, clock.now() - firstDelivery);
    if (clock.now() > virtualCap) stoppedBy = 'makespan cap';
    else if (Date.now() > wallCap) stoppedBy = 'wall-clock cap';
    if (stoppedBy !== 'drained') stop();
  }, 1000);
  try {
    const events = Array.from({ length: n }, () => backupJobCompleted());
    for (const event of events) stack.seedFor(event);
    // Deliveries are work in flight: the clock must not jump ahead while StartExecution requests are sent.
    await Promise.all(events.map((event) => clock.busy(() => stack.deliver(event))));
    const settled = settleOrStall(stack, clock);
    // Stopped at the cap, the run is abandoned: its settling is of no interest any more.
    settled.catch(() => {});
    await Promise.race([settled, capped]);

    const executions = stack.stepFunctions.executions();
    const running = executions.filter((e) => e.status === 'RUNNING');
    const lastEnd =
      running.length > 0 ? clock.now() : Math.max(...executions.map((e) => e.stopDate?.getTime() ?? 0));
    const jobsByCopy = new Map<string, { completed: boolean; jobs: number }>();
    for (const job of stack.emulator.copyJobs()) {
      const copy = jobsByCopy.get(job.request.RecoveryPointArn ?? '') ?? { completed: false, jobs: 0 };
      copy.jobs += 1;
      copy.completed ||= job.state === 'COMPLETED';
      jobsByCopy.set(job.request.RecoveryPointArn ?? '', copy);
    }
    const copies = [...jobsByCopy.values()];
    const makespanS = (lastEnd - firstDelivery) / 1000;
    const ended = executions.filter((e) => e.status !== 'RUNNING');
    const copied = (e: (typeof executions)[number]) =>
      jobsByCopy.get((e.input as { resources: string[] }).resources[0] ?? '')?.completed === true;
    const { operations, errors } = stack.emulator.calls;
    const usage = usageOf(metered, n);
    return {
      recoveryPoints: n,
      concurrency: options.concurrency,
      mode: options.mode,
      copyDurationS: options.copyDurationMs / 1000,
      idealS,
      makespanS,
      makespanRatio: makespanS / idealS,
      startCopyJobPerCopy: (operations.StartCopyJob ?? 0) / n,
      limitExceededPerCopy: (errors.LimitExceededException ?? 0) / n,
      duplicates: copies.reduce((sum, copy) => sum + copy.jobs - 1, 0),
      lost: ended.filter((e) => !copied(e)).length,
      failedExecutions: ended.filter((e) => e.status !== 'SUCCEEDED').length,
      failures: ended
        .filter((e) => e.status !== 'SUCCEEDED')
        .reduce<Record<string, number>>((counts, e) => {
          const error = e.error ?? e.status;
          counts[error] = (counts[error] ?? 0) + 1;
          return counts;
        }, {}),
      unfinished: running.length,
      stoppedBy: running.length > 0 ? stoppedBy : 'drained',
      eventHandlerErrors: stack.deliveryErrors.length,
      transitionsPerCopy: usage.transitions / n,
      wallSeconds: (Date.now() - wallStart) / 1000,
      usage,
    };
  } finally {
    clearInterval(progress);
    clock.stop();
    await stack.close();
  }
}
