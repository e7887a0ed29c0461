/**
 * Burst drain: N recovery points arrive at once, each copied to D destination vaults (each in its own Region),
 * every copy taking the same (virtual) time. AWS Backup (the emulator) enforces either AWS's copy quotas (per
 * destination Region, per vault, per resource) or an account-wide cap of C jobs. Runs the real workflow with
 * copy slots (COPY_SLOTS) or with the state machine's Retry alone (COPY_SLOTS = 0), optionally through an outage
 * of the Backup API, and measures how close the drain comes to the ideal the quotas allow.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { AWS_COPY_QUOTAS, type CopyQuotas } from '../../local/backup-emulator.js';
import { backupJobCompleted, DR_WEST, policyFor, SOURCE_ACCOUNT } from '../../local/factories.js';
import { LocalService, type LocalServiceOptions } from '../../local/local-service.js';
import { functionNameFromArn } from '../../local/state-machine-definition.js';
import { VirtualClock } from '../../local/virtual-clock.js';
import { type DynamoDbMeter, meterDynamoDb } from './dynamodb-meter.js';

export type ThrottleMode = 'slots' | 'retry-only';

/** The destination vaults of a burst: DR_WEST first, then one vault per further Region. */
const DESTINATION_REGIONS = ['us-west-2', 'us-east-1'];
export const destinationVaults = (count: number): string[] =>
  DESTINATION_REGIONS.slice(0, count).map((region, i) =>
    i === 0 ? DR_WEST : `arn:aws:backup:${region}:${SOURCE_ACCOUNT}:backup-vault:dr-${region}`,
  );

export interface BurstOptions {
  dynamoDbEndpoint: string;
  /** DynamoDB Local's process, to report its CPU time (Linux /proc). */
  dynamoDbPid?: number;
  /** A name for the run in reports, e.g. "full-size". */
  cell?: string;
  /** Recovery points delivered at once. */
  recoveryPoints: number;
  /** Destination vaults per recovery point, each in its own Region (1 or 2). Default 1. */
  destinations?: number;
  /** Copy jobs AWS Backup runs at once per account (the emulator's account-wide cap); also COPY_SLOTS in `slots`
   *  mode unless `copySlots` is given. Default unlimited. */
  concurrency?: number;
  /** AWS's copy quotas, enforced by the emulator. */
  quotas?: CopyQuotas;
  mode: ThrottleMode;
  /** COPY_SLOTS in `slots` mode. Default `concurrency`. */
  copySlots?: number;
  /** Every Backup operation answers ServiceUnavailableException for `durationMs`, from `startMs` after the
   *  first delivery (virtual time). */
  outage?: { startMs: number; durationMs: number };
  /** Virtual duration of every copy job. */
  copyDurationMs: number;
  /** Virtual ms per wall-clock ms of work in flight (see VirtualClock). */
  busyRate: number;
  /** The cores work in flight shares (VirtualClock's processor sharing); default: none, busyRate as is. */
  busyCores?: number;
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
  cell: string;
  recoveryPoints: number;
  destinations: number;
  /** Destination Regions. */
  regions: number;
  /** Copies planned: recoveryPoints × destinations. */
  copies: number;
  /** Copies with a COMPLETED copy job when the run ended (or was stopped): how far a stopped run got. */
  completedCopies: number;
  /** The emulator's account-wide cap (null: none). */
  concurrency: number | null;
  quotas: CopyQuotas | null;
  mode: ThrottleMode;
  copySlots: number;
  copyDurationS: number;
  outageS: number;
  /** The quota-bound ideal (see {@link idealMakespanMs}) plus the outage. */
  idealS: number;
  /** Virtual seconds from the first delivery to the end of the last execution. */
  makespanS: number;
  makespanRatio: number;
  startCopyJobPerCopy: number;
  limitExceededPerCopy: number;
  /** Copy jobs beyond the first for the same (recovery point, destination). */
  duplicates: number;
  /** Copies (recovery point, destination) whose execution ended without a COMPLETED copy job. */
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
  dynamoDbRequestsPerCopy: number;
  wallSeconds: number;
  /** This process's CPU (handlers, interpreter, emulator, SDK) and DynamoDB Local's, in seconds: on a shared
   *  machine wall time is pessimistic, CPU time is what the run itself cost. */
  nodeCpuSeconds: number;
  dynamoDbCpuSeconds: number | null;
  wallMsPerCopy: number;
  cpuMsPerCopy: number;
  /** Virtual seconds the clock advanced while work was in flight (the rest it jumped to the next due event):
   *  the part of the makespan this machine's speed decides. */
  busyVirtualS: number;
  usage: Usage;
}

