import { RedriveExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { CopyPolicy, PlannedCopy } from '../../lib/domain/policy.js';
import type { BackupEmulatorOptions } from '../../local/backup-emulator.js';
import {
  backupJobCompleted,
  COPY_ROLE,
  DR_ISOLATED,
  DR_WEST,
  policyFor,
  recoveryPointArn,
} from '../../local/factories.js';
import { LocalService, type SimulationReport } from '../../local/local-service.js';

let stack: LocalService | undefined;

/** A planned copy of a fresh recovery point to DR_WEST, as PlanCopies would give it. */
const plannedCopy = (): PlannedCopy => ({
  recoveryPointArn: recoveryPointArn(),
  sourceBackupVaultName: 'primary',
  destinationVaultArn: DR_WEST,
  iamRoleArn: COPY_ROLE,
  lifecycleSource: 'none',
  resourceType: 'EFS',
  isParent: false,
  rule: 'primary-to-dr',
});

async function startStack(
  options: {
    policy?: CopyPolicy;
    emulator?: BackupEmulatorOptions;
    copySlots?: number;
    timeScale?: number;
  } = {},
) {
  stack = await LocalService.start({
    policy: options.policy ?? policyFor(),
    dynamoDbEndpoint: inject('dynamoDbEndpoint'),
    emulator: options.emulator ?? {},
    ...(options.copySlots === undefined ? {} : { copySlots: options.copySlots }),
    ...(options.timeScale === undefined ? {} : { timeScale: options.timeScale }),
  });
  return stack;
}

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function deliverAll(s: LocalService, inputs: unknown[]) {
  for (const input of inputs) s.seedFor(input);
  const arns = await Promise.all(inputs.map((input) => s.deliver(input)));
  await s.settle();
  expect(s.deliveryErrors).toEqual([]);
  return arns;
}

/**
 * The guarantee, checked against the emulator (what AWS would hold) and the ledger (what we say):
 * each planned (recovery point, destination) has exactly one COMPLETED copy job, the ledger names that job
 * as COMPLETED, and every execution left a plan item.
 */
function expectExactlyOneCopyEach(
  report: SimulationReport,
  destinations: string[],
  recoveryPoints: string[],
) {
  for (const rp of recoveryPoints) {
    for (const destination of destinations) {
      const completed = report.copyJobs.filter(
        (job) =>
          job.recoveryPointArn === rp && job.destinationVaultArn === destination && job.state === 'COMPLETED',
      );
      expect(completed, `${rp} → ${destination}`).toHaveLength(1);
      const item = report.ledger.find(
        (i) => i.recoveryPointArn === rp && i.destinationVaultArn === destination,
      );
      expect(item).toMatchObject({ status: 'COMPLETED', copyJobId: completed[0]?.copyJobId });
    }
    expect(
      report.ledger.find((i) => i.recoveryPointArn === rp && i.destinationVaultArn === '*'),
    ).toBeDefined();
  }
  expect(report.ledger.filter((i) => i.status === 'PENDING' || i.status === 'RUNNING')).toEqual([]);
}

describe('exactly one copy per destination', () => {
  it('starts one copy per destination when the same event is delivered 5 times at once', async () => {
    const s = await startStack({ policy: policyFor([{ vaultArn: DR_WEST }, { vaultArn: DR_ISOLATED }]) });
    const event = backupJobCompleted();
    await deliverAll(
      s,
      Array.from({ length: 5 }, () => event),
    );
    const report = await s.report();

    expect(report.executions).toHaveLength(5);
    expect(report.executions.map((e) => e.status)).toEqual(Array(5).fill('SUCCEEDED'));
    expect(report.copyJobs).toHaveLength(2);
    expectExactlyOneCopyEach(report, [DR_WEST, DR_ISOLATED], [event.resources[0] as string]);
  });

  // 200 executions take minutes on a 2-core machine shared with other work.
  it('drains 200 recovery points through 10 copy slots per Region (and 5 per vault) with few LimitExceeded answers', async () => {
    // AWS's quotas scaled down: 10 per destination Region, then 5 more per destination vault, 1 per resource.
    const s = await startStack({
      emulator: { copyQuotas: { perRegion: 10, perVaultOverflow: 5, perResource: 1 }, copyDurationMs: 20 },
      copySlots: 10,
    });
    const events = Array.from({ length: 200 }, () => backupJobCompleted());
    await deliverAll(s, events);
    const report = await s.report();

    expect(report.executions.filter((e) => e.status !== 'SUCCEEDED')).toEqual([]);
    expect(report.copyJobs).toHaveLength(200);
    expectExactlyOneCopyEach(
      report,
      [DR_WEST],
      events.map((e) => e.resources[0] as string),
    );
    // The copy slots keep StartCopyJob under AWS's limit, so it is (almost) never refused.
    expect(s.emulator.calls.errors.LimitExceededException ?? 0).toBeLessThanOrEqual(10);
    const transitions = report.executions.reduce((sum, e) => sum + e.transitions, 0);
    console.log(
      `200-event burst: ${s.emulator.calls.operations.StartCopyJob} StartCopyJob calls, ` +
        `${s.emulator.calls.errors.LimitExceededException ?? 0} LimitExceeded, ` +
        `${(transitions / 200).toFixed(2)} state transitions per copy`,
    );
  }, 600_000);

  it('copies once after AWS Backup is unavailable for the first 5 StartCopyJob calls', async () => {
    const s = await startStack({ policy: policyFor([{ vaultArn: DR_WEST }, { vaultArn: DR_ISOLATED }]) });
    s.emulator.injectFault({ operation: 'StartCopyJob', error: 'ServiceUnavailableException', count: 5 });
    const event = backupJobCompleted();
    await deliverAll(s, [event]);
    const report = await s.report();

    expect(report.status).toBe('SUCCEEDED');
    expect(s.emulator.calls.errors.ServiceUnavailableException).toBe(5);
    expectExactlyOneCopyEach(report, [DR_WEST, DR_ISOLATED], [event.resources[0] as string]);
  });

  it('copies once when the connection to AWS Backup drops, before and after StartCopyJob took effect', async () => {
    const s = await startStack();
    s.emulator.injectFault({ operation: 'StartCopyJob', error: 'ECONNRESET' });
    s.emulator.injectFault({ operation: 'StartCopyJob', error: 'ECONNRESET', afterApply: true });
    const event = backupJobCompleted();
    await deliverAll(s, [event]);
    const report = await s.report();

    expect(report.status).toBe('SUCCEEDED');
    expect(s.emulator.calls.errors.ECONNRESET).toBe(2);
    expect(s.emulator.calls.idempotentReplays).toBe(1);
    expectExactlyOneCopyEach(report, [DR_WEST], [event.resources[0] as string]);
  });

  it('finds the job it started when StartCopyJob succeeded but its answer was lost', async () => {
    const s = await startStack();
    s.emulator.injectFault({
      operation: 'StartCopyJob',
      error: 'ServiceUnavailableException',
      count: 1,
      afterApply: true,
    });
    const event = backupJobCompleted();
    await deliverAll(s, [event]);
    const report = await s.report();

    expect(report.status).toBe('SUCCEEDED');
    expect(s.emulator.calls.idempotentReplays).toBe(1);
    expect(report.copyJobs).toHaveLength(1);
    expectExactlyOneCopyEach(report, [DR_WEST], [event.resources[0] as string]);
  });

  it('resumes the same copy job when re-driven after a crash between StartCopyJob and the ledger write', async () => {
    const s = await startStack();
    let crashed = false;
    // The Lambda dies after AWS started the job and before the ledger says RUNNING.
    s.documents.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { ExpressionAttributeValues?: Record<string, unknown> };
        if (!crashed && input.ExpressionAttributeValues?.[':status'] === 'RUNNING') {
          crashed = true;
          throw Object.assign(new Error('RequestId: x Error: Runtime exited with error: signal: killed'), {
            name: 'Runtime.ExitError',
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'crashBeforeLedgerWrite' },
    );
    const event = backupJobCompleted();
    const [executionArn] = await deliverAll(s, [event]);

    const crashedRun = await s.report();
    expect(crashedRun.executions[0]).toMatchObject({ status: 'FAILED', error: 'Runtime.ExitError' });
    expect(crashedRun.copyJobs).toHaveLength(1);
    expect(crashedRun.ledger.find((i) => i.destinationVaultArn === DR_WEST)?.status).toBe('PENDING');

    await s.sfn.send(new RedriveExecutionCommand({ executionArn }));
    await s.settle();
    const report = await s.report();

    expect(report.executions[0]).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });
    expect(report.copyJobs).toHaveLength(1);
    expect(report.ledger.find((i) => i.destinationVaultArn === DR_WEST)?.attempt).toBe(1);
    expectExactlyOneCopyEach(report, [DR_WEST], [event.resources[0] as string]);
  });

  it('fails the execution when a copy job FAILS, and a re-drive starts exactly that copy again', async () => {
    const s = await startStack({ policy: policyFor([{ vaultArn: DR_WEST }, { vaultArn: DR_ISOLATED }]) });
    s.emulator.failCopy(
      { destinationBackupVaultArn: DR_ISOLATED },
      { state: 'FAILED', message: 'KMS key denied' },
    );
    const event = backupJobCompleted();
    const [executionArn] = await deliverAll(s, [event]);

    const failed = await s.report();
    expect(failed.executions[0]).toMatchObject({ status: 'FAILED', error: 'CopyJobFailedError' });
    expect(failed.ledger.find((i) => i.destinationVaultArn === DR_ISOLATED)).toMatchObject({
      status: 'FAILED',
      attempt: 1,
      lastError: { name: 'CopyJobFailedError', message: expect.stringContaining('KMS key denied') },
    });

    await s.sfn.send(new RedriveExecutionCommand({ executionArn }));
    await s.settle();
    const report = await s.report();

    expect(report.executions[0]).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });
    expect(
      report.copyJobs.filter((job) => job.destinationVaultArn === DR_ISOLATED).map((job) => job.state),
    ).toEqual(['FAILED', 'COMPLETED']);
    expect(report.copyJobs.filter((job) => job.destinationVaultArn === DR_WEST)).toHaveLength(1);
    expect(report.ledger.find((i) => i.destinationVaultArn === DR_ISOLATED)?.attempt).toBe(2);
    expectExactlyOneCopyEach(report, [DR_WEST, DR_ISOLATED], [event.resources[0] as string]);
  });

  it('starts nothing when a completed execution is run again with the same input', async () => {
    const s = await startStack();
    const event = backupJobCompleted();
    await deliverAll(s, [event]);
    const before = await s.report();

    await deliverAll(s, [event]);
    const report = await s.report();

    expect(report.executions.map((e) => e.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(report.copyJobs).toEqual(before.copyJobs);
    expect(report.ledger.find((i) => i.destinationVaultArn === DR_WEST)).toMatchObject({
      status: 'COMPLETED',
      attempt: 1,
      copyJobId: before.copyJobs[0]?.copyJobId,
    });
  });

  it('follows the copy to its end by asking AWS Backup when the state-change event never comes', async () => {
    // 12 hours of waiting for the event, scaled to about 4 seconds.
    const s = await startStack({ emulator: { dropCopyJobEvents: true }, timeScale: 0.0001 });
    const event = backupJobCompleted(recoveryPointArn());
    await deliverAll(s, [event]);
    const report = await s.report();

    expect(report.status).toBe('SUCCEEDED');
    expect(s.emulator.calls.operations.DescribeCopyJob).toBeGreaterThanOrEqual(1);
    expectExactlyOneCopyEach(report, [DR_WEST], [event.resources[0] as string]);
  });

  it('hands a freed copy slot to a live waiter behind any number of waiters whose tasks are gone', async () => {
    const s = await startStack({ emulator: { copyDurationMs: 50 }, copySlots: 1 });
    // Queued copies whose tasks timed out or stopped: more than one page of the queue (the slot limit).
    const gone = Array.from({ length: 5 }, () => plannedCopy());
    const slotKey = s.runtime.slots?.slotsOf(gone[0] as PlannedCopy).regional.key ?? '';
    for (const [i, copy] of gone.entries()) {
      await s.ledger.markQueued(
        copy,
        1,
        slotKey,
        'arn:aws:states:us-east-1:123456789012:execution:copy:gone',
      );
      await s.ledger.addWaitingToken(copy, `token-of-a-task-that-is-gone-${i}`);
    }
    const events = [backupJobCompleted(), backupJobCompleted()];
    await deliverAll(s, events);
    const report = await s.report();

    expect(report.status).toBe('SUCCEEDED');
    expectExactlyOneCopyEach(
      report,
      [DR_WEST],
      events.map((e) => e.resources[0] as string),
    );
    // Woken by the freed slot, not by the 12-hour timeout and its DescribeCopyJob check.
    expect(s.emulator.calls.operations.DescribeCopyJob ?? 0).toBe(0);
    expect(await s.ledger.waiting(slotKey, 10)).toEqual([]);
  });
});
