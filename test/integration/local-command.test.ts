/**
 * `npm run local` as a user runs it (a child process on its own ports), then every function of serverless.yml
 * through `serverless invoke local` against it, given the endpoints it printed: the bundled handlers reach its
 * DynamoDB Local, Backup emulator and Step Functions service. Invocations run in parallel, each in its own
 * service copy; the second round needs the copy job the first one started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BackupClient, ListCopyJobsCommand } from '@aws-sdk/client-backup';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcileExecutionName } from '../../lib/domain/keys.js';
import { PLAN_KEY } from '../../lib/domain/ledger-record.js';
import type { PlannedCopy } from '../../lib/domain/policy.js';
import { DUMMY_CREDENTIALS, documentClient, ensurePortFree, freePort } from '../../local/dynamodb-local.js';
import {
  backupJobCompleted,
  COPY_ROLE,
  DR_ISOLATED,
  DR_WEST,
  recoveryPointArn,
} from '../../local/factories.js';
import { serverless as serverlessFile } from '../../local/serverless-functions.js';
import {
  printedJson,
  ROOT,
  type Run,
  removeTemporaryDirs,
  serverless,
  tempDir,
} from '../../local/serverless-package.js';

type Variables = Record<
  | 'AWS_ENDPOINT_URL_DYNAMODB'
  | 'AWS_ENDPOINT_URL_BACKUP'
  | 'AWS_ENDPOINT_URL_SFN'
  | 'AWS_ACCOUNT_ID'
  | 'LEDGER_TABLE'
  | 'STATE_MACHINE_ARN',
  string
>;

const EXECUTION_ARN = 'arn:aws:states:us-east-1:123456789012:execution:copy-recovery-point:by-hand';
/** Planned by the first round, copied by hand, then reported COMPLETED by an event. */
const planned = backupJobCompleted();
/** Seeded but never planned: the reconciler must start its execution. */
const forgotten = backupJobCompleted();
const rejected = recoveryPointArn();
const copyOf = (destinationVaultArn: string): PlannedCopy => ({
  recoveryPointArn: planned.resources[0] as string,
  sourceBackupVaultName: 'primary',
  destinationVaultArn,
  iamRoleArn: COPY_ROLE,
  lifecycleSource: 'inherit',
  resourceType: 'EFS',
  isParent: false,
  rule: 'production-to-dr',
});
const copyInput = (destinationVaultArn: string) => ({
  copy: copyOf(destinationVaultArn),
  taskToken: `LSF1${'A'.repeat(64)}`,
  executionArn: EXECUTION_ARN,
  redriveCount: 0,
});

let local: ChildProcess;
let variables: Variables;
let dynamoDbPort: number;
const runs: Record<string, Run> = {};

