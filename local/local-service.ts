import { randomUUID } from 'node:crypto';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { MetadataBearer, MiddlewareStack } from '@smithy/types';
import type { Context } from 'aws-lambda';
import { createBackupClient, createDocumentClient, createSfnClient } from '../lib/aws/clients.js';
import type { CopyLedger } from '../lib/aws/ledger.js';
import { COPY_JOB_STATE_OUTCOME } from '../lib/copy.js';
import { DEFAULT_REGIONAL_COPY_SLOTS } from '../lib/domain/copy-slots.js';
import type { LedgerRecord } from '../lib/domain/ledger-record.js';
import type { CopyPolicy } from '../lib/domain/policy.js';
import { RetryableAwsError } from '../lib/errors.js';
import { createRuntime, type Runtime } from '../lib/runtime.js';
import {
  type AwsFault,
  type AwsService,
  CONNECTION_RESET,
  FaultQueue,
  isNetworkErrorCode,
  networkError,
  requestText,
} from './aws-faults.js';
import {
  BackupEmulator,
  type BackupEmulatorOptions,
  type BackupOperation,
  type RecoveryPoint,
} from './backup-emulator.js';
import { type Clock, wallClock } from './clock.js';
import { DynamoDbFaultProxy } from './dynamodb-fault-proxy.js';
import { createLedgerTable, DUMMY_CREDENTIALS, startDynamoDbLocal } from './dynamodb-local.js';
import { matchesPattern } from './event-pattern.js';
import {
  copyJobEventsPattern,
  executionStatusPattern,
  type Handler,
  intakePattern,
  lambdaContext,
  loadHandlers,
} from './serverless-functions.js';
import { loadDefinition } from './state-machine-definition.js';
import {
  type ExecutionStatusChangeEvent,
  type LocalExecution,
  LocalStepFunctions,
  type LocalStepFunctionsOptions,
} from './step-functions.js';

const root = new URL('../', import.meta.url);
const REGION = 'us-east-1';

/** Wraps every Lambda invocation (from the state machine or EventBridge): `invoke` runs the handler. */
export type InvocationHook = (functionName: string, invoke: () => Promise<unknown>) => Promise<unknown>;

export interface LocalServiceOptions {
  policy: CopyPolicy;
  /** An already running DynamoDB Local; otherwise one is started (and stopped on close). */
  dynamoDbEndpoint?: string;
  /** The ledger table, created at start. Default a fresh name, so services can share one DynamoDB Local. */
  ledgerTable?: string;
  emulator?: Omit<BackupEmulatorOptions, 'clock'>;
  stepFunctions?: Pick<LocalStepFunctionsOptions, 'port' | 'stateMachineName'>;
  /** The clock of the emulator and the state machine (e.g. a VirtualClock); handlers keep the wall clock.
   *  Default the wall clock. */
  clock?: Clock;
  /** Scales every wait, retry interval and task timeout of the state machine (0.001: a second lasts 1 ms).
   *  Default 0.001 on the wall clock, 1 on a given clock. */
  timeScale?: number;
  /** Copy jobs in flight per (source account, destination Region) (COPY_SLOTS); 0 for retry-only throttling.
   *  Default 100, AWS Backup's quota. */
  copySlots?: number;
  /** Overrides of copySlots by destination Region (COPY_SLOTS_BY_REGION). */
  copySlotsByRegion?: Record<string, number>;
  /** How long StartCopyJob may answer ServiceUnavailable before a copy fails (COPY_START_PATIENCE_HOURS).
   *  Default 8 hours (on the handlers' wall clock). */
  copyStartPatienceMs?: number;
  /** Around every invocation, e.g. to time it. */
  onInvoke?: InvocationHook;
  /** Faults to answer from the start (see {@link LocalService.injectFault}). */
  faults?: readonly AwsFault[];
  /** Put a fault-injecting proxy in front of DynamoDB Local, so DynamoDB faults can be injected later.
   *  Default: only when `faults` has a DynamoDB one (the proxy costs every ledger call a hop). */
  dynamoDbFaults?: boolean;
}

