/**
 * LocalStepFunctions: the real ASL interpreter (aws-local-stepfunctions) behind a real awsJson1_0 HTTP server,
 * driven with the real SFNClient and fake in-process Lambda invokers. Fixture definitions only (not the product's).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ExecutionNotRedrivable,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  InvalidArn,
  InvalidExecutionInput,
  InvalidName,
  InvalidOutput,
  InvalidToken,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { wallClock } from '../../local/clock.js';
import {
  functionNameFromArn,
  loadDefinition,
  resolveDefinition,
  type StateMachineDefinition,
} from '../../local/state-machine-definition.js';
import {
  type LambdaInvocationContext,
  type LambdaInvoker,
  LocalStepFunctions,
  type LocalStepFunctionsOptions,
} from '../../local/step-functions.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'asl');
const ARN = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;

class ServiceUnavailableException extends Error {
  override name = 'ServiceUnavailableException';
}
class CopyRejectedError extends Error {
  override name = 'CopyRejectedError';
}

const services: LocalStepFunctions[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.close()));
});

async function start(
  definition: StateMachineDefinition,
  invoke: LambdaInvoker,
  options: Partial<LocalStepFunctionsOptions> = {},
): Promise<{ sfn: LocalStepFunctions; client: SFNClient }> {
  const sfn = await LocalStepFunctions.start({ definition, invoke, timeScale: 0.001, ...options });
  services.push(sfn);
  const client = new SFNClient({
    endpoint: sfn.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  return { sfn, client };
}

async function run(
  client: SFNClient,
  sfn: LocalStepFunctions,
  input: unknown,
  name?: string,
): Promise<DescribeExecutionCommandOutput> {
  const { executionArn } = await client.send(
    new StartExecutionCommand({ stateMachineArn: sfn.stateMachineArn, input: JSON.stringify(input), name }),
  );
  await sfn.waitForIdle();
  return client.send(new DescribeExecutionCommand({ executionArn }));
}

async function history(client: SFNClient, executionArn: string | undefined): Promise<HistoryEvent[]> {
  const { events } = await client.send(new GetExecutionHistoryCommand({ executionArn }));
  return events ?? [];
}

/** Resolves with the next value handed to `push`. */
function mailbox<T>() {
  const waiting: ((value: T) => void)[] = [];
  const queued: T[] = [];
  return {
    push(value: T) {
      const next = waiting.shift();
      if (next) next(value);
      else queued.push(value);
    },
    next(): Promise<T> {
      const value = queued.shift();
      if (value !== undefined) return Promise.resolve(value);
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
}

const single = (states: Record<string, unknown>, startAt = Object.keys(states)[0] as string) =>
  resolveDefinition({ StartAt: startAt, States: states });

/** Succeeds when the input's `ok` is true, else ends in a Fail state with `error`. */
const okOrFail = (error: string) =>
  single({
    Check: {
      Type: 'Choice',
      Choices: [{ Variable: '$.ok', BooleanEquals: true, Next: 'Fine' }],
      Default: 'Reject',
    },
    Fine: { Type: 'Succeed' },
    Reject: { Type: 'Fail', Error: error, Cause: 'ok must be true' },
  });

describe('loadDefinition', () => {
  const dir = mkdtempSync(join(tmpdir(), 'asl-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (file: string, text: string) => {
    const path = join(dir, file);
    writeFileSync(path, text);
    return path;
  };

  it('replaces Fn::GetAtt [fn, Arn] everywhere, including inside a Map ItemProcessor', () => {
    const definition = loadDefinition(join(FIXTURES, 'local-sfn-map.asl.yml'), { region: 'eu-west-1' });
    const states = definition.States as unknown as Record<string, Record<string, unknown>>;
    expect(states.Prepare?.Resource).toBe('arn:aws:lambda:eu-west-1:123456789012:function:prepare');
    const processor = states.CopyAll?.ItemProcessor as { States: Record<string, { Parameters: unknown }> };
    expect(processor.States.CopyOne?.Parameters).toEqual({
      FunctionName: 'arn:aws:lambda:eu-west-1:123456789012:function:copyOne',
      'Payload.$': '$',
    });
    expect(JSON.stringify(definition)).not.toContain('Fn::');
  });

  it('reads JSON and the !GetAtt short form, with a custom account', () => {
    const json = write(
      'd.asl.json',
      JSON.stringify({
        StartAt: 'A',
        States: { A: { Type: 'Task', Resource: { 'Fn::GetAtt': 'a.Arn' }, End: true } },
      }),
    );
    expect(loadDefinition(json, { accountId: '111122223333' }).States.A).toMatchObject({
      Resource: 'arn:aws:lambda:us-east-1:111122223333:function:a',
    });
    const yaml = write(
      'd.asl.yml',
      'StartAt: A\nStates:\n  A:\n    Type: Task\n    Resource: !GetAtt a.Arn\n    End: true\n',
    );
    expect(loadDefinition(yaml).States.A).toMatchObject({ Resource: ARN('a') });
  });

  it.each([
    ['Ref', { Ref: 'Table' }, /unsupported intrinsic Ref at \/States\/A\/Parameters\/TableName/],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal CloudFormation placeholder
    ['Fn::Sub', { 'Fn::Sub': 'arn:${AWS::Region}' }, /unsupported intrinsic Fn::Sub/],
    ['GetAtt of another attribute', { 'Fn::GetAtt': ['Table', 'StreamArn'] }, /unsupported Fn::GetAtt/],
    [
      'a serverless variable',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal serverless variable
      '${self:custom.table}',
      /serverless variable at \/States\/A\/Parameters\/TableName/,
    ],
  ])('rejects %s', (_label, value, message) => {
    const path = write(
      'bad.asl.json',
      JSON.stringify({
        StartAt: 'A',
        States: { A: { Type: 'Pass', Parameters: { TableName: value }, End: true } },
      }),
    );
    expect(() => loadDefinition(path)).toThrow(message);
  });

  it('rejects unknown YAML tags and documents that are not ASL', () => {
    expect(() => loadDefinition(write('t.yml', 'StartAt: A\nStates:\n  A: !Ref x\n'))).toThrow(
      /invalid YAML/,
    );
    expect(() => loadDefinition(write('n.yml', 'foo: bar\n'))).toThrow(
      /not an Amazon States Language document/,
    );
  });

  it('functionNameFromArn', () => {
    expect(functionNameFromArn(ARN('startCopy'))).toBe('startCopy');
    expect(functionNameFromArn(`${ARN('startCopy')}:live`)).toBe('startCopy');
    expect(functionNameFromArn('startCopy')).toBe('startCopy');
    expect(functionNameFromArn('123456789012:function:startCopy')).toBe('startCopy');
    expect(() => functionNameFromArn('arn:aws:states:us-east-1:123456789012:stateMachine:x')).toThrow();
  });
});

describe('LocalStepFunctions', () => {
  it('runs to SUCCEEDED with the output; payload and result cross a JSON boundary; Lambda context is complete', async () => {
    const contexts: LambdaInvocationContext[] = [];
    const definition = single({
      Double: { Type: 'Task', Resource: ARN('double'), ResultPath: '$.doubled', Next: 'Done' },
      Done: { Type: 'Succeed' },
    });
    const sentPayloads: unknown[] = [];
    const { sfn, client } = await start(definition, async (functionName, payload, context) => {
      contexts.push(context);
      const event = payload as { value: number; nested: { tag: string } };
      sentPayloads.push(event);
      event.nested.tag = 'mutated by the handler';
      return { functionName, value: event.value * 2, at: new Date(0), dropped: undefined };
    });

    const described = await run(client, sfn, { value: 21, nested: { tag: 'original' } }, 'double-21');

    expect(described.status).toBe('SUCCEEDED');
    expect(described.name).toBe('double-21');
    expect(described.executionArn).toBe(
      'arn:aws:states:us-east-1:123456789012:execution:copy-recovery-point:double-21',
    );
    expect(JSON.parse(described.output ?? '')).toEqual({
      value: 21,
      nested: { tag: 'original' },
      doubled: { functionName: 'double', value: 42, at: '1970-01-01T00:00:00.000Z' },
    });
    expect(described.startDate).toBeInstanceOf(Date);
    expect(described.stopDate?.getTime()).toBeGreaterThanOrEqual(described.startDate?.getTime() ?? Infinity);
    expect(described.redriveStatus).toBe('NOT_REDRIVABLE');
    expect(sentPayloads).toEqual([{ value: 21, nested: { tag: 'mutated by the handler' } }]);

    const [context] = contexts;
    expect(context).toMatchObject({
      functionName: 'double',
      functionVersion: '$LATEST',
      invokedFunctionArn: ARN('double'),
      callbackWaitsForEmptyEventLoop: true,
      logGroupName: '/aws/lambda/double',
    });
    expect(context?.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(context?.getRemainingTimeInMillis()).toBeGreaterThan(0);

    const events = await history(client, described.executionArn);
    expect(events.map((event) => event.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events.map((event) => event.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(events[1]?.stateEnteredEventDetails?.name).toBe('Double');
    expect(events[0]?.timestamp).toBeInstanceOf(Date);
    expect(sfn.execution('double-21')?.transitions).toBe(2);
  });

  it('retries an error by its name (err.name) and then succeeds', async () => {
    let calls = 0;
    const definition = single({
      Copy: {
        Type: 'Task',
        Resource: ARN('copy'),
        Retry: [
          { ErrorEquals: ['SomethingElse'], MaxAttempts: 0 },
          {
            ErrorEquals: ['ServiceUnavailableException'],
            IntervalSeconds: 2,
            BackoffRate: 2,
            MaxDelaySeconds: 3,
            JitterStrategy: 'FULL',
            MaxAttempts: 3,
          },
        ],
        End: true,
      },
    });
    const { sfn, client } = await start(definition, async () => {
      calls += 1;
      if (calls <= 2) throw new ServiceUnavailableException(`attempt ${calls}`);
      return { copied: true };
    });

    const described = await run(client, sfn, {});

    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output ?? '')).toEqual({ copied: true });
    expect(calls).toBe(3);
    const events = await history(client, described.executionArn);
    const failures = events.filter((event) => event.type === 'LambdaFunctionFailed');
    expect(failures.map((event) => event.lambdaFunctionFailedEventDetails?.error)).toEqual([
      'ServiceUnavailableException',
      'ServiceUnavailableException',
    ]);
    expect(events.filter((event) => event.type === 'LambdaFunctionScheduled')).toHaveLength(3);
    // 1 state entered + 2 retries
    expect(sfn.executions()[0]?.transitions).toBe(3);
  });

  it('fails the execution with the error name once retries are exhausted', async () => {
    const definition = single({
      Copy: {
        Type: 'Task',
        Resource: ARN('copy'),
        Retry: [{ ErrorEquals: ['ServiceUnavailableException'], MaxAttempts: 1 }],
        End: true,
      },
    });
    let calls = 0;
    const { sfn, client } = await start(definition, async () => {
      calls += 1;
      throw new ServiceUnavailableException('still down');
    });
    const described = await run(client, sfn, {});
    expect(calls).toBe(2);
    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('ServiceUnavailableException');
    expect(JSON.parse(described.cause ?? '')).toMatchObject({
      errorType: 'ServiceUnavailableException',
      errorMessage: 'still down',
    });
    expect(described.redriveStatus).toBe('REDRIVABLE');
  });

  it('routes a thrown error to Catch, whose ResultPath receives {Error, Cause}', async () => {
    const definition = single({
      Copy: {
        Type: 'Task',
        Resource: ARN('copy'),
        Retry: [{ ErrorEquals: ['ServiceUnavailableException'] }],
        Catch: [
          { ErrorEquals: ['ServiceUnavailableException'], Next: 'Unexpected' },
          { ErrorEquals: ['CopyRejectedError'], ResultPath: '$.error', Next: 'Rejected' },
        ],
        End: true,
      },
      Unexpected: { Type: 'Fail', Error: 'Unexpected' },
      Rejected: { Type: 'Pass', End: true },
    });
    const { sfn, client } = await start(definition, async () => {
      throw new CopyRejectedError('vault is locked');
    });

    const described = await run(client, sfn, { recoveryPointArn: 'rp-1' });

    expect(described.status).toBe('SUCCEEDED');
    const output = JSON.parse(described.output ?? '') as {
      recoveryPointArn: string;
      error: { Error: string; Cause: string };
    };
    expect(output.recoveryPointArn).toBe('rp-1');
    expect(Object.keys(output.error).sort()).toEqual(['Cause', 'Error']);
    expect(output.error.Error).toBe('CopyRejectedError');
    const cause = JSON.parse(output.error.Cause) as {
      errorType: string;
      errorMessage: string;
      trace: string[];
    };
    expect(cause.errorType).toBe('CopyRejectedError');
    expect(cause.errorMessage).toBe('vault is locked');
    expect(cause.trace[0]).toBe('CopyRejectedError: vault is locked');
    const types = (await history(client, described.executionArn)).map((event) => event.type);
    expect(types).toContain('LambdaFunctionFailed');
    expect(types.slice(-4)).toEqual([
      'TaskStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
  });

  it('a Fail state fails the execution: error/cause in DescribeExecution, ExecutionFailed in history', async () => {
    const definition = okOrFail('InvalidInputError');
    const { sfn, client } = await start(definition, async () => null);

    const described = await run(client, sfn, { ok: false });

    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('InvalidInputError');
    expect(described.cause).toBe('ok must be true');
    const events = await history(client, described.executionArn);
    expect(events.map((event) => event.type)).toEqual([
      'ExecutionStarted',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'FailStateEntered',
      'ExecutionFailed',
    ]);
    expect(events.at(-1)?.executionFailedEventDetails).toEqual({
      error: 'InvalidInputError',
      cause: 'ok must be true',
    });
    expect(sfn.executions()[0]).toMatchObject({
      status: 'FAILED',
      error: 'InvalidInputError',
      transitions: 2,
    });
  });

  it('runs a Map with two items, Lambda tasks inside the ItemProcessor (YAML fixture with Fn::GetAtt)', async () => {
    const invoked: { functionName: string; payload: unknown }[] = [];
    const { sfn, client } = await start(
      loadDefinition(join(FIXTURES, 'local-sfn-map.asl.yml')),
      async (functionName, payload) => {
        invoked.push({ functionName, payload });
        if (functionName === 'prepare') return { label: 'daily' };
        const { item, label } = payload as { item: string; label: string };
        return { copied: `${label}:${item}` };
      },
    );

    const described = await run(client, sfn, { items: ['rp-a', 'rp-b'] });

    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output ?? '').results).toEqual([
      { copied: 'daily:rp-a', status: 200 },
      { copied: 'daily:rp-b', status: 200 },
    ]);
    expect(invoked.filter((call) => call.functionName === 'copyOne').map((call) => call.payload)).toEqual(
      expect.arrayContaining([
        { item: 'rp-a', label: 'daily' },
        { item: 'rp-b', label: 'daily' },
      ]),
    );
    const events = await history(client, described.executionArn);
    const types = events.map((event) => event.type);
    expect(types.filter((type) => type === 'MapIterationStarted')).toHaveLength(2);
    expect(types.filter((type) => type === 'MapIterationSucceeded')).toHaveLength(2);
    expect(types.filter((type) => type === 'TaskSucceeded')).toHaveLength(2);
    expect(types).toContain('MapStateEntered');
    expect(types.slice(-3)).toEqual(['MapStateSucceeded', 'MapStateExited', 'ExecutionSucceeded']);
    const scheduled = events.find((event) => event.type === 'TaskScheduled')?.taskScheduledEventDetails;
    expect(scheduled).toMatchObject({ resourceType: 'lambda', resource: 'invoke', region: 'us-east-1' });
    // Prepare + Map + 2 × CopyOne
    expect(sfn.executions()[0]?.transitions).toBe(4);
  });

  describe('waitForTaskToken', () => {
    const callbackDefinition = (extra: Record<string, unknown> = {}) =>
      single({
        StartCopy: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: {
            FunctionName: { 'Fn::GetAtt': ['awaitCopy', 'Arn'] },
            Payload: { 'copyJobId.$': '$.copyJobId', 'taskToken.$': '$$.Task.Token' },
          },
          ResultPath: '$.copy',
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'CopyFailed' }],
          Next: 'Copied',
          ...extra,
        },
        Copied: { Type: 'Succeed' },
        CopyFailed: { Type: 'Pass', End: true },
      });

    async function startCallback(extra?: Record<string, unknown>) {
      const tokens = mailbox<string>();
      const payloads: unknown[] = [];
      const service = await start(callbackDefinition(extra), async (functionName, payload) => {
        expect(functionName).toBe('awaitCopy');
        payloads.push(payload);
        tokens.push((payload as { taskToken: string }).taskToken);
        return { accepted: true }; // ignored by Step Functions
      });
      const { executionArn } = await service.client.send(
        new StartExecutionCommand({
          stateMachineArn: service.sfn.stateMachineArn,
          input: JSON.stringify({ copyJobId: 'job-1' }),
        }),
      );
      return { ...service, tokens, payloads, executionArn };
    }

    it('completes with SendTaskSuccess sent by another client', async () => {
      const { sfn, client, tokens, payloads, executionArn } = await startCallback();
      const token = await tokens.next();
      expect(payloads).toEqual([{ copyJobId: 'job-1', taskToken: token }]);
      expect((await client.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');

      const other = new SFNClient({
        endpoint: sfn.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIDOTHER', secretAccessKey: 'other' },
      });
      await other.send(new SendTaskHeartbeatCommand({ taskToken: token }));
      await other.send(
        new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ state: 'COMPLETED' }) }),
      );
      await sfn.waitForIdle();

      const described = await client.send(new DescribeExecutionCommand({ executionArn }));
      expect(described.status).toBe('SUCCEEDED');
      expect(JSON.parse(described.output ?? '')).toEqual({
        copyJobId: 'job-1',
        copy: { state: 'COMPLETED' },
      });
      await expect(
        other.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })),
      ).rejects.toBeInstanceOf(TaskDoesNotExist);
      await expect(
        other.send(new SendTaskSuccessCommand({ taskToken: 'not a token', output: '{}' })),
      ).rejects.toBeInstanceOf(InvalidToken);
      const types = (await history(client, executionArn)).map((event) => event.type);
      expect(types).toEqual(
        expect.arrayContaining(['TaskScheduled', 'TaskStarted', 'TaskSubmitted', 'TaskSucceeded']),
      );
    });

    it('SendTaskFailure fails the task with that error, routed to Catch', async () => {
      const { sfn, client, tokens, executionArn } = await startCallback();
      const token = await tokens.next();
      await client.send(
        new SendTaskFailureCommand({
          taskToken: token,
          error: 'CopyJobFailed',
          cause: 'ABORTED by AWS Backup',
        }),
      );
      await sfn.waitForIdle();

      const described = await client.send(new DescribeExecutionCommand({ executionArn }));
      expect(described.status).toBe('SUCCEEDED');
      expect(JSON.parse(described.output ?? '').error).toEqual({
        Error: 'CopyJobFailed',
        Cause: 'ABORTED by AWS Backup',
      });
      const failed = (await history(client, executionArn)).find((event) => event.type === 'TaskFailed');
      expect(failed?.taskFailedEventDetails).toMatchObject({
        error: 'CopyJobFailed',
        cause: 'ABORTED by AWS Backup',
      });
    });

    it("a callback task whose function throws fails with the function's error; SendTaskSuccess needs JSON output", async () => {
      const definition = callbackDefinition();
      const { sfn, client } = await start(definition, async () => {
        throw new CopyRejectedError('vault locked');
      });
      const described = await run(client, sfn, { copyJobId: 'job-1' });
      expect(described.status).toBe('SUCCEEDED');
      expect(JSON.parse(described.output ?? '').error).toMatchObject({ Error: 'CopyRejectedError' });
      expect(JSON.parse(JSON.parse(described.output ?? '').error.Cause).errorMessage).toBe('vault locked');

      const { client: other, tokens } = await startCallback();
      const taskToken = await tokens.next();
      await expect(
        other.send(new SendTaskSuccessCommand({ taskToken, output: '{oops' })),
      ).rejects.toBeInstanceOf(InvalidOutput);
    });

    it('a FunctionName that is not a Lambda function fails with Lambda.InvalidParameterValueException', async () => {
      const definition = single({
        Copy: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { 'FunctionName.$': '$.fn' },
          End: true,
        },
      });
      const { sfn, client } = await start(definition, async () => null);
      const described = await run(client, sfn, { fn: 'arn:aws:sqs:us-east-1:123456789012:queue' });
      expect(described).toMatchObject({ status: 'FAILED', error: 'Lambda.InvalidParameterValueException' });
    });

    it('TimeoutSeconds elapses → States.Timeout (scaled), and a late SendTaskSuccess gets TaskTimedOut', async () => {
      const started = Date.now();
      const { sfn, client, tokens, executionArn } = await startCallback({ TimeoutSeconds: 20 });
      const token = await tokens.next();
      await sfn.waitForIdle();
      expect(Date.now() - started).toBeLessThan(2000);

      const described = await client.send(new DescribeExecutionCommand({ executionArn }));
      expect(described.status).toBe('SUCCEEDED');
      expect(JSON.parse(described.output ?? '').error.Error).toBe('States.Timeout');
      await expect(
        client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })),
      ).rejects.toBeInstanceOf(TaskTimedOut);
      const types = (await history(client, executionArn)).map((event) => event.type);
      expect(types).toContain('TaskTimedOut');
    });

    it('a retried timeout issues a new token; the timed-out token gets TaskTimedOut while the execution runs', async () => {
      const { sfn, client, tokens, executionArn } = await startCallback({
        TimeoutSeconds: 400,
        Retry: [{ ErrorEquals: ['States.Timeout'], IntervalSeconds: 1, MaxAttempts: 1 }],
      });
      const first = await tokens.next();
      const second = await tokens.next();
      expect(second).not.toBe(first);
      await expect(
        client.send(new SendTaskSuccessCommand({ taskToken: first, output: '{}' })),
      ).rejects.toBeInstanceOf(TaskTimedOut);
      await client.send(new SendTaskSuccessCommand({ taskToken: second, output: '{"attempt":2}' }));
      await sfn.waitForIdle();
      const described = await client.send(new DescribeExecutionCommand({ executionArn }));
      expect(described.status).toBe('SUCCEEDED');
      expect(JSON.parse(described.output ?? '').copy).toEqual({ attempt: 2 });
      const types = (await history(client, executionArn)).map((event) => event.type);
      expect(types.filter((type) => type === 'TaskScheduled')).toHaveLength(2);
      expect(types.indexOf('TaskTimedOut')).toBeLessThan(types.indexOf('TaskSucceeded'));
    });

    it('HeartbeatSeconds without a heartbeat → States.HeartbeatTimeout, matched by ErrorEquals States.Timeout', async () => {
      const definition = single({
        Wait: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: { FunctionName: 'awaitCopy', Payload: { 'token.$': '$$.Task.Token' } },
          HeartbeatSeconds: 10,
          TimeoutSeconds: 100_000,
          Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'TimedOut' }],
          End: true,
        },
        TimedOut: { Type: 'Pass', End: true },
      });
      const { sfn, client } = await start(definition, async () => ({}));
      const described = await run(client, sfn, {});
      expect(described.status).toBe('SUCCEEDED');
      expect(JSON.parse(described.output ?? '')).toEqual({ Error: 'States.HeartbeatTimeout', Cause: '' });
    });
  });

  it('StartExecution is idempotent for the same name and input while RUNNING; otherwise ExecutionAlreadyExists', async () => {
    const tokens = mailbox<string>();
    const definition = single({
      Await: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        Parameters: { FunctionName: 'awaitCopy', Payload: { 'token.$': '$$.Task.Token' } },
        End: true,
      },
    });
    const { sfn, client } = await start(definition, async (_name, payload) => {
      tokens.push((payload as { token: string }).token);
      return null;
    });
    const request = { stateMachineArn: sfn.stateMachineArn, name: 'copy-rp-1', input: '{"rp":"rp-1"}' };

    const first = await client.send(new StartExecutionCommand(request));
    const second = await client.send(new StartExecutionCommand(request));
    expect(second.executionArn).toBe(first.executionArn);
    expect(second.startDate?.getTime()).toBe(first.startDate?.getTime());
    await expect(
      client.send(new StartExecutionCommand({ ...request, input: '{"rp":"rp-2"}' })),
    ).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    await expect(
      client.send(new StartExecutionCommand({ ...request, name: 'has space' })),
    ).rejects.toBeInstanceOf(InvalidName);
    expect(sfn.executions()).toHaveLength(1);

    await client.send(new SendTaskSuccessCommand({ taskToken: await tokens.next(), output: '{}' }));
    await sfn.waitForIdle();
    // Closed executions are not restarted: same name and input is now ExecutionAlreadyExists too.
    await expect(client.send(new StartExecutionCommand(request))).rejects.toBeInstanceOf(
      ExecutionAlreadyExists,
    );
  });

  describe('RedriveExecution, as AWS does it', () => {
    const redrive = async (client: SFNClient, sfn: LocalStepFunctions, executionArn: string | undefined) => {
      const { redriveDate } = await client.send(new RedriveExecutionCommand({ executionArn }));
      await sfn.waitForIdle();
      return { redriveDate, described: await client.send(new DescribeExecutionCommand({ executionArn })) };
    };
    const typesAfterRedrive = (events: HistoryEvent[]) => {
      const types = events.map((event) => event.type);
      return types.slice(types.lastIndexOf('ExecutionRedriven'));
    };

    it('resumes at the failed state with the input it had: the states before it run once', async () => {
      let healthy = false;
      const calls: { functionName: string; payload: unknown }[] = [];
      const definition = single({
        Plan: { Type: 'Task', Resource: ARN('plan'), ResultPath: '$.plan', Next: 'Copy' },
        Copy: {
          Type: 'Task',
          Resource: ARN('copy'),
          Parameters: {
            'plan.$': '$.plan',
            'original.$': '$$.Execution.Input',
            'redrive.$': '$$.Execution.RedriveCount',
          },
          End: true,
        },
      });
      const { sfn, client } = await start(definition, async (functionName, payload) => {
        calls.push({ functionName, payload });
        if (functionName === 'plan') return { vaults: calls.length };
        if (!healthy) throw new ServiceUnavailableException('backup service down');
        return { copied: payload };
      });

      const failed = await run(client, sfn, { rp: 'rp-9' }, 'redrive-me');
      expect(failed).toMatchObject({ status: 'FAILED', redriveCount: 0, redriveStatus: 'REDRIVABLE' });
      healthy = true;
      const { redriveDate, described } = await redrive(client, sfn, failed.executionArn);

      expect(described).toMatchObject({
        status: 'SUCCEEDED',
        redriveCount: 1,
        redriveStatus: 'NOT_REDRIVABLE',
      });
      expect(described.redriveDate?.getTime()).toBe(redriveDate?.getTime());
      expect(described.error).toBeUndefined();
      expect(calls.map((call) => call.functionName)).toEqual(['plan', 'copy', 'copy']);
      expect(JSON.parse(described.output ?? '')).toEqual({
        copied: { plan: { vaults: 1 }, original: { rp: 'rp-9' }, redrive: 1 },
      });
      const events = await history(client, failed.executionArn);
      expect(events.filter((event) => event.type === 'ExecutionFailed')).toHaveLength(1);
      expect(typesAfterRedrive(events)).toEqual([
        'ExecutionRedriven',
        'TaskStateEntered',
        'LambdaFunctionScheduled',
        'LambdaFunctionStarted',
        'LambdaFunctionSucceeded',
        'TaskStateExited',
        'ExecutionSucceeded',
      ]);
      expect(events.find((event) => event.type === 'ExecutionRedriven')).toMatchObject({
        executionRedrivenEventDetails: { redriveCount: 1 },
      });
      // Plan + Copy, then the re-drive (a transition) + Copy
      expect(sfn.execution('redrive-me')).toMatchObject({ transitions: 4, redriveCount: 1 });
      await expect(
        client.send(new RedriveExecutionCommand({ executionArn: failed.executionArn })),
      ).rejects.toBeInstanceOf(ExecutionNotRedrivable);
    });

    it("runs again only the unsuccessful Map iterations, each from the state it was in, keeping the others' output", async () => {
      const failCopies = new Map([['b', 2]]);
      const calls: string[] = [];
      const definition = single({
        CopyAll: {
          Type: 'Map',
          ItemsPath: '$.items',
          MaxConcurrency: 1,
          ItemSelector: { 'item.$': '$$.Map.Item.Value', 'index.$': '$$.Map.Item.Index' },
          ItemProcessor: {
            StartAt: 'Stage',
            States: {
              Stage: { Type: 'Task', Resource: ARN('stage'), ResultPath: '$.staged', Next: 'Copy' },
              Copy: { Type: 'Task', Resource: ARN('copy'), End: true },
            },
          },
          ResultPath: '$.results',
          End: true,
        },
      });
      const { sfn, client } = await start(definition, async (functionName, payload) => {
        const { item, index } = payload as { item: string; index: number };
        calls.push(`${functionName}:${item}`);
        if (functionName === 'stage') return `staged-${item}`;
        const failures = failCopies.get(item) ?? 0;
        failCopies.set(item, failures - 1);
        if (failures > 0) throw new CopyRejectedError(`copy ${item} failed`);
        return { item, index, staged: (payload as { staged: string }).staged };
      });

      const failed = await run(client, sfn, { items: ['a', 'b', 'c'] });
      expect(failed).toMatchObject({ status: 'FAILED', error: 'CopyRejectedError' });
      const second = await redrive(client, sfn, failed.executionArn);
      expect(second.described).toMatchObject({
        status: 'FAILED',
        error: 'CopyRejectedError',
        redriveCount: 1,
      });
      const third = await redrive(client, sfn, failed.executionArn);

      expect(third.described).toMatchObject({ status: 'SUCCEEDED', redriveCount: 2 });
      // a succeeded at once and never runs again; b failed at Copy and resumes there each time.
      const count = (call: string) => calls.filter((made) => made === call).length;
      expect(['stage:a', 'copy:a', 'stage:b', 'copy:b'].map(count)).toEqual([1, 1, 1, 3]);
      expect(JSON.parse(third.described.output ?? '')).toEqual({
        items: ['a', 'b', 'c'],
        results: [
          { item: 'a', index: 0, staged: 'staged-a' },
          { item: 'b', index: 1, staged: 'staged-b' },
          { item: 'c', index: 2, staged: 'staged-c' },
        ],
      });
      const events = await history(client, failed.executionArn);
      const afterRedrive = events.slice(events.findLastIndex((event) => event.type === 'ExecutionRedriven'));
      expect(
        afterRedrive
          .filter((event) => event.type === 'MapIterationStarted')
          .map((event) => event.mapIterationStartedEventDetails?.index),
      ).toEqual([1, 2]);
      expect(JSON.stringify(events)).not.toContain('LocalStepFunctions.Resume');
    });

    it('after StopExecution, runs again only the Map iterations that were stopped', async () => {
      let stopped = true;
      const calls: string[] = [];
      const entered = mailbox<true>();
      const definition = single({
        CopyAll: {
          Type: 'Map',
          ItemsPath: '$.items',
          ItemProcessor: {
            StartAt: 'Copy',
            States: { Copy: { Type: 'Task', Resource: ARN('copy'), End: true } },
          },
          End: true,
        },
      });
      const { sfn, client } = await start(definition, async (_name, item) => {
        calls.push(item as string);
        if (item === 'slow' && stopped) {
          entered.push(true);
          return new Promise(() => {});
        }
        return `copied-${item}`;
      });
      const { executionArn } = await client.send(
        new StartExecutionCommand({
          stateMachineArn: sfn.stateMachineArn,
          input: JSON.stringify({ items: ['quick', 'slow'] }),
        }),
      );
      await entered.next();
      await vi.waitFor(() =>
        expect(sfn.execution(executionArn ?? '')?.history.map((event) => event.type)).toContain(
          'MapIterationSucceeded',
        ),
      );
      await client.send(new StopExecutionCommand({ executionArn }));
      await sfn.waitForIdle();
      stopped = false;

      const { described } = await redrive(client, sfn, executionArn);

      expect(described).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });
      expect(JSON.parse(described.output ?? '')).toEqual(['copied-quick', 'copied-slow']);
      expect(calls).toEqual(['quick', 'slow', 'slow']);
    });

    it('links each history event to the one before it in its thread, so a failure leads back to its state', async () => {
      const definition = single({
        CopyAll: {
          Type: 'Map',
          ItemsPath: '$.items',
          ItemProcessor: {
            StartAt: 'Copy',
            States: {
              Copy: { Type: 'Task', Resource: ARN('copy'), Next: 'Await' },
              Await: { Type: 'Task', Resource: ARN('await'), End: true },
            },
          },
          End: true,
        },
      });
      const awaiting = mailbox<true>();
      const { sfn, client } = await start(definition, async (functionName, payload) => {
        if (functionName === 'await') {
          awaiting.push(true);
          return new Promise(() => {});
        }
        if (payload === 'bad') {
          await awaiting.next(); // the other iteration entered Await after this one entered Copy
          throw new CopyRejectedError('bad copy');
        }
        return payload;
      });

      const failed = await run(client, sfn, { items: ['bad', 'good'] });

      const events = await history(client, failed.executionArn);
      const byId = new Map(events.map((event) => [event.id, event]));
      const chain: string[] = [];
      for (let event = events.at(-1); event; event = byId.get(event.previousEventId ?? 0)) {
        chain.push(
          `${event.type}${event.stateEnteredEventDetails ? ` ${event.stateEnteredEventDetails.name}` : ''}`,
        );
      }
      expect(chain).toEqual([
        'ExecutionFailed',
        'MapStateFailed',
        'MapIterationFailed',
        'LambdaFunctionFailed',
        'LambdaFunctionStarted',
        'LambdaFunctionScheduled',
        'TaskStateEntered Copy',
        'MapIterationStarted',
        'MapStateEntered CopyAll',
        'ExecutionStarted',
      ]);
      expect(events.filter((event) => event.stateEnteredEventDetails?.name === 'Await')).toHaveLength(1);
    });

    it('resets retry counters: a Retry whose attempts were used up retries in full again', async () => {
      let calls = 0;
      const definition = single({
        Copy: {
          Type: 'Task',
          Resource: ARN('copy'),
          Retry: [{ ErrorEquals: ['ServiceUnavailableException'], MaxAttempts: 2, IntervalSeconds: 1 }],
          End: true,
        },
      });
      const { sfn, client } = await start(definition, async () => {
        calls += 1;
        if (calls <= 5) throw new ServiceUnavailableException(`attempt ${calls}`);
        return { attempt: calls };
      });

      const failed = await run(client, sfn, {});
      expect(failed.status).toBe('FAILED');
      expect(calls).toBe(3);
      const { described } = await redrive(client, sfn, failed.executionArn);

      // 1 attempt + 2 retries again: the 3rd attempt of the re-drive succeeds.
      expect(described.status).toBe('SUCCEEDED');
      expect(JSON.parse(described.output ?? '')).toEqual({ attempt: 6 });
    });

    it('resets the execution timeout: a TIMED_OUT execution re-driven gets its whole TimeoutSeconds again', async () => {
      let slow = true;
      const definition = resolveDefinition({
        TimeoutSeconds: 200,
        StartAt: 'Copy',
        States: { Copy: { Type: 'Task', Resource: ARN('copy'), End: true } },
      });
      const { sfn, client } = await start(definition, async () => {
        if (slow) return new Promise(() => {});
        return await new Promise((resolve) => setTimeout(() => resolve({ copied: true }), 20));
      });
      const timedOut = await run(client, sfn, {});
      expect(timedOut.status).toBe('TIMED_OUT');
      slow = false;
      const { described } = await redrive(client, sfn, timedOut.executionArn);
      expect(described).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });
    });

    it('a re-drive of a Fail state fails again, without re-entering the states before it', async () => {
      const definition = okOrFail('InputRejected');
      const { sfn, client } = await start(definition, async () => null);
      const failed = await run(client, sfn, { ok: false });

      const { described } = await redrive(client, sfn, failed.executionArn);

      expect(described).toMatchObject({ status: 'FAILED', error: 'InputRejected', redriveCount: 1 });
      expect(typesAfterRedrive(await history(client, failed.executionArn))).toEqual([
        'ExecutionRedriven',
        'FailStateEntered',
        'ExecutionFailed',
      ]);
    });
  });

  it('ListExecutions filters by status and redriveFilter, newest first, with maxResults/nextToken paging', async () => {
    const definition = single({ Copy: { Type: 'Task', Resource: ARN('copy'), End: true } });
    const failing = new Set(['e1', 'e2', 'e3']);
    const { sfn, client } = await start(definition, async (_name, payload) => {
      const { id } = payload as { id: string };
      if (failing.has(id)) throw new ServiceUnavailableException(id);
      return {};
    });
    for (const id of ['e1', 'e2', 'e3', 'e4']) await run(client, sfn, { id }, id);
    failing.delete('e2');
    await client.send(new RedriveExecutionCommand({ executionArn: sfn.execution('e2')?.arn }));
    await sfn.waitForIdle();

    const list = (input: Partial<ConstructorParameters<typeof ListExecutionsCommand>[0]>) =>
      client.send(new ListExecutionsCommand({ stateMachineArn: sfn.stateMachineArn, ...input }));

    const all = await list({});
    expect(all.executions?.map((execution) => execution.name)).toEqual(['e4', 'e3', 'e2', 'e1']);
    expect(all.nextToken).toBeUndefined();

    const redriven = await list({ redriveFilter: 'REDRIVEN' });
    expect(redriven.executions?.map((execution) => [execution.name, execution.redriveCount])).toEqual([
      ['e2', 1],
    ]);

    const page1 = await list({ redriveFilter: 'NOT_REDRIVEN', maxResults: 2 });
    expect(page1.executions?.map((execution) => execution.name)).toEqual(['e4', 'e3']);
    expect(page1.nextToken).toEqual(expect.any(String));
    const page2 = await list({ redriveFilter: 'NOT_REDRIVEN', maxResults: 2, nextToken: page1.nextToken });
    expect(page2.executions?.map((execution) => execution.name)).toEqual(['e1']);
    expect(page2.nextToken).toBeUndefined();

    const failed = await list({ statusFilter: 'FAILED' });
    expect(failed.executions?.map((execution) => execution.name)).toEqual(['e3', 'e1']);
    expect(failed.executions?.[0]?.startDate).toBeInstanceOf(Date);
    await expect(list({ nextToken: page1.nextToken })).rejects.toBeInstanceOf(InvalidToken);
  });

  it('a Pass state with a falsy Result outputs that Result', async () => {
    const definition = single({
      Zero: { Type: 'Pass', Result: 0, ResultPath: '$.count', Next: 'False' },
      False: { Type: 'Pass', Result: false, ResultPath: '$.flag', End: true },
    });
    const { sfn, client } = await start(definition, async () => null);
    const described = await run(client, sfn, { keep: 1 });
    expect(JSON.parse(described.output ?? '')).toEqual({ keep: 1, count: 0, flag: false });
  });

  it('ResultPath "$" replaces the input (the interpreter would write a "$" key) and InputPath/OutputPath apply', async () => {
    const definition = single({
      Lookup: {
        Type: 'Task',
        Resource: ARN('lookup'),
        InputPath: '$.request',
        ResultPath: '$',
        OutputPath: '$.found',
        End: true,
      },
    });
    const { sfn, client } = await start(definition, async (_name, payload) => ({ found: payload, other: 1 }));
    const described = await run(client, sfn, { request: { id: 7 }, noise: true });
    expect(JSON.parse(described.output ?? '')).toEqual({ id: 7 });
  });

  it('GetExecutionHistory pages with maxResults/nextToken and reverseOrder', async () => {
    const definition = single({
      A: { Type: 'Pass', Next: 'B' },
      B: { Type: 'Pass', End: true },
    });
    const { sfn, client } = await start(definition, async () => null);
    const { executionArn } = await run(client, sfn, {});
    const page1 = await client.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 4 }));
    const page2 = await client.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 4, nextToken: page1.nextToken }),
    );
    expect([...(page1.events ?? []), ...(page2.events ?? [])].map((event) => event.type)).toEqual([
      'ExecutionStarted',
      'PassStateEntered',
      'PassStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
    expect(page2.nextToken).toBeUndefined();
    const reversed = await client.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1 }),
    );
    expect(reversed.events?.map((event) => [event.id, event.type])).toEqual([[6, 'ExecutionSucceeded']]);
    const withoutData = await client.send(
      new GetExecutionHistoryCommand({ executionArn, includeExecutionData: false }),
    );
    expect(withoutData.events?.[1]?.stateEnteredEventDetails).toEqual({
      name: 'A',
      inputDetails: { truncated: false },
    });
    expect(withoutData.events?.at(-1)?.executionSucceededEventDetails).toEqual({
      outputDetails: { truncated: false },
    });
  });

  it('scales Wait states (Seconds and SecondsPath) with timeScale', async () => {
    const definition = single({
      Fixed: { Type: 'Wait', Seconds: 30, Next: 'FromInput' },
      FromInput: { Type: 'Wait', SecondsPath: '$.delay', Next: 'Done' },
      Done: { Type: 'Pass', End: true },
    });
    const { sfn, client } = await start(definition, async () => null, { timeScale: 0.001 });
    const started = Date.now();
    const described = await run(client, sfn, { delay: 50 });
    const elapsed = Date.now() - started;
    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output ?? '')).toEqual({ delay: 50 });
    expect(elapsed).toBeGreaterThanOrEqual(75);
    expect(elapsed).toBeLessThan(2000);
    const types = (await history(client, described.executionArn)).map((event) => event.type);
    expect(types.filter((type) => type === 'WaitStateEntered')).toHaveLength(2);
    expect(types).not.toContain('TaskStateEntered');
  });

  it('counts Timestamp and TimestampPath waits from the clock it is given (scaled)', async () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const definition = single({
      Fixed: { Type: 'Wait', Timestamp: '2026-01-01T00:00:30Z', Next: 'FromInput' },
      FromInput: { Type: 'Wait', TimestampPath: '$.until', End: true },
    });
    const { sfn, client } = await start(definition, async () => null, {
      clock: { ...wallClock, now: () => now },
    });
    const started = Date.now();
    const described = await run(client, sfn, { until: '2026-01-01T00:00:50Z' });
    const elapsed = Date.now() - started;
    expect(described.status).toBe('SUCCEEDED');
    expect(elapsed).toBeGreaterThanOrEqual(75);
    expect(elapsed).toBeLessThan(2000);
    expect(described.startDate?.getTime()).toBe(now);
    const types = (await history(client, described.executionArn)).map((event) => event.type);
    expect(types.filter((type) => type === 'WaitStateEntered')).toHaveLength(2);
  });

  it('fails a task that is not a callback but passes $$.Task.Token with States.Runtime, uncatchable', async () => {
    const definition = single({
      Copy: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { FunctionName: 'copy', Payload: { 'token.$': '$$.Task.Token' } },
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }],
        End: true,
      },
      Caught: { Type: 'Succeed' },
    });
    let calls = 0;
    const { sfn, client } = await start(definition, async () => {
      calls += 1;
      return null;
    });
    const described = await run(client, sfn, {});
    expect(described).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(described.cause).toContain('$$.Task.Token is only available to .waitForTaskToken integrations');
    expect(calls).toBe(0);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a Parallel state', { Type: 'Parallel', Branches: [], End: true }, /Parallel states are not supported/],
    [
      'TimeoutSecondsPath',
      { Type: 'Task', Resource: ARN('copy'), TimeoutSecondsPath: '$.t', End: true },
      /TimeoutSecondsPath is not supported/,
    ],
    [
      'HeartbeatSecondsPath',
      { Type: 'Task', Resource: ARN('copy'), HeartbeatSecondsPath: '$.t', End: true },
      /HeartbeatSecondsPath is not supported/,
    ],
    [
      'another Task resource',
      { Type: 'Task', Resource: 'arn:aws:states:::sqs:sendMessage', End: true },
      /resource arn:aws:states:::sqs:sendMessage is not supported/,
    ],
    ['an invalid definition', { Type: 'Pass' }, /State machine definition is invalid/],
  ])('refuses to start with %s', async (_label, state, message) => {
    await expect(
      LocalStepFunctions.start({ definition: single({ Only: state }), invoke: async () => null }),
    ).rejects.toThrow(message);
  });

  it('refuses a state name used twice (ASL requires names unique in the whole definition)', async () => {
    const definition = single({
      Copy: {
        Type: 'Map',
        ItemProcessor: { StartAt: 'Copy', States: { Copy: { Type: 'Pass', End: true } } },
        End: true,
      },
    });
    await expect(LocalStepFunctions.start({ definition, invoke: async () => null })).rejects.toThrow(
      /State machine definition is invalid/,
    );
  });

  it('listens on the port it is given, on 127.0.0.1', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const { sfn, client } = await start(single({ Done: { Type: 'Succeed' } }), async () => null, { port });
    expect(sfn.endpoint).toBe(`http://127.0.0.1:${port}`);
    expect((await run(client, sfn, {})).status).toBe('SUCCEEDED');
  });

  it('answers bad requests with the errors AWS answers them with', async () => {
    const { sfn, client } = await start(single({ Done: { Type: 'Succeed' } }), async () => null);
    const raw = (target: string, body: string) =>
      fetch(sfn.endpoint, {
        method: 'POST',
        headers: { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.0' },
        body,
      }).then(async (response) => [response.status, ((await response.json()) as { __type: string }).__type]);
    const other = sfn.stateMachineArn.replace(/copy-recovery-point$/, 'other');

    expect(await raw('AWSStepFunctions.CreateStateMachine', '{}')).toEqual([
      400,
      'UnknownOperationException',
    ]);
    expect(await raw('AWSStepFunctions.DescribeExecution', '{not json')).toEqual([
      400,
      'SerializationException',
    ]);
    expect(
      await raw(
        'AWSStepFunctions.ListExecutions',
        JSON.stringify({ stateMachineArn: sfn.stateMachineArn, statusFilter: 'DONE' }),
      ),
    ).toEqual([400, 'ValidationException']);
    await expect(client.send(new StartExecutionCommand({ stateMachineArn: other }))).rejects.toBeInstanceOf(
      StateMachineDoesNotExist,
    );
    await expect(
      client.send(new DescribeExecutionCommand({ executionArn: 'not-an-arn' })),
    ).rejects.toBeInstanceOf(InvalidArn);
    await expect(
      client.send(
        new DescribeExecutionCommand({
          executionArn: `${sfn.stateMachineArn.replace('stateMachine', 'execution')}:nope`,
        }),
      ),
    ).rejects.toBeInstanceOf(ExecutionDoesNotExist);
  });

  it('a thrown value that is not an Error, and a Fail state without Error or Cause, fail as on AWS', async () => {
    const definition = single({
      Copy: {
        Type: 'Task',
        Resource: ARN('copy'),
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.caught', Next: 'Stop' }],
        End: true,
      },
      Stop: { Type: 'Fail' },
    });
    const { sfn, client } = await start(definition, async () => {
      throw 'plain string';
    });
    const described = await run(client, sfn, {});
    expect(described.status).toBe('FAILED');
    expect(described.error).toBeUndefined();
    expect(described.cause).toBeUndefined();
    const events = await history(client, described.executionArn);
    expect(
      events.find((event) => event.type === 'LambdaFunctionFailed')?.lambdaFunctionFailedEventDetails,
    ).toEqual({
      error: 'string',
      cause: JSON.stringify({ errorType: 'string', errorMessage: 'plain string', trace: [] }),
    });
    expect(events.at(-1)).toMatchObject({ type: 'ExecutionFailed', executionFailedEventDetails: {} });
  });

  it('refuses execution input AWS refuses: not JSON, over 256 KiB', async () => {
    const { sfn, client } = await start(single({ Done: { Type: 'Succeed' } }), async () => null);
    const startWith = (input: string) =>
      client.send(new StartExecutionCommand({ stateMachineArn: sfn.stateMachineArn, input }));
    await expect(startWith('{not json')).rejects.toBeInstanceOf(InvalidExecutionInput);
    await expect(startWith(JSON.stringify({ pad: 'x'.repeat(256 * 1024) }))).rejects.toBeInstanceOf(
      InvalidExecutionInput,
    );
    expect(sfn.executions()).toEqual([]);
  });

  it('the top-level TimeoutSeconds (scaled) times the execution out', async () => {
    const definition = resolveDefinition({
      TimeoutSeconds: 50,
      StartAt: 'Forever',
      States: { Forever: { Type: 'Wait', Seconds: 100_000, End: true } },
    });
    const { sfn, client } = await start(definition, async () => null);
    const described = await run(client, sfn, {});
    expect(described).toMatchObject({
      status: 'TIMED_OUT',
      error: 'States.Timeout',
      redriveStatus: 'REDRIVABLE',
    });
    expect((await history(client, described.executionArn)).at(-1)?.type).toBe('ExecutionTimedOut');
  });

  it('StopExecution aborts a handler that never returns; close() does not hang', async () => {
    const entered = mailbox<true>();
    const definition = single({ Hang: { Type: 'Task', Resource: ARN('hang'), End: true } });
    const { sfn, client } = await start(definition, () => {
      entered.push(true);
      return new Promise(() => {});
    });
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn: sfn.stateMachineArn, name: 'stop-me' }),
    );
    await entered.next();
    await client.send(new StopExecutionCommand({ executionArn, error: 'Operator', cause: 'manual stop' }));
    await sfn.waitForIdle();
    const described = await client.send(new DescribeExecutionCommand({ executionArn }));
    expect(described).toMatchObject({ status: 'ABORTED', error: 'Operator', cause: 'manual stop' });
    expect(described.redriveStatus).toBe('REDRIVABLE');
    expect((await history(client, executionArn)).at(-1)).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'Operator', cause: 'manual stop' },
    });

    await client.send(
      new StartExecutionCommand({ stateMachineArn: sfn.stateMachineArn, name: 'left-running' }),
    );
    await entered.next();
    const closing = Date.now();
    await sfn.close();
    expect(Date.now() - closing).toBeLessThan(1000);
    expect(sfn.execution('left-running')?.status).toBe('ABORTED');
  });
});