/** Starts `npm run local` and resolves to the variables it printed. */
async function startLocal(eventFile: string): Promise<Variables> {
  dynamoDbPort = await freePort();
  const [backupPort, sfnPort] = [await freePort(), await freePort()];
  local = spawn(
    process.execPath,
    [
      '--no-warnings',
      '--import',
      'tsx',
      'scripts/local.ts',
      '--json',
      '--event',
      eventFile,
      // Long copies: the job the first round starts is still RUNNING when the second round looks.
      '--copy-duration',
      '3600000',
      ...['--dynamodb-port', String(dynamoDbPort), '--backup-port', String(backupPort)],
      ...['--sfn-port', String(sfnPort)],
    ],
    { cwd: ROOT, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  local.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const lines = createInterface({ input: local.stdout as NodeJS.ReadableStream });
  const [first] = (await Promise.race([
    once(lines, 'line'),
    once(local, 'exit').then(([code]) => {
      throw new Error(`npm run local exited with ${code}: ${stderr}`);
    }),
  ])) as [string];
  return JSON.parse(first);
}

/** Runs one function by name; `as` files the run under another name when a function runs twice. */
const invoke = (name: string, input: unknown, as = name, ...options: string[]) =>
  serverless([
    'invoke',
    'local',
    '-f',
    name,
    '--data',
    JSON.stringify(input),
    ...['-e', `AWS_ENDPOINT_URL_DYNAMODB=${variables.AWS_ENDPOINT_URL_DYNAMODB}`],
    ...['-e', `AWS_ENDPOINT_URL_BACKUP=${variables.AWS_ENDPOINT_URL_BACKUP}`],
    ...['-e', `AWS_ENDPOINT_URL_SFN=${variables.AWS_ENDPOINT_URL_SFN}`],
    ...['-e', `AWS_ACCOUNT_ID=${variables.AWS_ACCOUNT_ID}`],
    // Logs and metrics would come before the printed result.
    ...['-e', 'POWERTOOLS_LOG_LEVEL=SILENT', '-e', 'POWERTOOLS_METRICS_DISABLED=true'],
    ...options,
  ]).then((run) => {
    runs[as] = run;
    return run;
  });

const copyJobs = async () => {
  const client = new BackupClient({
    endpoint: variables.AWS_ENDPOINT_URL_BACKUP,
    region: 'us-east-1',
    credentials: DUMMY_CREDENTIALS,
  });
  const { CopyJobs = [] } = await client.send(new ListCopyJobsCommand({}));
  client.destroy();
  return CopyJobs;
};

const ledgerItems = async () => {
  const documents = documentClient(variables.AWS_ENDPOINT_URL_DYNAMODB);
  const { Items = [] } = await documents.send(new ScanCommand({ TableName: variables.LEDGER_TABLE }));
  documents.destroy();
  return Items;
};
const ledgerItem = async (recoveryPoint: string, destination: string) =>
  (await ledgerItems()).find(
    (item) => item.recoveryPointArn === recoveryPoint && item.destinationVaultArn === destination,
  );

describe('serverless invoke local against npm run local', () => {
  let round1Ms = 0;
  let round2Ms = 0;

  beforeAll(async () => {
    const eventFile = join(await tempDir('local-events-'), 'events.json');
    await writeFile(eventFile, JSON.stringify([planned, forgotten]));
    variables = await startLocal(eventFile);

    let started = Date.now();
    await Promise.all([
      invoke('normalizeInput', planned),
      invoke('planCopies', {
        request: {
          recoveryPointArn: planned.resources[0],
          sourceBackupVaultName: 'primary',
          origin: 'Backup Job State Change',
        },
        executionArn: EXECUTION_ARN,
      }),
      // One after the other: the second finds the resource's one copy slot held.
      invoke('copyToDestination', copyInput(DR_WEST)).then(() =>
        invoke('copyToDestination', copyInput(DR_ISOLATED), 'to DR_ISOLATED'),
      ),
      invoke('recordRejection', {
        input: { recoveryPointArn: rejected, sourceBackupVaultName: 'primary', origin: 'manual' },
        error: { Error: 'InvalidInputError', Cause: 'refused by hand' },
        executionArn: EXECUTION_ARN,
      }),
    ]);
    round1Ms = Date.now() - started;

    const job = (await copyJobs()).find((j) => j.DestinationBackupVaultArn === DR_WEST);
    started = Date.now();
    await Promise.all([
      invoke('checkCopyProgress', { copy: copyOf(DR_ISOLATED) }),
      invoke('copyJobEvents', {
        version: '0',
        id: 'f0a1b2c3-0000-4000-8000-000000000000',
        'detail-type': 'Copy Job State Change',
        source: 'aws.backup',
        account: '111111111111',
        time: new Date().toISOString(),
        region: 'us-east-1',
        resources: [planned.resources[0]],
        detail: { copyJobId: job?.CopyJobId, state: 'COMPLETED', destinationBackupVaultArn: DR_WEST },
      }),
      // The by-hand execution ended: its slots for copies not running go back.
      invoke('releaseCopySlots', {
        version: '0',
        id: 'f0a1b2c3-0000-4000-8000-000000000001',
        'detail-type': 'Step Functions Execution Status Change',
        source: 'aws.states',
        account: '123456789012',
        time: new Date().toISOString(),
        region: 'us-east-1',
        resources: [EXECUTION_ARN],
        detail: {
          executionArn: EXECUTION_ARN,
          status: 'ABORTED',
          input: JSON.stringify({ recoveryPointArn: planned.resources[0], sourceBackupVaultName: 'primary' }),
        },
      }),
      // The plan of `planned` exists by now, so only `forgotten` is the reconciler's to start.
      invoke(
        'reconcile',
        {},
        'reconcile',
        '--param',
        `stateMachineArn=${variables.STATE_MACHINE_ARN}`,
        '-e',
        'RECONCILE_GRACE_MINUTES=0',
      ),
    ]);
    round2Ms = Date.now() - started;
    console.log(`invoke local rounds: ${round1Ms} ms (5 invocations), ${round2Ms} ms (4 invocations)`);
  }, 300_000);

  afterAll(async () => {
    if (local && local.exitCode === null) {
      local.kill('SIGTERM');
      await once(local, 'exit');
    }
    await removeTemporaryDirs();
  });

  const succeeded = (name: string) => {
    const run = runs[name];
    expect(run?.code, `${run?.stdout}\n${run?.stderr}`).toBe(0);
    return printedJson(run as Run);
  };

  it('covers every function in serverless.yml', () => {
    const functions = Object.keys(runs).filter((name) => !name.startsWith('to '));
    expect(functions.sort()).toEqual(Object.keys(serverlessFile.functions).sort());
  });

  it('normalizeInput turns the event into a copy request', () => {
    expect(succeeded('normalizeInput')).toMatchObject({
      recoveryPointArn: planned.resources[0],
      origin: 'Backup Job State Change',
    });
  });

  it('planCopies describes the seeded recovery point and records its plan', async () => {
    const plan = succeeded('planCopies');
    expect(plan.recoveryPoint).toMatchObject({ resourceType: 'EFS', status: 'COMPLETED' });
    expect(plan.copies.map((copy: PlannedCopy) => copy.destinationVaultArn)).toContain(DR_ISOLATED);
    expect(await ledgerItem(planned.resources[0] as string, PLAN_KEY)).toBeDefined();
  });

  it('copyToDestination starts one copy job of the resource, and queues its other destination', async () => {
    for (const run of [runs.copyToDestination, runs['to DR_ISOLATED']]) {
      // It returns nothing: the workflow waits for the copy's task token.
      expect(run?.code, `${run?.stdout}\n${run?.stderr}`).toBe(0);
    }
    // One copy job per resource at a time: whichever took the resource's slot copied, the other queued.
    const jobs = (await copyJobs()).filter((job) => job.SourceRecoveryPointArn === planned.resources[0]);
    expect(jobs).toHaveLength(1);
    expect(jobs.map((job) => job.DestinationBackupVaultArn)).toEqual([DR_WEST]);
  });

  it('checkCopyProgress reports the copy still waiting for its resource', () => {
    expect(succeeded('checkCopyProgress')).toMatchObject({ status: 'QUEUED' });
  });

  it('releaseCopySlots looks at every planned copy of the ended execution', () => {
    expect(succeeded('releaseCopySlots')).toMatchObject({
      recoveryPointArn: planned.resources[0],
      copies: succeeded('planCopies').copies.length,
    });
  });

  it('copyJobEvents settles the copy COMPLETED in the ledger', async () => {
    expect(succeeded('copyJobEvents')).toMatchObject({ settled: true, status: 'COMPLETED' });
    expect(await ledgerItem(planned.resources[0] as string, DR_WEST)).toMatchObject({ status: 'COMPLETED' });
  });

  it('recordRejection records the refused input', async () => {
    expect(succeeded('recordRejection')).toEqual({ recoveryPointArn: rejected });
    expect(await ledgerItem(rejected, PLAN_KEY)).toMatchObject({ status: 'REJECTED' });
  });

  it('reconcile starts an execution of the local state machine for the recovery point nobody planned', async () => {
    const result = succeeded('reconcile');
    expect(result.started.map((s: { recoveryPointArn: string }) => s.recoveryPointArn)).toEqual([
      forgotten.resources[0],
    ]);
    const sfn = new SFNClient({
      endpoint: variables.AWS_ENDPOINT_URL_SFN,
      region: 'us-east-1',
      credentials: DUMMY_CREDENTIALS,
    });
    const { executions = [] } = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: variables.STATE_MACHINE_ARN }),
    );
    sfn.destroy();
    expect(executions.map((e) => e.name)).toEqual([reconcileExecutionName(forgotten.resources[0] as string)]);
  });

  it('stops DynamoDB Local with itself on SIGTERM', async () => {
    local.kill('SIGTERM');
    const [code] = await once(local, 'exit');
    expect(code).toBe(0);
    await expect(ensurePortFree(dynamoDbPort)).resolves.toBeUndefined();
  });
});

describe('npm run local, when it cannot start', () => {
  it('exits 2 with one line naming the option whose port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    const child = spawn(
      process.execPath,
      ['--no-warnings', '--import', 'tsx', 'scripts/local.ts', '--sfn-port', String(port)],
      { cwd: ROOT, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    const [code] = await once(child, 'exit');
    taken.close();

    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toEqual([`--sfn-port: port ${port} on 127.0.0.1 is in use`]);
  });
});