export interface SimulationReport {
  status: 'SUCCEEDED' | 'FAILED';
  executions: Pick<
    LocalExecution,
    'arn' | 'name' | 'status' | 'error' | 'cause' | 'transitions' | 'redriveCount'
  >[];
  copyJobs: {
    copyJobId: string;
    recoveryPointArn: string;
    destinationVaultArn: string;
    idempotencyToken: string | undefined;
    lifecycle: unknown;
    state: string;
  }[];
  ledger: LedgerRecord[];
}

/**
 * Lambda's longest timeout as every handler's remaining time, as the local Step Functions service gives: under
 * a burst of thousands of executions this machine, not the function, is slow, and middy would abort at 30 s.
 */
const REMAINING_MS = 900_000;

/** Lambda's retries of a failed asynchronous invocation (an EventBridge rule target's), by default. */
const ASYNC_RETRIES = 2;
/** The intake rule target's retryPolicy.maximumRetryAttempts (serverless.yml). */
const INTAKE_RETRIES = 185;

/**
 * The whole service on one machine: the real state machine definition in the local Step Functions service,
 * the real handlers in-process, DynamoDB Local for the ledger, the AWS Backup emulator, and EventBridge's
 * two rules (evaluated with their serverless.yml patterns) routing events to the state machine and to
 * copyJobEvents. simulate, `npm run local`, the benchmarks and the integration tests all run this one.
 */
export class LocalService {
  private readonly deliveries = new Set<Promise<unknown>>();
  /** Handler invocations not yet returned: a task's Lambda can outlive its execution, as on AWS. */
  private readonly invocations = new Set<Promise<unknown>>();
  private closing = false;
  readonly deliveryErrors: unknown[] = [];

  private constructor(
    /** The account and Region the functions run in: the emulator's. */
    private readonly deployment: { region: string; accountId: string },
    readonly emulator: BackupEmulator,
    readonly stepFunctions: LocalStepFunctions,
    /** What the handlers are built over: the ledger, copy slots, clients and configuration. */
    readonly runtime: Runtime,
    /** The handlers' DynamoDB client: tests add middleware to it to inject crashes at the ledger. */
    readonly documents: DynamoDBDocumentClient,
    readonly sfn: SFNClient,
    private readonly handlers: Record<string, Handler>,
    private readonly onInvoke: InvocationHook,
    private readonly stopDynamoDb: () => Promise<void>,
    private readonly timing: { clock: Clock; timeScale: number },
    private readonly dynamoDbFaultProxy: DynamoDbFaultProxy | undefined,
    private readonly networkFaults: Record<AwsService, FaultQueue<AwsFault>>,
  ) {}

  get ledger(): CopyLedger {
    return this.runtime.ledger;
  }

  static async start(options: LocalServiceOptions): Promise<LocalService> {
    const dynamo = options.dynamoDbEndpoint
      ? { endpoint: options.dynamoDbEndpoint, stop: async () => {} }
      : await startDynamoDbLocal();
    // A failed start stops what it started: DynamoDB Local is a Java process that would outlive us.
    const started: (() => Promise<void>)[] = [dynamo.stop];
    try {
      return await LocalService.startOn(dynamo, options, started);
    } catch (error) {
      for (const stop of started.reverse()) await stop().catch(() => {});
      throw error;
    }
  }

