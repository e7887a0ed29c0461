import { randomUUID } from 'node:crypto';
import type { EmfOutput } from '@aws-lambda-powertools/metrics/types';
import { BackupClient } from '@aws-sdk/client-backup';
import { StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createHandler } from '../../handlers/reconcile.js';
import { CopySlots } from '../../lib/aws/copy-slots.js';
import { reconcileExecutionName } from '../../lib/domain/keys.js';
import type { CopyPolicy } from '../../lib/domain/policy.js';
import { ConfigurationError } from '../../lib/errors.js';
import { collectMetrics, publishMetrics } from '../../lib/metrics.js';
import { loadReconcileSettings, type ReconcileResult, reconcile } from '../../lib/reconcile.js';
import { createRuntime } from '../../lib/runtime.js';
import type { BackupEmulatorOptions, RecoveryPoint } from '../../local/backup-emulator.js';
import { DUMMY_CREDENTIALS } from '../../local/dynamodb-local.js';
import {
  backupJobCompleted,
  DR_ACCOUNT,
  DR_ISOLATED,
  DR_WEST,
  policyFor,
  recoveryPointArn,
} from '../../local/factories.js';
import { LocalService } from '../../local/local-service.js';

const WINDOW = { lookbackHours: 24, graceMinutes: 15 };
const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:111111111111:stateMachine:copy-recovery-point';

let stack: LocalService | undefined;
const clients: { destroy(): void }[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await stack?.close();
  stack = undefined;
});

async function startStack(policy: CopyPolicy = policyFor(), emulator: BackupEmulatorOptions = {}) {
  stack = await LocalService.start({ policy, dynamoDbEndpoint: inject('dynamoDbEndpoint'), emulator });
  return stack;
}

/** A Backup client of our own against the stack's emulator (the stack's runtime is private). */
function backupClientFor(s: LocalService): BackupClient {
  const client = new BackupClient({
    region: 'us-east-1',
    credentials: DUMMY_CREDENTIALS,
    endpoint: s.emulator.endpoint,
    maxAttempts: 1,
  });
  clients.push(client);
  return client;
}

/**
 * Holds the one slot of a new resource for a copy to another vault, taken by `executionArn` at `takenAt`, then
 * delivers a backup of that resource, whose copy queues behind it; returns that event.
 */
async function queueBehindHeldSlot(s: LocalService, executionArn: string, takenAt = () => new Date()) {
  const event = backupJobCompleted();
  const holder = {
    recoveryPointArn: recoveryPointArn(),
    destinationVaultArn: DR_ISOLATED,
    resourceType: 'EFS',
    resourceArn: event.detail.resourceArn as string,
  };
  const slots = new CopySlots(s.documents, s.ledger.tableName, { perRegion: 1, byRegion: {} }, takenAt);
  expect(await slots.acquire(holder, executionArn)).toEqual({ granted: true });
  s.seedFor(event);
  await s.deliver(event);
  while ((await s.ledger.waiting(`resource#${holder.resourceArn}`, 1)).length === 0) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return event;
}

/** One reconciler run over the stack, as the scheduled function would run it now. */
function reconcilerFor(
  s: LocalService,
  { policy = policyFor(), pageSize, graceMinutes = WINDOW.graceMinutes }: ReconcilerOptions = {},
) {
  const backup = backupClientFor(s);
  return () =>
    reconcile(
      {
        backup,
        ledger: s.ledger,
        sfn: s.sfn,
        ...(s.runtime.slots ? { slots: s.runtime.slots } : {}),
        policy,
        stateMachineArn: s.stepFunctions.stateMachineArn,
        now: new Date(),
      },
      { ...WINDOW, graceMinutes, ...(pageSize ? { pageSize } : {}) },
    );
}

interface ReconcilerOptions {
  policy?: CopyPolicy;
  pageSize?: number;
  graceMinutes?: number;
}

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);

