import { StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { copyToDestination, freeSlots, reclaimCopySlots, SLOT_HOLD_GRACE_MS } from '../../lib/copy.js';
import { copySlotsOf } from '../../lib/domain/copy-slots.js';
import type { LedgerRecord } from '../../lib/domain/ledger-record.js';
import type { CopyPolicy } from '../../lib/domain/policy.js';
import { buildReport } from '../../lib/operations/report.js';
import type { BackupEmulatorOptions } from '../../local/backup-emulator.js';
import {
  backupJobCompleted,
  COPY_ROLE,
  DR_ACCOUNT,
  DR_ISOLATED,
  DR_WEST,
  policyFor,
  recoveryPointArn,
} from '../../local/factories.js';
import { LocalService, type LocalServiceOptions } from '../../local/local-service.js';

/*
 * Copying never stalls (issue 13): each repro of the issue, through the real state machine, the real handlers,
 * DynamoDB Local and the AWS Backup emulator with AWS's copy quotas.
 */

let stack: LocalService | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function startStack(
  options: { policy?: CopyPolicy; emulator?: BackupEmulatorOptions } & Partial<LocalServiceOptions> = {},
) {
  stack = await LocalService.start({
    dynamoDbEndpoint: inject('dynamoDbEndpoint'),
    ...options,
    policy: options.policy ?? policyFor(),
    emulator: options.emulator ?? {},
  });
  return stack;
}

const DR_WEST_2 = `arn:aws:backup:us-west-2:${DR_ACCOUNT}:backup-vault:dr-west-2`;
const TWO_DESTINATIONS = () => policyFor([{ vaultArn: DR_WEST }, { vaultArn: DR_ISOLATED }]);

async function deliverAll(s: LocalService, inputs: unknown[]) {
  for (const input of inputs) s.seedFor(input);
  await Promise.all(inputs.map((input) => s.deliver(input)));
  await s.settle();
  expect(s.deliveryErrors).toEqual([]);
}

/** Every (recovery point, destination) has exactly one COMPLETED copy job, and its ledger item says so. */
async function expectEveryCopyCompletedOnce(
  s: LocalService,
  recoveryPoints: string[],
  destinations: string[],
) {
  const report = await s.report();
  for (const rp of recoveryPoints) {
    for (const destination of destinations) {
      const jobs = report.copyJobs.filter(
        (job) =>
          job.recoveryPointArn === rp && job.destinationVaultArn === destination && job.state === 'COMPLETED',
      );
      expect(jobs, `${rp} → ${destination}`).toHaveLength(1);
      expect(
        report.ledger.find(
          (item) => item.recoveryPointArn === rp && item.destinationVaultArn === destination,
        ),
      ).toMatchObject({ status: 'COMPLETED', copyJobId: jobs[0]?.copyJobId });
    }
  }
  return report;
}

/** Polls `condition` every 50 ms until it holds; fails after `seconds`. */
async function until(condition: () => Promise<boolean>, seconds = 30) {
  for (let i = 0; i < seconds * 20; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not reached in ${seconds} s`);
}

/** No copy slot is held once nothing runs. */
async function expectNoSlotHeld(s: LocalService) {
  const slots = await s.runtime.slots?.all();
  expect(slots?.filter((slot) => Object.keys(slot.holders).length > 0)).toEqual([]);
}

const arnsOf = (events: { resources: string[] }[]) => events.map((event) => event.resources[0] as string);

/**
 * Fills DR_WEST's regional slot and its vault's 5 of overflow with copies of other recovery points, then queues the
 * events' copies behind them; the first two holds are returned, to free as a test needs.
 */
async function queueBehindFullDrWest(s: LocalService, events: ReturnType<typeof backupJobCompleted>[]) {
  const { slots, ledger } = s.runtime;
  if (!slots) throw new Error('the stack has copy slots');
  const holder = () => ({ recoveryPointArn: recoveryPointArn(), destinationVaultArn: DR_WEST });
  const [firstHeld, secondHeld] = [holder(), holder()];
  for (const held of [firstHeld, secondHeld, holder(), holder(), holder(), holder()])
    expect((await slots.acquire(held, 'other-execution')).granted).toBe(true);
  const itemOf = (event: (typeof events)[number]) =>
    ledger.get({ recoveryPointArn: event.resources[0] ?? '', destinationVaultArn: DR_WEST });
  for (const event of events) {
    s.seedFor(event);
    await s.deliver(event);
    await until(async () => ((await itemOf(event))?.waitingTokens?.size ?? 0) > 0);
  }
  return { slots, ledger, firstHeld, secondHeld, itemOf };
}

describe('copy slots released on every path, and "not now" never fails a copy', () => {
  it('drains 20 recovery points through 150 ServiceUnavailable answers to StartCopyJob, every copy once', async () => {
    const s = await startStack();
    s.emulator.injectFault({ operation: 'StartCopyJob', error: 'ServiceUnavailableException', count: 150 });
    const events = Array.from({ length: 20 }, () => backupJobCompleted());
    await deliverAll(s, events);

    const report = await expectEveryCopyCompletedOnce(s, arnsOf(events), [DR_WEST]);
    expect(report.status).toBe('SUCCEEDED');
    expect(s.emulator.calls.errors.ServiceUnavailableException).toBe(150);
    await expectNoSlotHeld(s);
  }, 300_000);

  it('copies everything when AWS runs one copy job at a time and each takes 2 seconds', async () => {
    const s = await startStack({
      policy: TWO_DESTINATIONS(),
      emulator: { concurrencyLimit: 1, copyDurationMs: 2000 },
    });
    const events = [backupJobCompleted(), backupJobCompleted()];
    await deliverAll(s, events);

    const report = await expectEveryCopyCompletedOnce(s, arnsOf(events), [DR_WEST, DR_ISOLATED]);
    expect(report.executions.map((e) => e.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    // AWS said "not now" and the copies waited for a slot instead of failing after the Retry's attempts.
    expect(s.emulator.calls.errors.LimitExceededException ?? 0).toBeGreaterThan(0);
    await expectNoSlotHeld(s);
  }, 120_000);

  it('copies one recovery point to its destinations in turn, never two jobs of one resource at once', async () => {
    const s = await startStack({
      policy: policyFor([{ vaultArn: DR_WEST }, { vaultArn: DR_ISOLATED }, { vaultArn: DR_WEST_2 }]),
      emulator: { copyDurationMs: 300 },
    });
    const event = backupJobCompleted();
    await deliverAll(s, [event]);

    await expectEveryCopyCompletedOnce(s, arnsOf([event]), [DR_WEST, DR_ISOLATED, DR_WEST_2]);
    // The emulator answers LimitExceeded to a second job of one resource: none was ever tried.
    expect(s.emulator.calls.errors.LimitExceededException ?? 0).toBe(0);
  });

  it('hands on the slots freed while StartCopyJob was unavailable as soon as AWS starts a copy again', async () => {
    const s = await startStack({ copySlots: 1, emulator: { copyDurationMs: 10_000 } });
    const [first, second] = [backupJobCompleted(), backupJobCompleted()];
    const queued = await queueBehindFullDrWest(s, [first, second]);
    const { slots, ledger, firstHeld: handedOn, secondHeld: leftFree } = queued;
    // The Retry's 11 calls all refused: the first copy waits (WaitBeforeResuming) and then resumes.
    s.emulator.injectFault({ operation: 'StartCopyJob', error: 'ServiceUnavailableException', count: 11 });
    await freeSlots({ ledger, sfn: s.sfn, slots }, handedOn);
    // Freed while AWS is out, and handed on to nobody, as a copy refused ServiceUnavailable leaves its slot.
    await slots.release(leftFree);
    await s.settle();

    await expectEveryCopyCompletedOnce(s, arnsOf([first, second]), [DR_WEST]);
    // The copy that waited started while the resumed copy's job ran, not once it had ended (which copy is granted
    // first is the granter's pick).
    const [resumed, waited] = s.emulator
      .copyJobs()
      .map((job) => job.copyJob)
      .sort((a, b) => (a.CreationDate?.getTime() ?? 0) - (b.CreationDate?.getTime() ?? 0));
    expect(waited?.CreationDate?.getTime()).toBeLessThan(resumed?.CompletionDate?.getTime() ?? 0);
  }, 120_000);

  it('leaves the slot of a copy ending while StartCopyJob is unavailable free, waking no copy only to be refused', async () => {
    const s = await startStack({ copySlots: 1, emulator: { copyDurationMs: 10_000 } });
    const events = [backupJobCompleted(), backupJobCompleted()];
    const queued = await queueBehindFullDrWest(s, events);
    const { slots, ledger, itemOf, firstHeld: handedOn, secondHeld: endsInOutage } = queued;
    s.emulator.injectFault({ operation: 'StartCopyJob', error: 'ServiceUnavailableException', count: 11 });
    await freeSlots({ ledger, sfn: s.sfn, slots }, handedOn);
    const woken = await Promise.all(
      events.map(async (event) => (await itemOf(event))?.slotQueue === undefined),
    );
    const refused = events[woken.indexOf(true)];
    const waiting = events[woken.indexOf(false)];
    if (!refused || !waiting) throw new Error('one copy is woken, the other waits');
    await until(async () => (await itemOf(refused))?.unavailableSince !== undefined);

    // A job ends while AWS is out: its slot stays free, and the copy waiting keeps its place.
    await freeSlots({ ledger, sfn: s.sfn, slots }, endsInOutage);
    expect(await itemOf(waiting)).toMatchObject({ status: 'QUEUED', slotQueue: expect.any(String) });
    await s.settle();

    await expectEveryCopyCompletedOnce(s, arnsOf(events), [DR_WEST]);
    // Only the refused copy heard ServiceUnavailable; the other was woken once AWS had started it again.
    expect(s.emulator.calls.errors.ServiceUnavailableException).toBe(11);
    expect(s.emulator.calls.operations.StartCopyJob).toBe(13);
    expect((await slots.all()).find((slot) => slot.key.startsWith('region#'))).not.toHaveProperty(
      'unavailableAt',
    );
  }, 120_000);

  it('hands on every free slot of the Region once AWS starts the next copy after the probe ran out of patience', async () => {
    const s = await startStack({
      copySlots: 1,
      copyStartPatienceMs: 0,
      emulator: { copyDurationMs: 10_000 },
    });
    const events = [backupJobCompleted(), backupJobCompleted(), backupJobCompleted()];
    const { slots, ledger, firstHeld, secondHeld } = await queueBehindFullDrWest(s, events);
    // Two slots free, one copy woken: it probes, is refused, and its patience (none) is over at once.
    s.emulator.injectFault({ operation: 'StartCopyJob', error: 'ServiceUnavailableException', count: 1 });
    await slots.release(secondHeld);
    await freeSlots({ ledger, sfn: s.sfn, slots }, firstHeld);
    await s.settle();

    const report = await s.report();
    const copies = report.ledger.filter((item) => item.destinationVaultArn === DR_WEST);
    expect(copies.map((item) => item.status).sort()).toEqual(['COMPLETED', 'COMPLETED', 'FAILED']);
    expect(copies.find((item) => item.status === 'FAILED')).toMatchObject({
      lastError: { name: 'CopyStartUnavailableError' },
    });
    // The next copy woken found the mark lapsed, was started, cleared it and woke the third at once: both jobs ran
    // together, not one after the other.
    const [first, second] = s.emulator
      .copyJobs()
      .map((job) => job.copyJob)
      .sort((a, b) => (a.CreationDate?.getTime() ?? 0) - (b.CreationDate?.getTime() ?? 0));
    expect(second?.CreationDate?.getTime()).toBeLessThan(first?.CompletionDate?.getTime() ?? 0);
    expect((await slots.all()).filter((slot) => slot.unavailableAt !== undefined)).toEqual([]);
  }, 120_000);

  it("hands a copy's resource slot to its Region's probe queued behind it when StartCopyJob refuses the copy", async () => {
    const s = await startStack({ policy: TWO_DESTINATIONS() });
    const { slots, ledger } = s.runtime;
    if (!slots) throw new Error('the stack has copy slots');
    const event = backupJobCompleted();
    const seeded = s.seedFor(event);
    const copyTo = (destinationVaultArn: string) => ({
      recoveryPointArn: arnsOf([event])[0] ?? '',
      sourceBackupVaultName: 'primary',
      destinationVaultArn,
      iamRoleArn: COPY_ROLE,
      lifecycleSource: 'none' as const,
      resourceType: 'EFS',
      resourceArn: seeded?.ResourceArn ?? '',
      isParent: false,
      rule: 'primary-to-dr',
    });
    const [probe, refused] = [copyTo(DR_WEST), copyTo(DR_ISOLATED)];
    const run = {
      executionArn: 'arn:aws:states:us-east-1:123456789012:execution:copy:by-hand',
      redriveCount: 0,
    };
    await ledger.planCopies([probe, refused], run.executionArn);
    // The probe heard ServiceUnavailable first, then queued for the resource slot, which its sibling (to the same
    // Region, having taken its slots before the mark) holds while it calls StartCopyJob.
    await ledger.claim(probe, 0, 'token', 'run', run.executionArn);
    await ledger.noteUnavailable(probe, 0, { name: 'ServiceUnavailableException', message: 'out' });
    expect(await slots.markUnavailable(probe)).toBe(true);
    const { resource, regional } = slots.slotsOf(probe);
    await ledger.markQueued(probe, 0, resource?.key ?? '', run.executionArn);
    expect(await slots.acquire(refused, run.executionArn, { probing: true })).toMatchObject({
      granted: true,
    });
    s.emulator.injectFault({ operation: 'StartCopyJob', error: 'ServiceUnavailableException', count: 1 });

    await copyToDestination(s.runtime, refused, run, 'no-such-task-token');

    // The refused copy waits for its Region; the probe holds the slots and is out of the queue, to try again.
    expect(await ledger.get(refused)).toMatchObject({ status: 'QUEUED', slotQueue: regional.key });
    expect(await ledger.get(probe)).not.toHaveProperty('slotQueue');
    for (const key of [resource?.key ?? '', regional.key])
      expect(Object.values(await slots.holders(key)).map((h) => h.destinationVaultArn)).toEqual([DR_WEST]);
  });

  it('fails a copy with a clear reason once StartCopyJob has been unavailable longer than the patience', async () => {
    const s = await startStack({ copyStartPatienceMs: 1 });
    s.emulator.injectFault({ operation: 'StartCopyJob', error: 'ServiceUnavailableException', count: 1000 });
    const event = backupJobCompleted();
    await deliverAll(s, [event]);

    const report = await s.report();
    expect(report.executions).toEqual([
      expect.objectContaining({ status: 'FAILED', error: 'CopyStartUnavailableError' }),
    ]);
    expect(report.ledger.find((item) => item.destinationVaultArn === DR_WEST)).toMatchObject({
      status: 'FAILED',
      lastError: {
        name: 'CopyStartUnavailableError',
        message: expect.stringContaining('COPY_START_PATIENCE_HOURS'),
      },
    });
    await expectNoSlotHeld(s);
  });

  it('gives back the slots of an execution whose Lambda died between taking them and starting the job', async () => {
    const s = await startStack();
    let crashed = false;
    s.documents.middlewareStack.add(
      (next) => async (args) => {
        const values = (args.input as { ExpressionAttributeValues?: Record<string, unknown> })
          .ExpressionAttributeValues;
        if (!crashed && values?.[':status'] === 'PENDING') {
          crashed = true;
          throw Object.assign(new Error('Runtime exited with error: signal: killed'), {
            name: 'Runtime.ExitError',
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'crashAfterTakingSlots' },
    );
    const event = backupJobCompleted();
    await deliverAll(s, [event]);

    const report = await s.report();
    expect(report.executions).toEqual([
      expect.objectContaining({ status: 'FAILED', error: 'Runtime.ExitError' }),
    ]);
    // The Execution Status Change rule gave the slots back; the copy stays in the ledger, PLANNED.
    await expectNoSlotHeld(s);
    expect(report.ledger.find((item) => item.destinationVaultArn === DR_WEST)?.status).toBe('PLANNED');
  });

  it('gives back the slots of an execution stopped while its copy task was starting the job', async () => {
    const s = await startStack();
    let unblock: () => void = () => {};
    const blocked = new Promise<void>((resolve) => {
      unblock = resolve;
    });
    let reachedClaim: () => void = () => {};
    const atClaim = new Promise<void>((resolve) => {
      reachedClaim = resolve;
    });
    s.documents.middlewareStack.add(
      (next) => async (args) => {
        const values = (args.input as { ExpressionAttributeValues?: Record<string, unknown> })
          .ExpressionAttributeValues;
        if (values?.[':status'] === 'PENDING') {
          reachedClaim();
          await blocked;
        }
        return next(args);
      },
      { step: 'initialize', name: 'holdAtClaim' },
    );
    const event = backupJobCompleted();
    s.seedFor(event);
    const executionArn = await s.deliver(event);
    await atClaim;
    const copy = {
      recoveryPointArn: event.resources[0] as string,
      destinationVaultArn: DR_WEST,
      resourceType: 'EFS',
    };
    const key = copySlotsOf(copy, { perRegion: 100, byRegion: {} }).regional.key;
    expect(Object.keys((await s.runtime.slots?.holders(key)) ?? {})).toHaveLength(1);

    await s.sfn.send(new StopExecutionCommand({ executionArn }));
    await new Promise((resolve) => setTimeout(resolve, 500));
    await expectNoSlotHeld(s);
    unblock();
    await s.settle();
    expect(s.stepFunctions.executions().map((e) => e.status)).toEqual(['ABORTED']);
  });
});

describe('the ledger knows every planned copy, and executions fail only for a copy really missing', () => {
  it('keeps every planned destination in the ledger when a sibling fails and the others are cancelled', async () => {
    const s = await startStack({
      policy: policyFor([{ vaultArn: DR_WEST }, { vaultArn: DR_ISOLATED }, { vaultArn: DR_WEST_2 }]),
      emulator: { copyDurationMs: 200 },
    });
    // The first StartCopyJob is refused for good; the other two copies (of the same resource) are waiting.
    s.emulator.injectFault({ operation: 'StartCopyJob', error: 'InvalidParameterValueException', count: 1 });
    const event = backupJobCompleted();
    await deliverAll(s, [event]);

    await s.untilQuiet();
    const report = await s.report();
    expect(report.executions).toEqual([expect.objectContaining({ status: 'FAILED' })]);
    const copies = report.ledger.filter((item) => item.destinationVaultArn !== '*');
    expect(copies.map((item) => item.destinationVaultArn).sort()).toEqual(
      [DR_ISOLATED, DR_WEST, DR_WEST_2].sort(),
    );
    expect(copies.filter((item) => item.status === 'FAILED')).toHaveLength(1);
    const summary = buildReport(report.ledger as LedgerRecord[], {
      since: new Date(Date.now() - 3_600_000),
      until: new Date(),
      now: new Date(),
    });
    expect(summary.copies.total).toBe(3);
    // A sibling's Lambda may still finish its copy after the execution failed (as on AWS): waiting or done.
    expect(summary.oldestInProgress.length + summary.copies.byStatus.COMPLETED).toBe(2);
    // Such a Lambda may also take a slot after the rule gave the execution's back: the reconciler's backstop gives
    // it back. A copy it then grants, whose task never joined, holds its slots for the re-drive the reconciler
    // starts (reconcile tests): out of the queue, still QUEUED. No other copy holds one.
    await reclaimCopySlots(s.runtime, new Date(Date.now() + SLOT_HOLD_GRACE_MS));
    const holders = (await s.runtime.slots?.all())?.flatMap((slot) => Object.values(slot.holders)) ?? [];
    for (const holder of holders) {
      const item = await s.ledger.get(holder);
      expect(item).toMatchObject({ status: 'QUEUED' });
      expect(item).not.toHaveProperty('slotQueue');
    }
  });

  it('ends 50 duplicate executions SUCCEEDED when one copy job fails and the next attempt completes', async () => {
    // Long enough a job that all 50 executions are waiting on it when it fails.
    const s = await startStack({ emulator: { copyDurationMs: 3000 } });
    s.emulator.failCopy({ destinationBackupVaultArn: DR_WEST }, { state: 'FAILED', message: 'injected' });
    const event = backupJobCompleted(recoveryPointArn());
    await deliverAll(
      s,
      Array.from({ length: 50 }, () => event),
    );

    const report = await s.report();
    expect(report.executions.filter((e) => e.status !== 'SUCCEEDED')).toEqual([]);
    expect(report.copyJobs.map((job) => job.state).sort()).toEqual(['COMPLETED', 'FAILED']);
    await expectEveryCopyCompletedOnce(s, arnsOf([event]), [DR_WEST]);
  }, 300_000);

  it('fails duplicate executions once each has started one attempt of a copy that keeps failing', async () => {
    const s = await startStack({ emulator: { copyDurationMs: 1000 } });
    for (let i = 0; i < 2; i++) {
      s.emulator.failCopy(
        { destinationBackupVaultArn: DR_WEST },
        { state: 'FAILED', message: 'KMS key denied' },
      );
    }
    const event = backupJobCompleted();
    await deliverAll(s, [event, event]);

    // The second execution started the second attempt; then neither had another execution left to try.
    const report = await s.report();
    expect(report.copyJobs.map((job) => job.state)).toEqual(['FAILED', 'FAILED']);
    expect(report.executions.map((e) => e.error)).toEqual(['CopyJobFailedError', 'CopyJobFailedError']);
  });
});
