import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandInput,
  ExecutionNotRedrivable,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  type RedriveExecutionCommandInput,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { CopyPolicy } from '../../lib/domain/policy.js';
import {
  explainFailure,
  findRedrivable,
  type RedriveOptions,
  redriveAll,
} from '../../lib/operations/redrive.js';
import { DUMMY_CREDENTIALS, localCommandEnvironment } from '../../local/dynamodb-local.js';
import { backupJobCompleted, DR_ISOLATED, DR_WEST, manualInput, policyFor } from '../../local/factories.js';
import { LocalService } from '../../local/local-service.js';
import { resolveDefinition } from '../../local/state-machine-definition.js';
import { LocalStepFunctions } from '../../local/step-functions.js';

let stack: LocalService | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function startStack(policy: CopyPolicy = policyFor()) {
  // A copy that ends up waiting for the progress check waits the scaled 12 h task timeout: keep it to 4 s.
  stack = await LocalService.start({ policy, dynamoDbEndpoint: inject('dynamoDbEndpoint') });
  return stack;
}

/** Delivers `count` backup events whose copy to DR_WEST fails, waits for the executions to fail. */
async function failedCopies(s: LocalService, count = 1): Promise<string[]> {
  s.emulator.failCopy(
    { destinationBackupVaultArn: DR_WEST },
    { state: 'FAILED', message: 'boom', times: count },
  );
  const events = Array.from({ length: count }, () => backupJobCompleted());
  for (const event of events) s.seedFor(event);
  const arns = await Promise.all(events.map((event) => s.deliver(event)));
  await s.settle();
  return arns.map((arn) => arn ?? '');
}

const lastHour = () => new Date(Date.now() - 3_600_000);

function depsOf(s: LocalService, sfn: SFNClient = s.sfn) {
  return { sfn, ledger: s.ledger, stateMachineArn: s.stepFunctions.stateMachineArn };
}

/** Lists what the command would and handles it, then waits for whatever it started to end. */
async function redriveRecent(s: LocalService, options: RedriveOptions = {}, sfn: SFNClient = s.sfn) {
  const stateMachineArn = s.stepFunctions.stateMachineArn;
  const executions = await findRedrivable({ sfn: s.sfn, stateMachineArn, since: lastHour() });
  const results = await redriveAll(depsOf(s, sfn), executions, options);
  await s.settle();
  return results;
}

/** Answers that replace the local service's; undefined passes the call through. */
interface Overrides {
  DescribeExecution?(input: DescribeExecutionCommandInput): Promise<unknown> | undefined;
  RedriveExecution?(input: RedriveExecutionCommandInput): Promise<unknown> | undefined;
}

/** An SFNClient that sends every call to the local service, except where an override answers. */
function sfnWith(s: LocalService, overrides: Overrides): SFNClient {
  const client = new SFNClient({ region: 'us-east-1', credentials: DUMMY_CREDENTIALS });
  const mock = mockClient(client);
  mock.on(ListExecutionsCommand).callsFake((input) => s.sfn.send(new ListExecutionsCommand(input)));
  mock.on(GetExecutionHistoryCommand).callsFake((input) => s.sfn.send(new GetExecutionHistoryCommand(input)));
  mock.on(StartExecutionCommand).callsFake((input) => s.sfn.send(new StartExecutionCommand(input)));
  mock
    .on(DescribeExecutionCommand)
    .callsFake(
      (input) => overrides.DescribeExecution?.(input) ?? s.sfn.send(new DescribeExecutionCommand(input)),
    );
  mock
    .on(RedriveExecutionCommand)
    .callsFake(
      (input) => overrides.RedriveExecution?.(input) ?? s.sfn.send(new RedriveExecutionCommand(input)),
    );
  return client;
}

const notRedrivable = () =>
  new ExecutionNotRedrivable({ message: 'Execution redrivable period exceeded.', $metadata: {} });