/**
 * The shortest drain AWS's quotas allow: each destination Region runs ⌈its copies / its concurrent jobs⌉ rounds
 * of copies (100 + 5 per destination vault there), and a resource's copies run one at a time (D × copy time).
 * With an account-wide cap C instead: ⌈copies / C⌉ rounds.
 */
export function idealMakespanMs(options: {
  recoveryPoints: number;
  destinations: number;
  copyDurationMs: number;
  quotas?: CopyQuotas;
  concurrency?: number;
}): number {
  const { recoveryPoints, destinations, copyDurationMs, quotas, concurrency } = options;
  const rounds: number[] = [];
  if (quotas) {
    // One vault per Region: each Region gets recoveryPoints copies.
    const perRegion = quotas.perRegion + quotas.perVaultOverflow;
    rounds.push(Math.ceil(recoveryPoints / perRegion), destinations * Math.ceil(1 / quotas.perResource));
  }
  if (concurrency !== undefined) rounds.push(Math.ceil((recoveryPoints * destinations) / concurrency));
  return Math.max(1, ...rounds) * copyDurationMs;
}

/** The burst section's cells (issue 13, item 7): the full-size cell, its baselines, and an outage. */
export type BurstCell = 'full-size' | 'global-10' | 'retry-only' | 'outage';

/** The old default COPY_SLOTS: one global count of 10 copies in flight, whatever their destination Region. */
const GLOBAL_DEFAULT_SLOTS = 10;

/**
 * What each cell runs, against the emulator enforcing AWS's copy quotas. full-size and outage: the default copy
 * slots, AWS's quotas. global-10: the old global 10 as per-Region slots, split evenly over the destination Regions.
 */
export function cellOptions(
  cell: BurstCell,
  sizes: { recoveryPoints: number; destinations: number; copyDurationMs: number; outageMs: number },
): Pick<BurstOptions, 'cell' | 'mode' | 'copySlots' | 'quotas' | 'outage' | 'maxMakespanRatio'> {
  const quotas = AWS_COPY_QUOTAS;
  const base = { cell, quotas, maxMakespanRatio: 3 };
  switch (cell) {
    case 'full-size':
      return { ...base, mode: 'slots', copySlots: quotas.perRegion };
    case 'global-10': {
      // Its own drain takes copies / 10 rounds: stop it only well past that.
      const rounds = Math.ceil((sizes.recoveryPoints * sizes.destinations) / GLOBAL_DEFAULT_SLOTS);
      const ideal = idealMakespanMs({ ...sizes, quotas }) / sizes.copyDurationMs;
      return {
        ...base,
        mode: 'slots',
        copySlots: GLOBAL_DEFAULT_SLOTS / sizes.destinations,
        maxMakespanRatio: (3 * rounds) / ideal,
      };
    }
    case 'retry-only':
      return { ...base, mode: 'retry-only' };
    case 'outage': {
      // In the middle of the burst: from half the quota-bound ideal on.
      const startMs = idealMakespanMs({ ...sizes, quotas }) / 2;
      return {
        ...base,
        mode: 'slots',
        copySlots: quotas.perRegion,
        outage: { startMs, durationMs: sizes.outageMs },
      };
    }
  }
}