  private static async startOn(
    dynamo: { endpoint: string; stop: () => Promise<void> },
    options: LocalServiceOptions,
    started: (() => Promise<void>)[],
  ): Promise<LocalService> {
    const tableName = options.ledgerTable ?? `ledger-${randomUUID()}`;
    await createLedgerTable(dynamo.endpoint, tableName);
    const vaults = [...new Set(options.policy.rules.flatMap((rule) => rule.match.sourceVaults))];
    const clock = options.clock ? { clock: options.clock } : {};
    const timeScale = options.timeScale ?? (options.clock ? 1 : 0.001);
    const emulator = await BackupEmulator.start({ region: REGION, vaults, ...options.emulator, ...clock });
    started.push(() => emulator.close());

    let service: LocalService | undefined;
    const handlers = await loadHandlers(() => {
      if (!service) throw new Error('runtime used before the service started');
      return service.runtime;
    });
    // The functions run in the account and Region of the recovery points they copy, as a deployment does.
    const deployment = { region: REGION, accountId: emulator.options.accountId };
    const stepFunctions = await LocalStepFunctions.start({
      definition: loadDefinition(
        new URL('statemachines/copy-recovery-point.asl.yml', root).pathname,
        deployment,
      ),
      invoke: (name, payload, context) => {
        if (!service) throw new Error('invoked before the service started');
        return service.invoke(name, payload, context);
      },
      timeScale,
      onExecutionStatusChange: (event) => service?.routeExecutionStatusChange(event),
      ...options.stepFunctions,
      ...clock,
    });
    started.push(() => stepFunctions.close());
    const proxy =
      (options.dynamoDbFaults ?? options.faults?.some((f) => f.service === 'DynamoDB'))
        ? await DynamoDbFaultProxy.start(dynamo.endpoint)
        : undefined;
    if (proxy) started.push(() => proxy.close());
    // The handlers' clients, built as the functions build them (error classification and SDK retries included).
    const clientConfig = { region: REGION, credentials: DUMMY_CREDENTIALS };
    const sfn = createSfnClient({ ...clientConfig, endpoint: stepFunctions.endpoint });
    const documents = createDocumentClient({ ...clientConfig, endpoint: proxy?.endpoint ?? dynamo.endpoint });
    const backup = createBackupClient({ ...clientConfig, endpoint: emulator.endpoint });
    const networkFaults = {
      Backup: injectNetworkErrors(backup),
      DynamoDB: injectNetworkErrors(documents),
      SFN: injectNetworkErrors(sfn),
    };
    const runtime = createRuntime(
      {
        ledgerTable: tableName,
        policy: options.policy,
        copySlots: options.copySlots ?? DEFAULT_REGIONAL_COPY_SLOTS,
        copySlotsByRegion: options.copySlotsByRegion ?? {},
        copyStartPatienceMs: options.copyStartPatienceMs ?? 8 * 3_600_000,
      },
      { backup, documents, sfn },
    );
    service = new LocalService(
      deployment,
      emulator,
      stepFunctions,
      runtime,
      documents,
      sfn,
      handlers,
      options.onInvoke ?? ((_, invoke) => invoke()),
      dynamo.stop,
      { clock: options.clock ?? wallClock, timeScale },
      proxy,
      networkFaults,
    );
    for (const fault of options.faults ?? []) service.injectFault(fault);
    const ready = service;
    emulator.onCopyJobStateChange((event) => ready.routeCopyJobEvent(event));
    return service;
  }

  /** Runs one function's real handler, through the `onInvoke` hook. */
  invoke(
    name: string,
    payload: unknown,
    context: Context = lambdaContext(name, REMAINING_MS, this.deployment),
  ): Promise<unknown> {
    const handler = this.handlers[name];
    if (!handler) throw new Error(`no function ${name} in serverless.yml`);
    const invocation = this.onInvoke(name, () => handler(payload, context));
    const returned: Promise<unknown> = invocation
      .catch(() => undefined)
      .finally(() => this.invocations.delete(returned));
    this.invocations.add(returned);
    return invocation;
  }

  /**
   * EventBridge's copy-job rule: matching events invoke copyJobEvents asynchronously, as a rule target does,
   * and a failed invocation is tried twice more, 1 and 2 minutes later (scaled): Lambda's default for
   * asynchronous invocation (MaximumRetryAttempts 2).
   */
  private routeCopyJobEvent(event: unknown): void {
    if (matchesPattern(copyJobEventsPattern, event)) this.deliverToFunction('copyJobEvents', event);
  }

  /** The execution-status rule, its stateMachineArn being this service's state machine. */
  routeExecutionStatusChange(event: ExecutionStatusChangeEvent): void {
    if (this.closing) return;
    const pattern = executionStatusPattern(this.stepFunctions.stateMachineArn);
    if (matchesPattern(pattern, event)) this.deliverToFunction('releaseCopySlots', event);
  }