describe('redrive', () => {
  it('re-drives a failed copy execution, which then succeeds with one completed copy job per destination', async () => {
    const s = await startStack(policyFor([{ vaultArn: DR_WEST }, { vaultArn: DR_ISOLATED }]));
    const [executionArn] = await failedCopies(s);

    const results = await redriveRecent(s);

    expect(results).toEqual([
      expect.objectContaining({
        executionArn,
        status: 'FAILED',
        error: 'CopyJobFailedError',
        reason: expect.stringMatching(/^CopyToDestination: dr-west FAILED: CopyJobFailedError: .*boom/),
        action: 'redriven',
      }),
    ]);
    expect(s.stepFunctions.execution(executionArn ?? '')).toMatchObject({
      status: 'SUCCEEDED',
      redriveCount: 1,
    });
    const completed = s.emulator.copyJobs().filter((job) => job.state === 'COMPLETED');
    expect(completed.map((job) => job.request.DestinationBackupVaultArn).sort()).toEqual(
      [DR_WEST, DR_ISOLATED].sort(),
    );
    const ledger = await s.ledger.scan();
    expect(ledger.find((item) => item.destinationVaultArn === DR_WEST)).toMatchObject({
      status: 'COMPLETED',
      attempt: 2,
    });
    expect(ledger.find((item) => item.destinationVaultArn === DR_ISOLATED)).toMatchObject({
      status: 'COMPLETED',
      attempt: 1,
    });
  });

  it('names the state that failed, not the state another Map iteration entered after it', async () => {
    const s = await startStack();
    const task = (name: string, next?: string) => ({
      Type: 'Task',
      Resource: `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
      ...(next ? { Next: next } : { End: true }),
    });
    let waiting: () => void = () => {};
    const otherWaits = new Promise<void>((resolve) => {
      waiting = resolve;
    });
    const local = await LocalStepFunctions.start({
      definition: resolveDefinition({
        StartAt: 'CopyToDestinations',
        States: {
          CopyToDestinations: {
            Type: 'Map',
            ItemsPath: '$.destinations',
            ItemProcessor: {
              StartAt: 'CopyToDestination',
              States: {
                CopyToDestination: task('copyToDestination', 'WaitForCopySlot'),
                WaitForCopySlot: task('waitForCopySlot'),
              },
            },
            End: true,
          },
        },
      }),
      invoke: async (name, destination) => {
        if (name === 'waitForCopySlot') {
          waiting();
          return new Promise(() => {});
        }
        if (destination !== DR_WEST) return {};
        await otherWaits;
        throw Object.assign(new Error('copy to dr-west failed'), { name: 'CopyJobFailedError' });
      },
    });
    try {
      const sfn = new SFNClient({
        region: 'us-east-1',
        credentials: DUMMY_CREDENTIALS,
        endpoint: local.endpoint,
      });
      const { executionArn = '' } = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: local.stateMachineArn,
          input: JSON.stringify({ destinations: [DR_WEST, DR_ISOLATED] }),
        }),
      );
      await local.waitForIdle();

      const explained = await explainFailure({ sfn, ledger: s.ledger }, executionArn);

      expect(explained).toMatchObject({ status: 'FAILED', error: 'CopyJobFailedError' });
      expect(explained.reason).toMatch(/^CopyToDestination: CopyJobFailedError: copy to dr-west failed/);
      expect(explained.failedState).toBe('CopyToDestination');
    } finally {
      await local.close();
    }
  });

  it('explains and changes nothing on a dry run', async () => {
    const s = await startStack();
    const [executionArn] = await failedCopies(s);
    const jobsBefore = s.emulator.copyJobs();

    const results = await redriveRecent(s, { dryRun: true });

    expect(results).toEqual([
      expect.objectContaining({ executionArn, action: 'skipped', detail: 'dry run: would re-drive' }),
    ]);
    expect(s.stepFunctions.executions()).toEqual([
      expect.objectContaining({ arn: executionArn, status: 'FAILED', redriveCount: 0 }),
    ]);
    expect(s.emulator.copyJobs()).toEqual(jobsBefore);
    expect(await s.ledger.scan()).toContainEqual(
      expect.objectContaining({ destinationVaultArn: DR_WEST, status: 'FAILED', attempt: 1 }),
    );
  });

  it('lists unsuccessful, never re-driven executions across pages, oldest first, within the window and limit', async () => {
    const s = await startStack();
    const failed = await failedCopies(s, 5);
    const succeeded = backupJobCompleted();
    s.seedFor(succeeded);
    await s.deliver(succeeded);
    const [redrivenElsewhere] = failed;
    await s.sfn.send(new RedriveExecutionCommand({ executionArn: redrivenElsewhere }));
    await s.settle();
    const list = (options: { since?: Date; limit?: number }) =>
      findRedrivable({
        sfn: s.sfn,
        stateMachineArn: s.stepFunctions.stateMachineArn,
        since: lastHour(),
        pageSize: 2,
        ...options,
      });

    const all = await list({});
    expect(all.map((e) => e.executionArn).sort()).toEqual(failed.slice(1).sort());
    const stopDates = all.map((e) => e.stopDate?.getTime() ?? 0);
    expect(stopDates).toEqual([...stopDates].sort((a, b) => a - b));
    expect(await list({ limit: 3 })).toEqual(all.slice(0, 3));
    expect(await list({ since: new Date(Date.now() + 60_000) })).toEqual([]);
  });

  it.each<[string, Overrides]>([
    [
      'DescribeExecution says NOT_REDRIVABLE',
      {
        DescribeExecution: async (input: DescribeExecutionCommandInput) => ({
          ...(await stack?.sfn.send(new DescribeExecutionCommand(input))),
          redriveStatus: 'NOT_REDRIVABLE',
          redriveStatusReason: 'Execution redrivable period exceeded.',
        }),
        RedriveExecution: () => Promise.reject(new Error('RedriveExecution must not be called')),
      },
    ],
    [
      'RedriveExecution answers ExecutionNotRedrivable',
      { RedriveExecution: () => Promise.reject(notRedrivable()) },
    ],
  ])('starts an execution it cannot re-drive anew with the same input, once (%s)', async (_, overrides) => {
    const s = await startStack();
    const [executionArn] = await failedCopies(s);
    const old = s.stepFunctions.execution(executionArn ?? '');
    const sfn = sfnWith(s, overrides);
    const rerun = `${old?.name}-rerun-1`;

    const first = await redriveRecent(s, {}, sfn);
    const again = await redriveRecent(s, {}, sfn);

    expect(first).toEqual([
      expect.objectContaining({
        executionArn,
        action: 'restarted',
        detail: `started anew as ${rerun} (Execution redrivable period exceeded.)`,
      }),
    ]);
    expect(again).toEqual([
      expect.objectContaining({
        action: 'skipped',
        detail: expect.stringContaining(`already started anew as ${rerun}`),
      }),
    ]);
    expect(s.stepFunctions.execution(executionArn ?? '')).toMatchObject({
      status: 'FAILED',
      redriveCount: 0,
    });
    expect(s.stepFunctions.execution(rerun)).toMatchObject({ status: 'SUCCEEDED', input: old?.input });
    expect(await s.ledger.scan()).toContainEqual(
      expect.objectContaining({ destinationVaultArn: DR_WEST, status: 'COMPLETED', attempt: 2 }),
    );
  });

  it('skips, rather than starts anew, an execution another caller re-drove after it was described', async () => {
    const s = await startStack();
    const [executionArn] = await failedCopies(s);
    const sfn = sfnWith(s, {
      // Another caller's re-drive (another client token) lands first; Step Functions refuses ours.
      RedriveExecution: async (input) => {
        await s.sfn.send(new RedriveExecutionCommand({ executionArn: input.executionArn }));
        throw notRedrivable();
      },
    });

    const results = await redriveRecent(s, {}, sfn);

    expect(results).toEqual([
      expect.objectContaining({
        executionArn,
        action: 'skipped',
        detail: expect.stringContaining('re-driven elsewhere meanwhile'),
      }),
    ]);
    expect(s.stepFunctions.executions()).toEqual([
      expect.objectContaining({ arn: executionArn, status: 'SUCCEEDED', redriveCount: 1 }),
    ]);
  });

  it('skips an execution whose input was refused, and starts it anew only with includeRejected', async () => {
    const s = await startStack();
    const input = manualInput('arn:aws:backup:eu-west-1:999999999999:recovery-point:x');
    const executionArn = await s.deliver(input);
    await s.settle();

    const skipped = await redriveRecent(s);
    expect(skipped).toEqual([
      expect.objectContaining({
        executionArn,
        error: 'InputRejected',
        reason: expect.stringMatching(/^Rejected: plan REJECTED: InvalidInputError: .*allowed account/),
        action: 'skipped',
      }),
    ]);
    expect(s.stepFunctions.executions()).toHaveLength(1);

    const included = await redriveRecent(s, { includeRejected: true });
    const name = `${s.stepFunctions.execution(executionArn ?? '')?.name}-rerun-1`;
    expect(included).toEqual([expect.objectContaining({ executionArn, action: 'restarted' })]);
    expect(s.stepFunctions.execution(name)).toMatchObject({ input, error: 'InputRejected' });
    expect(s.stepFunctions.execution(executionArn ?? '')).toMatchObject({ redriveCount: 0 });
  });

  it('reports an API error on one execution as failed and still re-drives the others', async () => {
    const s = await startStack();
    const [unlucky, lucky] = await failedCopies(s, 2);
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const sfn = sfnWith(s, {
      RedriveExecution: (input: RedriveExecutionCommandInput) =>
        input.executionArn === unlucky ? Promise.reject(throttled) : undefined,
    });

    const results = await redriveRecent(s, {}, sfn);

    expect(results).toHaveLength(2);
    expect(results).toContainEqual(
      expect.objectContaining({
        executionArn: unlucky,
        error: 'CopyJobFailedError',
        action: 'failed',
        detail: 'ThrottlingException: Rate exceeded',
      }),
    );
    expect(results).toContainEqual(expect.objectContaining({ executionArn: lucky, action: 'redriven' }));
    expect(s.stepFunctions.execution(unlucky ?? '')).toMatchObject({ status: 'FAILED', redriveCount: 0 });
    expect(s.stepFunctions.execution(lucky ?? '')).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });
  });

  it('leaves alone an execution someone else re-drove after it was listed', async () => {
    const s = await startStack();
    const [executionArn] = await failedCopies(s);
    const stateMachineArn = s.stepFunctions.stateMachineArn;
    const listed = await findRedrivable({ sfn: s.sfn, stateMachineArn, since: lastHour() });
    await s.sfn.send(new RedriveExecutionCommand({ executionArn }));
    await s.settle();

    const results = await redriveAll(depsOf(s), listed);

    expect(results).toEqual([
      expect.objectContaining({ action: 'skipped', detail: expect.stringMatching(/^now SUCCEEDED/) }),
    ]);
    expect(s.stepFunctions.executions()).toHaveLength(1);
  });

  it('runs as a command: --json re-drives the local service, --help exits 0', async () => {
    const s = await startStack();
    const [executionArn] = await failedCopies(s);
    const env = localCommandEnvironment({
      AWS_ENDPOINT_URL_SFN: s.stepFunctions.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoDbEndpoint'),
      STATE_MACHINE_ARN: s.stepFunctions.stateMachineArn,
      LEDGER_TABLE: s.ledger.tableName,
    });

    const { stdout } = await runScript(['--json', '--since', '1h'], env);
    await s.settle();

    expect(JSON.parse(stdout)).toMatchObject({
      dryRun: false,
      counts: { redriven: 1, restarted: 0, skipped: 0, failed: 0 },
      results: [{ executionArn, action: 'redriven', error: 'CopyJobFailedError' }],
    });
    expect(s.stepFunctions.execution(executionArn ?? '')).toMatchObject({ status: 'SUCCEEDED' });
    expect((await runScript(['--help'], env)).stdout).toContain('Usage: npm run redrive');
  });
});

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;

/** Asynchronous on purpose: the local service answering the script runs in this process. */
function runScript(args: string[], env: Record<string, string | undefined>) {
  return run('node', ['--no-warnings', '--import', 'tsx', 'scripts/redrive.ts', ...args], { cwd: root, env });
}
