/**
 * The whole service on one machine, like test/support/local-stack.ts, metered for the benchmarks: every Lambda
 * invocation is timed per function and every DynamoDB request is charged the capacity it consumed. Given a
 * VirtualTime, the Backup emulator and the state machine run on it (hours of copying drain in seconds);
 * otherwise on the wall clock.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { BackupClient } from '@aws-sdk/client-backup';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import type { CopyPolicy } from '../../lib/domain/policy.js';
import { createRuntime, type Runtime } from '../../lib/runtime.js';
import { BackupEmulator } from '../../local/backup-emulator.js';
import { createLedgerTable, DUMMY_CREDENTIALS, documentClient } from '../../local/dynamodb-local.js';
import { matchesPattern } from '../../local/event-pattern.js';
import {
  copyJobEventsPattern,
  lambdaContext as functionContext,
  type Handler,
  loadHandlers,
} from '../../local/serverless-functions.js';
import { loadDefinition } from '../../local/state-machine-definition.js';
import { LocalStepFunctions } from '../../local/step-functions.js';
import type { VirtualTime } from '../../local/virtual-time.js';

const root = new URL('../../', import.meta.url);
const REGION = 'us-east-1';

/** What test/support/factories.ts's backupJobCompleted() builds. */
export interface BackupJobEvent {
  resources: string[];
  detail: Record<string, unknown>;
}

/**
 * DynamoDB Local is a JVM: its first few thousand requests run several times slower than the rest. Writes and
 * reads a scratch table until it is warm, so no measurement pays for its JIT compiler.
 */
export async function warmUpDynamoDb(endpoint: string, requests = 3000): Promise<void> {
  const tableName = `warm-up-${randomUUID()}`;
  await createLedgerTable(endpoint, tableName);
  const documents = documentClient(endpoint);
  const key = (i: number) => ({ recoveryPointArn: `warm-up-${i % 100}`, destinationVaultArn: 'x' });
  for (let done = 0; done < requests; done += 100) {
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        await documents.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(i),
            UpdateExpression: 'SET n = if_not_exists(n, :zero) + :one',
            ExpressionAttributeValues: { ':zero': 0, ':one': 1 },
          }),
        );
        await documents.send(new GetCommand({ TableName: tableName, Key: key(i), ConsistentRead: true }));
      }),
    );
  }
  documents.destroy();
}

export interface DynamoDbMeter {
  /** Requests per operation (GetItem, UpdateItem, ...), failed conditional writes included. */
  requests: Record<string, number>;
  readUnits: number;
  writeUnits: number;
}

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);

/**
 * Charges each request what DynamoDB reports it consumed (ReturnConsumedCapacity), at least AWS's minimum
 * of one unit per request. A failed conditional write returns no ConsumedCapacity but is still billed the
 * size of the item it checked: the last size seen written to that key (one unit before any).
 */
export function meterDynamoDb(client: DynamoDBDocumentClient): DynamoDbMeter {
  const meter: DynamoDbMeter = { requests: {}, readUnits: 0, writeUnits: 0 };
  const writeUnitsByKey = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName).replace(/Command$/, '');
      const input = args.input as {
        ReturnConsumedCapacity?: string;
        Key?: unknown;
        ConsistentRead?: boolean;
      };
      input.ReturnConsumedCapacity = 'TOTAL';
      const key = JSON.stringify(input.Key ?? null);
      meter.requests[operation] = (meter.requests[operation] ?? 0) + 1;
      const isWrite = WRITES.has(operation);
      let units = 0;
      try {
        const result = await next(args);
        const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } })
          .ConsumedCapacity;
        units = consumed?.CapacityUnits ?? 0;
        if (isWrite) writeUnitsByKey.set(key, Math.max(1, units));
        return result;
      } catch (error) {
        units = isWrite ? (writeUnitsByKey.get(key) ?? 1) : 0;
        throw error;
      } finally {
        if (isWrite) meter.writeUnits += Math.max(1, units);
        else meter.readUnits += Math.max(input.ConsistentRead ? 1 : 0.5, units);
      }
    },
    { step: 'initialize', name: 'benchmarkCapacityMeter' },
  );
  return meter;
}

export interface BenchStackOptions {
  dynamoDbEndpoint: string;
  policy: CopyPolicy;
  /** COPY_SLOTS: copy jobs in flight across executions; 0 leaves throttling to the Retry alone. */
  copySlots: number;
  /** Copy jobs AWS Backup runs at once before LimitExceededException. */
  concurrencyLimit: number;
  /** How long each copy job runs. */
  copyDurationMs: number;
  /** The clock of the emulator and the state machine; the wall clock when absent. */
  time?: VirtualTime;
}

export class BenchStack {
  /** Wall-clock ms of every invocation, per function. */
  readonly invocations: Record<string, number[]> = {};
  readonly deliveryErrors: unknown[] = [];
  private readonly deliveries = new Set<Promise<unknown>>();

  private constructor(
    readonly now: () => number,
    private readonly time: VirtualTime | undefined,
    readonly emulator: BackupEmulator,
    readonly stepFunctions: LocalStepFunctions,
    readonly runtime: Runtime,
    readonly dynamoDb: DynamoDbMeter,
    private readonly sfn: SFNClient,
    private readonly documents: DynamoDBDocumentClient,
    private readonly handlers: Record<string, Handler>,
  ) {}

