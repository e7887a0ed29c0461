import { randomUUID } from 'node:crypto';
import { BackupClient } from '@aws-sdk/client-backup';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import type { CopyLedger } from '../lib/aws/ledger.js';
import type { LedgerRecord } from '../lib/domain/ledger-record.js';
import type { CopyPolicy } from '../lib/domain/policy.js';
import { createRuntime, type Runtime } from '../lib/runtime.js';
import { BackupEmulator, type BackupEmulatorOptions, type RecoveryPoint } from './backup-emulator.js';
import type { Clock } from './clock.js';
import {
  createLedgerTable,
  DUMMY_CREDENTIALS,
  documentClient,
  startDynamoDbLocal,
} from './dynamodb-local.js';
import { matchesPattern } from './event-pattern.js';
import {
  copyJobEventsPattern,
  type Handler,
  intakePattern,
  lambdaContext,
  loadHandlers,
} from './serverless-functions.js';
import { loadDefinition } from './state-machine-definition.js';
import { type LocalExecution, LocalStepFunctions, type LocalStepFunctionsOptions } from './step-functions.js';

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
  /** Copy jobs in flight across executions (COPY_SLOTS); 0 for retry-only throttling. Default 10. */
  copySlots?: number;
  /** Around every invocation, e.g. to time it. */
  onInvoke?: InvocationHook;
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

/**
 * The whole service on one machine: the real state machine definition in the local Step Functions service,
 * the real handlers in-process, DynamoDB Local for the ledger, the AWS Backup emulator, and EventBridge's
 * two rules (evaluated with their serverless.yml patterns) routing events to the state machine and to
 * copyJobEvents. simulate, `npm run local`, the benchmarks and the integration tests all run this one.
 */
export class LocalService {
  private readonly deliveries = new Set<Promise<unknown>>();
  readonly deliveryErrors: unknown[] = [];

  private constructor(
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
    const emulator = await BackupEmulator.start({ region: REGION, vaults, ...options.emulator, ...clock });
    started.push(() => emulator.close());

    let service: LocalService | undefined;
    const handlers = await loadHandlers(() => {
      if (!service) throw new Error('runtime used before the service started');
      return service.runtime;
    });
    const stepFunctions = await LocalStepFunctions.start({
      definition: loadDefinition(new URL('statemachines/copy-recovery-point.asl.yml', root).pathname),
      invoke: (name, payload, context) => {
        if (!service) throw new Error('invoked before the service started');
        return service.invoke(name, payload, context);
      },
      timeScale: options.timeScale ?? (options.clock ? 1 : 0.001),
      ...options.stepFunctions,
      ...clock,
    });
    started.push(() => stepFunctions.close());
    const clientConfig = { region: REGION, credentials: DUMMY_CREDENTIALS };
    const sfn = new SFNClient({ ...clientConfig, endpoint: stepFunctions.endpoint });
    const documents = documentClient(dynamo.endpoint);
    const runtime = createRuntime(
      {
        ledgerTable: tableName,
        policy: options.policy,
        copySlots: options.copySlots ?? 10,
        copySlotLeaseMs: 13 * 3_600_000,
      },
      {
        backup: new BackupClient({ ...clientConfig, endpoint: emulator.endpoint, maxAttempts: 1 }),
        documents,
        sfn,
      },
    );
    service = new LocalService(
      emulator,
      stepFunctions,
      runtime,
      documents,
      sfn,
      handlers,
      options.onInvoke ?? ((_, invoke) => invoke()),
      dynamo.stop,
    );
    const ready = service;
    emulator.onCopyJobStateChange((event) => ready.routeCopyJobEvent(event));
    return service;
  }

  /** Runs one function's real handler, through the `onInvoke` hook. */
  invoke(
    name: string,
    payload: unknown,
    context: Context = lambdaContext(name, REMAINING_MS),
  ): Promise<unknown> {
    const handler = this.handlers[name];
    if (!handler) throw new Error(`no function ${name} in serverless.yml`);
    return this.onInvoke(name, () => handler(payload, context));
  }

  /** EventBridge's copy-job rule: matching events invoke copyJobEvents asynchronously, as a rule target does. */
  private routeCopyJobEvent(event: unknown): void {
    if (!matchesPattern(copyJobEventsPattern, event)) return;
    const delivery = this.invoke('copyJobEvents', structuredClone(event))
      .catch((error) => this.deliveryErrors.push(error))
      .finally(() => this.deliveries.delete(delivery));
    this.deliveries.add(delivery);
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
    const { executionArn } = await this.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: this.stepFunctions.stateMachineArn,
        input: JSON.stringify(input),
        ...(name ? { name } : {}),
      }),
    );
    return executionArn;
  }

  /** Waits until no execution runs and no event is being delivered. */
  async settle(): Promise<void> {
    do {
      await this.stepFunctions.waitForIdle();
      await Promise.all([...this.deliveries]);
    } while (this.deliveries.size > 0 || (this.stepFunctions.statusCounts().RUNNING ?? 0) > 0);
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
    await this.stepFunctions.close();
    await this.emulator.close();
    this.sfn.destroy();
    this.runtime.backup.destroy();
    this.documents.destroy();
    await this.stopDynamoDb();
  }
}