/** A recovery point in `primary` whose backup began 10 minutes before it completed; its event is never sent. */
function seedFinished(s: LocalService, completedMinutesAgo = 30, overrides: Partial<RecoveryPoint> = {}) {
  return s.emulator.seedRecoveryPoint({
    RecoveryPointArn: recoveryPointArn(),
    BackupVaultName: 'primary',
    CreationDate: minutesAgo(completedMinutesAgo + 10),
    CompletionDate: minutesAgo(completedMinutesAgo),
    ...overrides,
  }).RecoveryPointArn;
}

/** The policy's one rule, reading from `sourceVaults` and matching only `resourceTypes` if given. */
function policyMatching(match: CopyPolicy['rules'][number]['match']): CopyPolicy {
  const policy = policyFor();
  return { ...policy, rules: policy.rules.map((rule) => ({ ...rule, match })) };
}

const lambdaContext = {
  functionName: 'reconcile',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:111111111111:function:reconcile',
  memoryLimitInMB: '256',
  awsRequestId: randomUUID(),
  getRemainingTimeInMillis: () => 30_000,
} as Context;

const scheduledEvent = {
  version: '0',
  id: randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '111111111111',
  time: new Date().toISOString(),
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:111111111111:rule/reconcile'],
  detail: {},
};

/** How many times a run accounted for a recovery point it matched. */
const accounted = (result: ReconcileResult) =>
  result.alreadyRecorded + result.started.length + result.alreadyStarted;