  static async start(options: BenchStackOptions): Promise<BenchStack> {
    const { time } = options;
    const now = time?.now ?? Date.now;
    const tableName = `bench-${randomUUID()}`;
    await createLedgerTable(options.dynamoDbEndpoint, tableName);
    const vaults = [...new Set(options.policy.rules.flatMap((rule) => rule.match.sourceVaults))];
    const emulator = await BackupEmulator.start({
      region: REGION,
      vaults,
      now,
      copyDurationMs: options.copyDurationMs,
      concurrencyLimit: options.concurrencyLimit,
      // On virtual time the clock advances the jobs itself, exactly when each is due.
      ...(time ? { tickMs: 0 } : {}),
    });
    let stack: BenchStack | undefined;
    const handlers = await loadHandlers(() => {
      if (!stack) throw new Error('runtime used before the stack started');
      return stack.runtime;
    });
    const stepFunctions = await LocalStepFunctions.start({
      definition: loadDefinition(new URL('statemachines/copy-recovery-point.asl.yml', root).pathname),
      invoke: (name, payload, context) => {
        if (!stack) throw new Error('invoked before the stack started');
        return stack.invoke(name, payload, context);
      },
      now,
    });
    const clientConfig = { region: REGION, credentials: DUMMY_CREDENTIALS };
    const sfn = new SFNClient({ ...clientConfig, endpoint: stepFunctions.endpoint });
    const documents = documentClient(options.dynamoDbEndpoint);
    const dynamoDb = meterDynamoDb(documents);
    const runtime = createRuntime(
      {
        ledgerTable: tableName,
        policy: options.policy,
        copySlots: options.copySlots,
        copySlotLeaseMs: 13 * 3_600_000,
      },
      {
        backup: new BackupClient({ ...clientConfig, endpoint: emulator.endpoint, maxAttempts: 1 }),
        documents,
        sfn,
      },
    );
    stack = new BenchStack(now, time, emulator, stepFunctions, runtime, dynamoDb, sfn, documents, handlers);
    const started = stack;
    emulator.onCopyJobStateChange((event) => started.routeCopyJobEvent(event));
    if (time) {
      emulator.onCopyJobStateChange((event) => {
        if (event.detail.state === 'CREATED')
          time.wakeAt(Date.parse(event.detail.creationDate) + options.copyDurationMs);
      });
      time.onTick = () => emulator.advance();
      time.install();
    }
    return stack;
  }

  /** Runs one function's handler and records its wall-clock duration. */
  async invoke(name: string, payload: unknown, context: Context): Promise<unknown> {
    const handler = this.handlers[name];
    if (!handler) throw new Error(`no function ${name} in serverless.yml`);
    this.time?.enter();
    const started = performance.now();
    try {
      return await handler(payload, context);
    } finally {
      const durations = this.invocations[name] ?? [];
      durations.push(performance.now() - started);
      this.invocations[name] = durations;
      this.time?.exit();
    }
  }

  /** EventBridge's copy-job rule: matching events invoke copyJobEvents asynchronously. */
  private routeCopyJobEvent(event: unknown): void {
    if (!matchesPattern(copyJobEventsPattern, event)) return;
    const delivery = this.invoke('copyJobEvents', structuredClone(event), lambdaContext('copyJobEvents'))
      .catch((error) => this.deliveryErrors.push(error))
      .finally(() => this.deliveries.delete(delivery));
    this.deliveries.add(delivery);
  }

  /** Puts the recovery point a Backup Job State Change names where the emulator can describe it. */
  seed(event: BackupJobEvent): void {
    this.emulator.seedRecoveryPoint({
      RecoveryPointArn: event.resources[0],
      BackupVaultName: event.detail.backupVaultName as string,
      ResourceType: event.detail.resourceType as string,
    });
  }

  /** Seeds the recovery point an event names and starts its execution, as the intake rule would. */
  async deliver(event: BackupJobEvent) {
    this.seed(event);
    this.time?.enter();
    try {
      const { executionArn } = await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.stepFunctions.stateMachineArn,
          input: JSON.stringify(event),
        }),
      );
      return executionArn;
    } finally {
      this.time?.exit();
    }
  }

  /** Waits until no execution runs and no event is being delivered; fails if they wait on nothing. */
  async settle(): Promise<void> {
    let watchdog: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      let quietChecks = 0;
      watchdog = setInterval(() => {
        quietChecks = this.time?.stalled ? quietChecks + 1 : 0;
        if (quietChecks >= 3) {
          const running = this.stepFunctions.executions().filter((e) => e.status === 'RUNNING').length;
          reject(
            new Error(`${running} executions wait on nothing: no timer, no copy job, no work in flight`),
          );
        }
      }, 500);
    });
    try {
      do {
        await Promise.race([this.stepFunctions.waitForIdle(), stalled]);
        await Promise.all([...this.deliveries]);
      } while (
        this.deliveries.size > 0 ||
        this.stepFunctions.executions().some((e) => e.status === 'RUNNING')
      );
    } finally {
      clearInterval(watchdog);
    }
  }

  async close(): Promise<void> {
    this.time?.uninstall();
    await this.stepFunctions.close();
    await this.emulator.close();
    this.sfn.destroy();
    this.runtime.backup.destroy();
    this.documents.destroy();
  }
}

/**
 * Lambda's longest timeout, not the function's 30 s: under a 5,000-execution burst this machine, not the
 * function, is slow, and middy would abort the invocation at the deadline.
 */
export const lambdaContext = (functionName: string): Context => functionContext(functionName, 900_000);
