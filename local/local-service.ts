import { randomUUID } from 'node:crypto';
import { BackupClient } from '@aws-sdk/client-backup';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CopyLedger } from '../lib/aws/ledger.js';
import type { LedgerRecord } from '../lib/domain/ledger-record.js';
import type { CopyPolicy } from '../lib/domain/policy.js';
import { createRuntime, type Runtime } from '../lib/runtime.js';
import { BackupEmulator, type BackupEmulatorOptions, type RecoveryPoint } from './backup-emulator.js';
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
import { type LocalExecution, LocalStepFunctions } from './step-functions.js';

const root = new URL('../', import.meta.url);
const REGION = 'us-east-1';

export interface LocalServiceOptions {
  policy: CopyPolicy;
  /** An already running DynamoDB Local; otherwise one is started (and stopped on close). */
  dynamoDbEndpoint?: string;
  emulator?: BackupEmulatorOptions;
  /** Scales every wait, retry interval and task timeout of the state machine (0.001: a second lasts 1 ms). */
  timeScale?: number;
  /** Copy jobs in flight across executions (COPY_SLOTS); 0 for retry-only throttling. Default 10. */
  copySlots?: number;
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
 * The whole service on one machine: the real state machine definition in the local Step Functions service,
 * the real handlers in-process, DynamoDB Local for the ledger, the AWS Backup emulator, and EventBridge's
 * two rules (evaluated with their serverless.yml patterns) routing events to the state machine and to
 * copyJobEvents.
 */
export class LocalService {
  private readonly deliveries = new Set<Promise<unknown>>();
  readonly deliveryErrors: unknown[] = [];

  private constructor(
    readonly emulator: BackupEmulator,
    readonly stepFunctions: LocalStepFunctions,
    readonly ledger: CopyLedger,
    /** The handlers' DynamoDB client: tests add middleware to it to inject crashes at the ledger. */
    readonly documents: DynamoDBDocumentClient,
    readonly sfn: SFNClient,
    private readonly handlers: Record<string, Handler>,
    private readonly stopDynamoDb: () => Promise<void>,
  ) {}

  static async start(options: LocalServiceOptions): Promise<LocalService> {
    const dynamo = options.dynamoDbEndpoint
      ? { endpoint: options.dynamoDbEndpoint, stop: async () => {} }
      : await startDynamoDbLocal();
    const tableName = `ledger-${randomUUID()}`;
    await createLedgerTable(dynamo.endpoint, tableName);
    const vaults = [...new Set(options.policy.rules.flatMap((rule) => rule.match.sourceVaults))];
    const emulator = await BackupEmulator.start({ region: REGION, vaults, ...options.emulator });

    let runtime: Runtime | undefined;
    const handlers = await loadHandlers(() => {
      if (!runtime) throw new Error('runtime used before the stack started');
      return runtime;
    });
    const stepFunctions = await LocalStepFunctions.start({
      definition: loadDefinition(new URL('statemachines/copy-recovery-point.asl.yml', root).pathname),
      invoke: async (name, payload, context) => {
        const handler = handlers[name];
        if (!handler) throw new Error(`no function ${name} in serverless.yml`);
        return handler(payload, context);
      },
      timeScale: options.timeScale ?? 0.001,
    });
    const clientConfig = { region: REGION, credentials: DUMMY_CREDENTIALS };
    const sfn = new SFNClient({ ...clientConfig, endpoint: stepFunctions.endpoint });
    const documents = documentClient(dynamo.endpoint);
    runtime = createRuntime(
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
    const stack = new LocalService(
      emulator,
      stepFunctions,
      runtime.ledger,
      documents,
      sfn,
      handlers,
      dynamo.stop,
    );
    emulator.onCopyJobStateChange((event) => stack.routeCopyJobEvent(event));
    return stack;
  }

  /** EventBridge's copy-job rule: matching events invoke copyJobEvents asynchronously, as a rule target does. */
  private routeCopyJobEvent(event: unknown): void {
    if (!matchesPattern(copyJobEventsPattern, event)) return;
    const handler = this.handlers.copyJobEvents;
    if (!handler) throw new Error('copyJobEvents is not in serverless.yml');
    const delivery = handler(structuredClone(event), lambdaContext('copyJobEvents'))
      .catch((error) => this.deliveryErrors.push(error))
      .finally(() => this.deliveries.delete(delivery));
    this.deliveries.add(delivery);
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
    } while (this.deliveries.size > 0 || this.stepFunctions.executions().some((e) => e.status === 'RUNNING'));
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
    await this.stopDynamoDb();
  }
}