describe('the reconciler, through the real state machine', () => {
  it('finds the recovery point of a dropped event, copies it once, and starts nothing the next hour', async () => {
    const s = await startStack();
    const arn = seedFinished(s, 30);
    // The reconciler takes no copy slot: it only starts executions.
    const config = {
      ledgerTable: s.ledger.tableName,
      policy: policyFor(),
      copySlots: 0,
      copySlotsByRegion: {},
      copyStartPatienceMs: 0,
    };
    const runtime = createRuntime(config, { backup: backupClientFor(s), documents: s.documents, sfn: s.sfn });
    const handler = createHandler(
      () => runtime,
      () => ({ stateMachineArn: s.stepFunctions.stateMachineArn, ...WINDOW }),
    );

    const first = (await handler(scheduledEvent, lambdaContext)) as ReconcileResult;
    expect(first).toMatchObject({
      scanned: 1,
      matched: 1,
      alreadyRecorded: 0,
      alreadyStarted: 0,
      skipped: 0,
    });
    expect(first.started).toEqual([{ recoveryPointArn: arn, executionArn: expect.any(String) }]);

    await s.settle();
    expect(s.deliveryErrors).toEqual([]);
    const report = await s.report();
    expect(report.executions).toEqual([
      expect.objectContaining({
        arn: first.started[0]?.executionArn,
        name: reconcileExecutionName(arn),
        status: 'SUCCEEDED',
      }),
    ]);
    expect(report.copyJobs).toEqual([
      expect.objectContaining({ recoveryPointArn: arn, destinationVaultArn: DR_WEST, state: 'COMPLETED' }),
    ]);
    expect(report.ledger).toEqual([
      expect.objectContaining({ recoveryPointArn: arn, destinationVaultArn: '*', status: 'PLANNED' }),
      expect.objectContaining({
        recoveryPointArn: arn,
        destinationVaultArn: DR_WEST,
        status: 'COMPLETED',
        copyJobId: report.copyJobs[0]?.copyJobId,
        executionArn: first.started[0]?.executionArn,
      }),
    ]);

    const second = (await handler(scheduledEvent, lambdaContext)) as ReconcileResult;
    expect(second).toMatchObject({ matched: 1, alreadyRecorded: 1, started: [], alreadyStarted: 0 });
    await s.settle();
    expect(s.stepFunctions.executions()).toHaveLength(1);
    expect(s.emulator.copyJobs()).toHaveLength(1);
  });

  it('starts one execution and one copy job when two runs reconcile the same recovery point at once', async () => {
    const s = await startStack();
    const arn = seedFinished(s, 30);
    const reconcileNow = reconcilerFor(s);

    const runs = await Promise.all([reconcileNow(), reconcileNow()]);
    await s.settle();

    const report = await s.report();
    expect(report.executions).toEqual([
      expect.objectContaining({ name: reconcileExecutionName(arn), status: 'SUCCEEDED' }),
    ]);
    expect(report.copyJobs).toEqual([expect.objectContaining({ recoveryPointArn: arn, state: 'COMPLETED' })]);
    expect(runs.map(accounted)).toEqual([1, 1]);
    // Step Functions answers a same-name, same-input request for a running execution with that execution.
    const reported = new Set(runs.flatMap((run) => run.started.map((started) => started.executionArn)));
    expect([...reported]).toEqual([report.executions[0]?.arn]);
    expect((await reconcileNow()).alreadyRecorded).toBe(1);
  });

  it('does not start a second execution for a recovery point whose reconciled execution failed while planning', async () => {
    const s = await startStack();
    const arn = seedFinished(s, 30);
    // More than PlanCopies retries: the execution fails, leaving a FAILED plan item for a re-drive.
    s.emulator.injectFault({
      operation: 'DescribeRecoveryPoint',
      error: 'ServiceUnavailableException',
      count: 50,
    });
    const reconcileNow = reconcilerFor(s);

    expect((await reconcileNow()).started).toHaveLength(1);
    await s.settle();
    const [failed] = s.stepFunctions.executions();
    expect(failed).toMatchObject({
      name: reconcileExecutionName(arn),
      status: 'FAILED',
      error: 'ServiceUnavailableException',
    });
    expect(await s.ledger.scan()).toEqual([
      expect.objectContaining({
        recoveryPointArn: arn,
        destinationVaultArn: '*',
        status: 'FAILED',
        lastError: expect.objectContaining({ name: 'ServiceUnavailableException' }),
      }),
    ]);

    const later = await reconcileNow();
    expect(later).toMatchObject({ matched: 1, alreadyRecorded: 1, started: [], alreadyStarted: 0 });
    await s.settle();
    expect(s.stepFunctions.executions().map((execution) => execution.arn)).toEqual([failed?.arn]);
    expect(s.emulator.copyJobs()).toEqual([]);
  });

  it('leaves alone recovery points that are recorded, too young, too old, elsewhere, unfinished or unmatched', async () => {
    const policy = policyMatching({ sourceVaults: ['primary'], resourceTypes: ['EBS'] });
    const s = await startStack(policy);
    const lost = seedFinished(s, 30);
    const delivered = seedFinished(s, 30);
    await s.deliver(backupJobCompleted(delivered));
    await s.settle();
    const ignored = [
      seedFinished(s, 5, { CreationDate: minutesAgo(20) }), // finished inside the grace period: its event may come
      seedFinished(s, 24 * 60 + 30), // created before the lookback window
      seedFinished(s, 30, { BackupVaultName: 'other' }), // a vault no rule names
      seedFinished(s, 30, { Status: 'PARTIAL' }),
      seedFinished(s, 30, { Status: 'CREATING', CompletionDate: undefined }),
      seedFinished(s, 30, { ResourceType: 'EFS' }), // the rule copies EBS only
    ];

    const result = await reconcilerFor(s, { policy })();
    await s.settle();

    // Listed: lost, delivered, the young one, PARTIAL, CREATING and EFS; not the old one or the other vault's.
    expect(result).toMatchObject({
      scanned: 6,
      matched: 2,
      alreadyRecorded: 1,
      alreadyStarted: 0,
      skipped: 4,
    });
    expect(result.started.map((started) => started.recoveryPointArn)).toEqual([lost]);
    const report = await s.report();
    expect(report.executions).toHaveLength(2);
    expect(report.copyJobs.map((job) => job.recoveryPointArn).sort()).toEqual([lost, delivered].sort());
    const recorded = new Set(report.ledger.map((item) => item.recoveryPointArn));
    expect(ignored.filter((arn) => recorded.has(arn))).toEqual([]);
  });

  it.each([
    ['the default page size', { defaultPageSize: 2 }, undefined],
    ['a small MaxResults', {}, 2],
  ] as const)('reconciles every recovery point across pages (%s)', async (_case, emulator, pageSize) => {
    const s = await startStack(policyFor(), emulator);
    const arns = Array.from({ length: 5 }, (_, i) => seedFinished(s, 30 + i));

    const result = await reconcilerFor(s, { pageSize })();
    await s.settle();

    expect(s.emulator.calls.operations.ListRecoveryPointsByBackupVault).toBe(3);
    expect(result.started.map((started) => started.recoveryPointArn).sort()).toEqual([...arns].sort());
    const report = await s.report();
    expect(report.status).toBe('SUCCEEDED');
    expect(report.copyJobs.map((job) => job.recoveryPointArn).sort()).toEqual([...arns].sort());
    expect(report.copyJobs.every((job) => job.state === 'COMPLETED')).toBe(true);
  });

  it('reconciles the other source vaults when one cannot be listed, then fails the run naming it', async () => {
    const policy = policyMatching({ sourceVaults: ['primary', 'secondary'] });
    const s = await startStack(policy);
    const lost = seedFinished(s, 30, { BackupVaultName: 'secondary' });
    s.emulator.injectFault({
      operation: 'ListRecoveryPointsByBackupVault',
      error: 'ServiceUnavailableException',
    });

    await expect(reconcilerFor(s, { policy })()).rejects.toThrow(/vault\(s\) primary failed/);
    await s.settle();

    expect(s.emulator.copyJobs().map((job) => job.request.RecoveryPointArn)).toEqual([lost]);
  });

  it('gives back the copy slot of a copy whose execution died unseen, and hands it to the copy waiting', async () => {
    stack = await LocalService.start({
      policy: policyFor(),
      dynamoDbEndpoint: inject('dynamoDbEndpoint'),
      copySlots: 1,
    });
    const s = stack;
    // The resource's one slot is held by a copy (to another vault) whose execution died 20 minutes ago, and no
    // event said so.
    const event = await queueBehindHeldSlot(
      s,
      'arn:aws:states:us-east-1:123456789012:execution:copy:dead',
      () => new Date(Date.now() - 20 * 60_000),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    // No copy ended to hand the slot on: the copy still waits.
    expect(s.stepFunctions.executions().map((execution) => execution.status)).toEqual(['RUNNING']);

    const result = await reconcilerFor(s)();
    await s.settle();

    // Its resource slot and its regional one.
    expect(result.slotsReclaimed).toBe(2);
    const report = await s.report();
    expect(report.status).toBe('SUCCEEDED');
    expect(report.copyJobs).toEqual([
      expect.objectContaining({ recoveryPointArn: event.resources[0], state: 'COMPLETED' }),
    ]);
  });
});

const DR_WEST_2 = `arn:aws:backup:us-west-2:${DR_ACCOUNT}:backup-vault:dr-west-2`;

/** Delivers a backup event whose recovery point the reconciler lists (finished 30 minutes ago). */
async function deliverFinished(s: LocalService) {
  const event = backupJobCompleted();
  s.seedFor(event, { CreationDate: minutesAgo(40), CompletionDate: minutesAgo(30) });
  const executionArn = (await s.deliver(event)) as string;
  return { recoveryPointArn: event.resources[0] as string, executionArn };
}

/** Polls the recovery point's copy items until `done` holds of their statuses (sorted). */
async function untilCopies(s: LocalService, recoveryPointArn: string, done: (statuses: string[]) => boolean) {
  for (let i = 0; i < 400; i++) {
    const statuses = (await s.ledger.copiesOf(recoveryPointArn)).map((copy) => copy.status).sort();
    if (done(statuses)) return statuses;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`copies of ${recoveryPointArn} never reached the awaited statuses`);
}

/**
 * The copy task's Lambda dies (Runtime.ExitError) as it claims an attempt, the first `times` times, after the
 * copy slots are taken and before the copy leaves PLANNED; `hold` keeps the first one waiting until it resolves.
 */
function crashAtClaim(s: LocalService, times: number, hold?: Promise<void>) {
  let crashes = 0;
  let reached: () => void = () => {};
  const atClaim = new Promise<void>((resolve) => {
    reached = resolve;
  });
  s.documents.middlewareStack.add(
    (next) => async (args) => {
      const values = (args.input as { ExpressionAttributeValues?: Record<string, unknown> })
        .ExpressionAttributeValues;
      if (values?.[':status'] === 'PENDING' && crashes < times) {
        crashes++;
        reached();
        if (crashes === 1) await hold;
        throw Object.assign(new Error('Runtime exited with error: signal: killed'), {
          name: 'Runtime.ExitError',
        });
      }
      return next(args);
    },
    { step: 'initialize', name: 'crashAtClaim' },
  );
  return atClaim;
}

describe('the reconciler resumes the copies an ended execution left behind', () => {
  it('re-drives an execution stopped while its copies were QUEUED: each copied once, resumed once', async () => {
    const s = await startStack(
      policyFor([{ vaultArn: DR_WEST }, { vaultArn: DR_ISOLATED }, { vaultArn: DR_WEST_2 }]),
      { copyDurationMs: 1000 },
    );
    const { recoveryPointArn, executionArn } = await deliverFinished(s);
    // One copy job per resource at a time: one copy runs, the other two wait for the resource's slot.
    await untilCopies(s, recoveryPointArn, (statuses) => statuses.join() === 'QUEUED,QUEUED,RUNNING');
    await s.sfn.send(new StopExecutionCommand({ executionArn }));
    // The running job still ends (as on AWS); the queued copies stay QUEUED, nobody left to start them.
    await untilCopies(s, recoveryPointArn, (statuses) => statuses.join() === 'COMPLETED,QUEUED,QUEUED');
    expect(s.stepFunctions.execution(executionArn)).toMatchObject({ status: 'ABORTED', redriveCount: 0 });

    // Just ended: left to its Execution Status Change event for the grace period.
    expect(await reconcilerFor(s)()).toMatchObject({ alreadyRecorded: 1, resumed: 0 });
    const emitted: EmfOutput[] = [];
    collectMetrics((emf) => emitted.push(emf));
    const reconcileNow = reconcilerFor(s, { graceMinutes: 0 });
    const first = await reconcileNow();
    publishMetrics();
    // The re-driven execution is running: nothing more to resume.
    const second = await reconcileNow();
    await s.settle();
    const third = await reconcileNow();

    expect([first, second, third].map((run) => run.resumed)).toEqual([2, 0, 0]);
    expect(emitted.find((emf) => 'CopiesResumed' in emf)).toMatchObject({ CopiesResumed: 2 });
    expect(s.stepFunctions.executions()).toEqual([
      expect.objectContaining({ arn: executionArn, status: 'SUCCEEDED', redriveCount: 1 }),
    ]);
    const report = await s.report();
    expect(report.copyJobs.map((job) => `${job.destinationVaultArn} ${job.state}`).sort()).toEqual(
      [DR_WEST, DR_ISOLATED, DR_WEST_2].map((vault) => `${vault} COMPLETED`).sort(),
    );
    const copies = await s.ledger.copiesOf(recoveryPointArn);
    expect(copies.map((copy) => copy.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
  });

  it.each([
    ['stopped', true],
    ['failed (its Lambda died)', false],
  ])('re-drives an execution %s while its copy was PLANNED, and copies it once', async (_case, stop) => {
    const s = await startStack();
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const atClaim = crashAtClaim(s, 1, stop ? held : undefined);
    const { recoveryPointArn, executionArn } = await deliverFinished(s);
    await atClaim;
    if (stop) await s.sfn.send(new StopExecutionCommand({ executionArn }));
    release();
    await s.settle();
    expect(s.stepFunctions.execution(executionArn)?.status).toBe(stop ? 'ABORTED' : 'FAILED');
    expect((await s.ledger.copiesOf(recoveryPointArn)).map((copy) => copy.status)).toEqual(['PLANNED']);

    const result = await reconcilerFor(s, { graceMinutes: 0 })();
    await s.settle();

    expect(result).toMatchObject({ alreadyRecorded: 1, started: [], resumed: 1 });
    expect(s.stepFunctions.executions()).toEqual([
      expect.objectContaining({ arn: executionArn, status: 'SUCCEEDED', redriveCount: 1 }),
    ]);
    expect(s.emulator.copyJobs()).toEqual([expect.objectContaining({ state: 'COMPLETED' })]);
    expect(await s.ledger.copiesOf(recoveryPointArn)).toEqual([
      expect.objectContaining({ status: 'COMPLETED', copyJobId: s.emulator.copyJobs()[0]?.copyJobId }),
    ]);
  });

  it('re-drives an execution once: one that fails again is left to the alarm and npm run redrive', async () => {
    const s = await startStack();
    crashAtClaim(s, 2);
    const { recoveryPointArn, executionArn } = await deliverFinished(s);
    await s.settle();
    const reconcileNow = reconcilerFor(s, { graceMinutes: 0 });

    const first = await reconcileNow();
    await s.settle();
    const second = await reconcileNow();
    await s.settle();

    expect([first.resumed, second.resumed]).toEqual([1, 0]);
    expect(s.stepFunctions.executions()).toEqual([
      expect.objectContaining({ arn: executionArn, status: 'FAILED', redriveCount: 1 }),
    ]);
    expect((await s.ledger.copiesOf(recoveryPointArn)).map((copy) => copy.status)).toEqual(['PLANNED']);
    expect(s.emulator.copyJobs()).toEqual([]);
  });

  it('re-drives an execution that failed with a sibling QUEUED: the sibling is copied, the failed copy retried once', async () => {
    const s = await startStack(policyFor([{ vaultArn: DR_WEST }, { vaultArn: DR_ISOLATED }]), {
      copyDurationMs: 300,
    });
    // Copies of one resource take turns: whichever runs first fails. The failure hands the resource's slot to
    // the sibling, whose Lambda then dies as it claims, once the failure has failed the execution (the Map
    // cancels its iteration): the sibling stays QUEUED.
    s.emulator.failCopy({}, { state: 'FAILED', message: 'boom' });
    let executionArn = '';
    let claims = 0;
    s.documents.middlewareStack.add(
      (next) => async (args) => {
        const values = (args.input as { ExpressionAttributeValues?: Record<string, unknown> })
          .ExpressionAttributeValues;
        if (values?.[':status'] === 'PENDING' && ++claims === 2) {
          while (s.stepFunctions.execution(executionArn)?.status === 'RUNNING') {
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          throw Object.assign(new Error('Runtime exited with error: signal: killed'), {
            name: 'Runtime.ExitError',
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'crashSiblingAfterTheFailure' },
    );
    const delivered = await deliverFinished(s);
    executionArn = delivered.executionArn;
    await s.settle();
    const { recoveryPointArn } = delivered;
    expect(s.stepFunctions.execution(executionArn)).toMatchObject({
      status: 'FAILED',
      error: 'CopyJobFailedError',
    });
    expect((await s.ledger.copiesOf(recoveryPointArn)).map((copy) => copy.status).sort()).toEqual([
      'FAILED',
      'QUEUED',
    ]);

    const result = await reconcilerFor(s, { graceMinutes: 0 })();
    await s.settle();

    expect(result.resumed).toBe(1);
    expect(s.stepFunctions.executions()).toEqual([
      expect.objectContaining({ arn: executionArn, status: 'SUCCEEDED', redriveCount: 1 }),
    ]);
    expect(
      s.emulator
        .copyJobs()
        .map((job) => job.state)
        .sort(),
    ).toEqual(['COMPLETED', 'COMPLETED', 'FAILED']);
    const copies = await s.ledger.copiesOf(recoveryPointArn);
    expect(copies.map((copy) => copy.status)).toEqual(['COMPLETED', 'COMPLETED']);
  });

  it('does not resume a FAILED copy: a real failure is left to the alarm and npm run redrive', async () => {
    const s = await startStack();
    s.emulator.failCopy({ destinationBackupVaultArn: DR_WEST }, { state: 'FAILED', message: 'boom' });
    const { recoveryPointArn, executionArn } = await deliverFinished(s);
    await s.settle();

    const result = await reconcilerFor(s, { graceMinutes: 0 })();
    await s.settle();

    expect(result).toMatchObject({ alreadyRecorded: 1, resumed: 0 });
    expect(s.stepFunctions.executions()).toEqual([
      expect.objectContaining({ arn: executionArn, status: 'FAILED', redriveCount: 0 }),
    ]);
    expect(s.emulator.copyJobs().map((job) => job.state)).toEqual(['FAILED']);
    expect((await s.ledger.copiesOf(recoveryPointArn)).map((copy) => copy.status)).toEqual(['FAILED']);
  });

  it('leaves alone a QUEUED copy whose execution is still running', async () => {
    stack = await LocalService.start({
      policy: policyFor(),
      dynamoDbEndpoint: inject('dynamoDbEndpoint'),
      copySlots: 1,
    });
    const s = stack;
    const event = await queueBehindHeldSlot(s, 'arn:aws:states:us-east-1:123456789012:execution:copy:alive');

    const result = await reconcilerFor(s, { graceMinutes: 0 })();

    expect(result).toMatchObject({ alreadyRecorded: 1, resumed: 0 });
    expect(s.stepFunctions.executions()).toEqual([
      expect.objectContaining({ status: 'RUNNING', redriveCount: 0 }),
    ]);
    expect((await s.ledger.copiesOf(event.resources[0] as string)).map((copy) => copy.status)).toEqual([
      'QUEUED',
    ]);
  });
});

describe('the hourly queue measure', () => {
  it('counts the copies still waiting for a slot after handing out free ones, and how long the oldest has waited', async () => {
    stack = await LocalService.start({
      policy: policyFor(),
      dynamoDbEndpoint: inject('dynamoDbEndpoint'),
      copySlots: 1,
    });
    const s = stack;
    // The resource's one slot is held by a live copy (to another vault): the reconciler leaves it be.
    await queueBehindHeldSlot(s, 'arn:aws:states:us-east-1:123456789012:execution:copy:alive');

    const emitted: EmfOutput[] = [];
    collectMetrics((emf) => emitted.push(emf));
    await reconcilerFor(s)();
    publishMetrics();
    const measured = emitted.find((emf) => 'CopiesWaitingForSlot' in emf);
    expect(measured).toMatchObject({ CopiesWaitingForSlot: 1, service: 'backup-copy-orchestrator' });
    expect(measured?.OldestSlotWaitMinutes).toBeGreaterThanOrEqual(0);
    expect(measured?.OldestSlotWaitMinutes).toBeLessThan(5);
  });
});

describe('loadReconcileSettings', () => {
  it('reads the state machine and defaults to a 24-hour lookback and a 15-minute grace period', () => {
    expect(loadReconcileSettings({ STATE_MACHINE_ARN })).toEqual({
      stateMachineArn: STATE_MACHINE_ARN,
      lookbackHours: 24,
      graceMinutes: 15,
    });
  });

  it('reads the window from the environment', () => {
    const env = { STATE_MACHINE_ARN, RECONCILE_LOOKBACK_HOURS: '72', RECONCILE_GRACE_MINUTES: '0' };
    expect(loadReconcileSettings(env)).toMatchObject({ lookbackHours: 72, graceMinutes: 0 });
  });

  it.each([
    ['STATE_MACHINE_ARN', {}],
    ['STATE_MACHINE_ARN', { STATE_MACHINE_ARN: 'copy-recovery-point' }],
    ['RECONCILE_LOOKBACK_HOURS', { STATE_MACHINE_ARN, RECONCILE_LOOKBACK_HOURS: 'a day' }],
    ['RECONCILE_LOOKBACK_HOURS', { STATE_MACHINE_ARN, RECONCILE_LOOKBACK_HOURS: '0' }],
    ['RECONCILE_GRACE_MINUTES', { STATE_MACHINE_ARN, RECONCILE_GRACE_MINUTES: '-5' }],
    [
      'RECONCILE_GRACE_MINUTES',
      { STATE_MACHINE_ARN, RECONCILE_LOOKBACK_HOURS: '1', RECONCILE_GRACE_MINUTES: '60' },
    ],
  ])('refuses a bad %s, naming it', (variable, env) => {
    expect(() => loadReconcileSettings(env)).toThrow(ConfigurationError);
    expect(() => loadReconcileSettings(env)).toThrow(variable);
  });
});
