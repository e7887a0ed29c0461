/**
 * The clock given to the local Step Functions service: the interpreter's timers (Wait, Retry) run on it, the
 * handlers' own timers on the wall clock, whatever the clock of the execution that invoked them.
 */
import { performance } from 'node:perf_hooks';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import { DUMMY_CREDENTIALS } from '../../local/dynamodb-local.js';
import type { StateMachineDefinition } from '../../local/state-machine-definition.js';
import { type LambdaInvoker, LocalStepFunctions } from '../../local/step-functions.js';
import { VirtualClock } from '../../local/virtual-clock.js';

const HOUR_MS = 3_600_000;
const HANDLER_SLEEP_MS = 200;
const FUNCTION = 'arn:aws:lambda:us-east-1:123456789012:function:sleeper';

/** Waits three hours (directly, then as a Retry's backoff), then runs a handler that sleeps on its own. */
const definition = {
  StartAt: 'Wait3Hours',
  States: {
    Wait3Hours: { Type: 'Wait', Seconds: 3 * 3600, Next: 'Sleep' },
    Sleep: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: FUNCTION, 'Payload.$': '$' },
      Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 3600, MaxAttempts: 1 }],
      End: true,
    },
  },
} as unknown as StateMachineDefinition;

class FlakyError extends Error {
  override name = 'Flaky';
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('LocalStepFunctions on a VirtualClock', () => {
  it('drains hours of Wait and Retry at once while a handler sleeps on the wall clock', async () => {
    // While a handler works, virtual time runs 1000 times faster than the wall clock: had the handler's sleep
    // been set on the virtual clock, it would last 0.2 ms.
    const clock = new VirtualClock(1000);
    const sleeps: number[] = [];
    const invoke: LambdaInvoker = () =>
      clock.busy(async () => {
        const started = performance.now();
        await new Promise((resolve) => setTimeout(resolve, HANDLER_SLEEP_MS));
        sleeps.push(performance.now() - started);
        if (sleeps.length === 1) throw new FlakyError('first attempt fails');
        return {};
      });
    const sfn = await LocalStepFunctions.start({ definition, invoke, clock });
    cleanups.push(() => sfn.close());
    clock.start();
    cleanups.push(() => clock.stop());
    const client = new SFNClient({
      endpoint: sfn.endpoint,
      region: 'us-east-1',
      credentials: DUMMY_CREDENTIALS,
    });
    cleanups.push(() => client.destroy());

    const wallStart = performance.now();
    const virtualStart = clock.now();
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn: sfn.stateMachineArn, input: '{}' }),
    );
    await sfn.waitForIdle();
    const wallMs = performance.now() - wallStart;

    const execution = sfn.execution(executionArn ?? '');
    expect(execution?.status).toBe('SUCCEEDED');
    // Three hours of Wait plus one of backoff went by on the virtual clock...
    expect(clock.now() - virtualStart).toBeGreaterThanOrEqual(4 * HOUR_MS);
    expect(
      (execution?.stopDate?.getTime() ?? 0) - (execution?.startDate.getTime() ?? 0),
    ).toBeGreaterThanOrEqual(4 * HOUR_MS);
    // ...in seconds of wall time, while each handler's own sleep took its full time on the wall clock.
    expect(wallMs).toBeLessThan(10_000);
    expect(sleeps).toHaveLength(2);
    for (const slept of sleeps) expect(slept).toBeGreaterThanOrEqual(HANDLER_SLEEP_MS - 5);
  });
});

describe('VirtualClock with busyCores', () => {
  /** Virtual ms that go by while `works` invocations each sleep 100 ms of wall time at once. */
  async function virtualMsOf(works: number, busyCores?: number): Promise<number> {
    const clock = new VirtualClock(100, Date.now(), busyCores);
    clock.start();
    const start = clock.now();
    const sleep = () => clock.busy(() => new Promise((resolve) => setTimeout(resolve, 100)));
    await Promise.all(Array.from({ length: works }, sleep));
    clock.stop();
    return clock.now() - start;
  }

  it('runs at the share of its cores when more invocations are in flight, as each Lambda has its own CPU', async () => {
    const alone = await virtualMsOf(10);
    const shared = await virtualMsOf(10, 1);

    // 100 ms of wall time at 100×: about 10 s alone, a tenth of it shared by 10 invocations on one core.
    expect(alone).toBeGreaterThanOrEqual(9_000);
    expect(shared).toBeLessThan(alone / 4);
    expect(shared).toBeGreaterThanOrEqual(900);
  });
});