  /** An asynchronous Lambda invocation, retried twice (a minute, then two minutes later) as Lambda does. */
  private deliverToFunction(name: string, event: unknown): void {
    const attempt = async (retriesLeft: number): Promise<unknown> => {
      try {
        return await this.invoke(name, structuredClone(event));
      } catch (error) {
        if (retriesLeft === 0) throw error;
        const delayMs = (ASYNC_RETRIES - retriesLeft + 1) * 60_000 * this.timing.timeScale;
        await new Promise((resolve) => this.timing.clock.setTimeout(() => resolve(undefined), delayMs));
        return attempt(retriesLeft - 1);
      }
    };
    const delivery = attempt(ASYNC_RETRIES)
      .catch((error) => this.deliveryErrors.push(error))
      .finally(() => this.deliveries.delete(delivery));
    this.deliveries.add(delivery);
  }

  /**
   * From the next call of `fault.operation` on, `count` calls fail with the fault: AWS error codes and HTTP
   * statuses are answered on the wire by the service's stand-in (the Backup emulator, the DynamoDB proxy, the
   * Step Functions service); ECONNRESET drops the connection there; other Node network codes, which no local
   * server can cause, are raised by the handlers' client inside its SDK retries, as its HTTP handler would.
   */
  injectFault(fault: AwsFault): void {
    if (isNetworkErrorCode(fault.error) && fault.error !== CONNECTION_RESET) {
      this.networkFaults[fault.service].add(fault);
    } else if (fault.service === 'Backup') {
      this.emulator.injectFault({ ...fault, operation: fault.operation as BackupOperation });
    } else if (fault.service === 'SFN') {
      this.stepFunctions.injectFault(fault);
    } else if (this.dynamoDbFaultProxy) {
      this.dynamoDbFaultProxy.injectFault(fault);
    } else {
      throw new Error('DynamoDB faults need LocalService.start({ dynamoDbFaults: true })');
    }
  }

  /** How many injected fault answers no call has met yet, over every service. */
  pendingFaults(): number {
    const network = Object.values(this.networkFaults).reduce((sum, faults) => sum + faults.pending(), 0);
    return (
      network +
      this.emulator.pendingFaults() +
      this.stepFunctions.pendingFaults() +
      (this.dynamoDbFaultProxy?.pendingFaults() ?? 0)
    );
  }

  /** The next copy job to each of these destination vaults ends FAILED (simulate's and local's --fail-copy). */
  failNextCopyTo(vaultArns: readonly string[]): void {
    for (const vaultArn of vaultArns) {
      this.emulator.failCopy(
        { destinationBackupVaultArn: vaultArn },
        { state: 'FAILED', message: 'injected by --fail-copy' },
      );
    }
  }

  /**
   * Puts a recovery point where the emulator can describe it: from an event (resources[0], detail) or
   * a manual input; `overrides` set any DescribeRecoveryPoint field.
   */
  seedFor(input: unknown, overrides: Partial<RecoveryPoint> = {}): RecoveryPoint | undefined {
    const value = input as {
      resources?: string[];
      recoveryPointArn?: string;
      sourceBackupVaultName?: string;
      detail?: { backupVaultName?: string; resourceType?: string; resourceArn?: string };
    };
    const recoveryPointArn = value?.resources?.[0] ?? value?.recoveryPointArn;
    if (typeof recoveryPointArn !== 'string') return undefined;
    return this.emulator.seedRecoveryPoint({
      RecoveryPointArn: recoveryPointArn,
      BackupVaultName: value.detail?.backupVaultName ?? value.sourceBackupVaultName,
      ...(value?.detail?.resourceType ? { ResourceType: value.detail.resourceType } : {}),
      ...(value.detail?.resourceArn ? { ResourceArn: value.detail.resourceArn } : {}),
      ...overrides,
    });
  }