/** CPU seconds (user + system) of a Linux process so far; null where /proc cannot tell. */
export function processCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    // /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks, after the ")" that ends the name.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
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

/** EventBridge retries a failed delivery to its target (with backoff, for up to 24 hours): so does the burst. */
async function deliverLikeEventBridge(stack: LocalService, event: unknown): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await stack.deliver(event);
      return;
    } catch (error) {
      if (attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  }
}

/** Settles `service`, or rejects once its executions wait on nothing: no timer, no copy job, no work. */
async function settleOrStall(service: LocalService, clock: VirtualClock): Promise<void> {
  let watchdog: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    let quietChecks = 0;
    watchdog = setInterval(() => {
      quietChecks = clock.stalled ? quietChecks + 1 : 0;
      if (quietChecks < 3) return;
      const running = service.stepFunctions.statusCounts().RUNNING ?? 0;
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
  const destinations = options.destinations ?? 1;
  const vaults = destinationVaults(destinations);
  const copies = n * destinations;
  const copySlots = options.mode === 'slots' ? (options.copySlots ?? options.concurrency ?? 0) : 0;
  if (options.mode === 'slots' && copySlots <= 0)
    throw new Error('slots mode needs copySlots or concurrency');
  const clock = new VirtualClock(options.busyRate, Date.now(), options.busyCores);
  const firstDelivery = clock.now();
  const outage = options.outage;
  const metered = await startMeteredService({
    dynamoDbEndpoint: options.dynamoDbEndpoint,
    policy: policyFor(vaults.map((vaultArn) => ({ vaultArn }))),
    copySlots,
    emulator: {
      copyDurationMs: options.copyDurationMs,
      ...(options.concurrency !== undefined ? { concurrencyLimit: options.concurrency } : {}),
      ...(options.quotas ? { copyQuotas: options.quotas } : {}),
      ...(outage
        ? {
            outages: [
              {
                from: firstDelivery + outage.startMs,
                to: firstDelivery + outage.startMs + outage.durationMs,
              },
            ],
          }
        : {}),
    },
    clock,
  });
  const stack = metered.service;
  const cpuStart = process.cpuUsage();
  const dynamoDbCpuStart = processCpuSeconds(options.dynamoDbPid);
  clock.start();
  const wallStart = Date.now();
  const idealMs =
    idealMakespanMs({
      recoveryPoints: n,
      destinations,
      copyDurationMs: options.copyDurationMs,
      ...(options.quotas ? { quotas: options.quotas } : {}),
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    }) + (outage?.durationMs ?? 0);
  const virtualCap = firstDelivery + (options.maxMakespanRatio ?? 3) * idealMs;
  const wallCap = wallStart + (options.maxWallSeconds ?? 300) * 1000;
  // A run that stalls (waiting on 12-hour task timeouts, say) is stopped and reported as unfinished.
  let stoppedBy: BurstResult['stoppedBy'] = 'drained';
  let stop: () => void = () => {};
  const capped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const progress = setInterval(() => {
    const counts = stack.stepFunctions.statusCounts();
    const ended = Object.values(counts).reduce((sum, count) => sum + count, 0) - (counts.RUNNING ?? 0);
    options.onProgress?.(ended, clock.now() - firstDelivery);
    if (clock.now() > virtualCap) stoppedBy = 'makespan cap';
    else if (Date.now() > wallCap) stoppedBy = 'wall-clock cap';
    if (stoppedBy !== 'drained') stop();
  }, 1000);
  try {
    // Each recovery point of its own resource: AWS runs one job per resource at a time.
    const events = Array.from({ length: n }, (_, i) =>
      backupJobCompleted(undefined, {
        resourceArn: `arn:aws:ec2:us-east-1:${SOURCE_ACCOUNT}:volume/vol-${i.toString(16).padStart(17, '0')}`,
      }),
    );
    for (const event of events) stack.seedFor(event);
    // Deliveries are work in flight: the clock must not jump ahead while StartExecution requests are sent.
    await Promise.all(events.map((event) => clock.busy(() => deliverLikeEventBridge(stack, event))));
    const settled = settleOrStall(stack, clock);
    // Stopped at the cap, the run is abandoned: its settling is of no interest any more.
    settled.catch(() => {});
    await Promise.race([settled, capped]);
    const wallSeconds = (Date.now() - wallStart) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const dynamoDbCpuEnd = processCpuSeconds(options.dynamoDbPid);

    const executions = stack.stepFunctions.executions();
    const running = executions.filter((e) => e.status === 'RUNNING');
    const lastEnd =
      running.length > 0
        ? clock.now()
        : executions.reduce((latest, e) => Math.max(latest, e.stopDate?.getTime() ?? 0), 0);
    const copyKey = (recoveryPointArn: string | undefined, vaultArn: string | undefined) =>
      `${recoveryPointArn ?? ''} ${vaultArn ?? ''}`;
    const jobsByCopy = new Map<string, { completed: boolean; jobs: number }>();
    for (const job of stack.emulator.copyJobs()) {
      const key = copyKey(job.request.RecoveryPointArn, job.request.DestinationBackupVaultArn);
      const copy = jobsByCopy.get(key) ?? { completed: false, jobs: 0 };
      copy.jobs += 1;
      copy.completed ||= job.state === 'COMPLETED';
      jobsByCopy.set(key, copy);
    }
    const makespanS = (lastEnd - firstDelivery) / 1000;
    const ended = executions.filter((e) => e.status !== 'RUNNING');
    const missing = (e: (typeof executions)[number]) => {
      const recoveryPointArn = (e.input as { resources: string[] }).resources[0];
      return vaults.filter((vault) => jobsByCopy.get(copyKey(recoveryPointArn, vault))?.completed !== true)
        .length;
    };
    const { operations, errors } = stack.emulator.calls;
    const usage = usageOf(metered, copies);
    const nodeCpuSeconds = (cpu.user + cpu.system) / 1e6;
    const dynamoDbCpuSeconds =
      dynamoDbCpuStart === null || dynamoDbCpuEnd === null ? null : dynamoDbCpuEnd - dynamoDbCpuStart;
    const dynamoDbRequests = Object.values(usage.dynamoDb.requests).reduce((sum, count) => sum + count, 0);
    return {
      cell: options.cell ?? `N=${n}`,
      recoveryPoints: n,
      destinations,
      regions: new Set(vaults.map((vault) => vault.split(':')[3])).size,
      copies,
      completedCopies: [...jobsByCopy.values()].filter((copy) => copy.completed).length,
      concurrency: options.concurrency ?? null,
      quotas: options.quotas ?? null,
      mode: options.mode,
      copySlots,
      copyDurationS: options.copyDurationMs / 1000,
      outageS: (outage?.durationMs ?? 0) / 1000,
      idealS: idealMs / 1000,
      makespanS,
      makespanRatio: makespanS / (idealMs / 1000),
      startCopyJobPerCopy: (operations.StartCopyJob ?? 0) / copies,
      limitExceededPerCopy: (errors.LimitExceededException ?? 0) / copies,
      duplicates: [...jobsByCopy.values()].reduce((sum, copy) => sum + copy.jobs - 1, 0),
      lost: ended.reduce((sum, e) => sum + missing(e), 0),
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
      transitionsPerCopy: usage.transitions / copies,
      dynamoDbRequestsPerCopy: dynamoDbRequests / copies,
      wallSeconds,
      nodeCpuSeconds,
      dynamoDbCpuSeconds,
      wallMsPerCopy: (wallSeconds * 1000) / copies,
      cpuMsPerCopy: ((nodeCpuSeconds + (dynamoDbCpuSeconds ?? 0)) * 1000) / copies,
      busyVirtualS: clock.busyAdvancedMs / 1000,
      usage,
    };
  } finally {
    clearInterval(progress);
    clock.stop();
    await stack.close();
  }
}