  /**
   * Delivers an input the way it reaches the service: an event goes through the intake rule (ignored unless
   * its pattern matches), anything else is an operator's StartExecution. Returns the execution ARN, if any.
   */
  async deliver(input: unknown, name?: string): Promise<string | undefined> {
    const isEvent = typeof input === 'object' && input !== null && 'detail-type' in input;
    if (isEvent && !matchesPattern(intakePattern, input)) return undefined;
    const start = new StartExecutionCommand({
      stateMachineArn: this.stepFunctions.stateMachineArn,
      input: JSON.stringify(input),
      ...(name ? { name } : {}),
    });
    // The intake rule's target retries a throttled or failed StartExecution (retryPolicy in serverless.yml).
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.sfn.send(start)).executionArn;
      } catch (error) {
        if (!(error instanceof RetryableAwsError) || attempt > INTAKE_RETRIES) throw error;
      }
    }
  }

  /** Waits until no execution runs and no event is being delivered. */
  async settle(): Promise<void> {
    do {
      await this.stepFunctions.waitForIdle();
      await Promise.all([...this.deliveries]);
    } while (this.deliveries.size > 0 || (this.stepFunctions.statusCounts().RUNNING ?? 0) > 0);
  }

  /**
   * Waits until nothing at all is happening: settled, no handler still running after its execution ended (as on
   * AWS, it can still start a job, take a slot or hand one on), and no copy job in progress (its end is an event).
   */
  async untilQuiet(): Promise<void> {
    for (;;) {
      await this.settle();
      await Promise.all([...this.invocations]);
      if (this.invocations.size > 0 || this.deliveries.size > 0) continue;
      const inProgress = this.emulator
        .copyJobs()
        .some((job) => COPY_JOB_STATE_OUTCOME[job.state] === 'in progress');
      if (!inProgress && this.deliveries.size === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async report(): Promise<SimulationReport> {
    const executions = this.stepFunctions
      .executions()
      .map(({ arn, name, status, error, cause, transitions, redriveCount }) => ({
        arn,
        name,
        status,
        error,
        cause,
        transitions,
        redriveCount,
      }));
    const copyJobs = this.emulator.copyJobs().map((job) => ({
      copyJobId: job.copyJobId,
      recoveryPointArn: job.request.RecoveryPointArn ?? '',
      destinationVaultArn: job.request.DestinationBackupVaultArn ?? '',
      idempotencyToken: job.idempotencyToken,
      lifecycle: job.request.Lifecycle,
      state: job.state,
    }));
    const ledger = (await this.ledger.scan()).sort((a, b) =>
      `${a.recoveryPointArn}${a.destinationVaultArn}`.localeCompare(
        `${b.recoveryPointArn}${b.destinationVaultArn}`,
      ),
    );
    const status =
      executions.length > 0 && executions.every((e) => e.status === 'SUCCEEDED') ? 'SUCCEEDED' : 'FAILED';
    return { status, executions, copyJobs, ledger };
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.stepFunctions.close();
    await this.emulator.close();
    this.sfn.destroy();
    this.runtime.backup.destroy();
    this.documents.destroy();
    await this.dynamoDbFaultProxy?.close();
    await this.stopDynamoDb();
  }
}

/**
 * Lets a test fail a client's calls with a Node network error (ETIMEDOUT, EAI_AGAIN...), thrown where its HTTP
 * handler would throw it: inside the SDK's retries, so they and the error classification both see it.
 */
function injectNetworkErrors(client: {
  middlewareStack: MiddlewareStack<object, MetadataBearer>;
}): FaultQueue<AwsFault> {
  const faults = new FaultQueue<AwsFault>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName).replace(/Command$/, '');
      const request = args.request as { path?: string; body?: unknown };
      const body =
        typeof request.body === 'string'
          ? request.body
          : request.body instanceof Uint8Array
            ? new TextDecoder().decode(request.body)
            : '';
      const fault = faults.take(operation, requestText(request.path ?? '', body));
      if (fault) throw networkError(fault.error, operation);
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'injectedNetworkErrors' },
  );
  return faults;
}
