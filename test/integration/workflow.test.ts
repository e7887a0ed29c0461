import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import type { CopyPolicy } from '../../lib/domain/policy.js';
import { Metric, metrics } from '../../lib/metrics.js';
import type { BackupEmulatorOptions } from '../../local/backup-emulator.js';
import {
  backupJobCompleted,
  DR_ISOLATED,
  DR_WEST,
  manualInput,
  policyFor,
  recoveryPointArn,
  recoveryPointCompleted,
} from '../../local/factories.js';
import { LocalService } from '../../local/local-service.js';

let stack: LocalService | undefined;

async function startStack(policy: CopyPolicy = policyFor(), emulator: BackupEmulatorOptions = {}) {
  stack = await LocalService.start({ policy, dynamoDbEndpoint: inject('dynamoDbEndpoint'), emulator });
  return stack;
}

/** Delivers each input (seeding its recovery point first), waits for everything to end, and reports. */
async function run(s: LocalService, ...inputs: unknown[]) {
  for (const input of inputs) s.seedFor(input);
  await Promise.all(inputs.map((input) => s.deliver(input)));
  await s.settle();
  expect(s.deliveryErrors).toEqual([]);
  return s.report();
}

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('the copy workflow, end to end', () => {
  it('copies a recovery point to its destination when a backup job completes, and records it', async () => {
    const s = await startStack();
    const arn = recoveryPointArn();
    const report = await run(s, backupJobCompleted(arn));

    expect(report.status).toBe('SUCCEEDED');
    expect(report.copyJobs).toHaveLength(1);
    const [job] = report.copyJobs;
    expect(job).toMatchObject({ recoveryPointArn: arn, destinationVaultArn: DR_WEST, state: 'COMPLETED' });
    expect(job?.lifecycle).toEqual({ DeleteAfterDays: 35 });
    const copy = report.ledger.find((item) => item.destinationVaultArn === DR_WEST);
    expect(copy).toMatchObject({
      status: 'COMPLETED',
      attempt: 1,
      copyJobId: job?.copyJobId,
      idempotencyToken: job?.idempotencyToken,
      lifecycle: { DeleteAfterDays: 35 },
      executionArn: report.executions[0]?.arn,
    });
    expect(report.ledger.find((item) => item.destinationVaultArn === '*')).toMatchObject({
      status: 'PLANNED',
      destinations: [DR_WEST],
    });
  });

  it('copies to every destination of the policy, each once', async () => {
    const s = await startStack(policyFor([{ vaultArn: DR_WEST }, { vaultArn: DR_ISOLATED }]));
    const report = await run(s, recoveryPointCompleted());

    expect(report.status).toBe('SUCCEEDED');
    expect(report.copyJobs.map((job) => job.destinationVaultArn).sort()).toEqual(
      [DR_WEST, DR_ISOLATED].sort(),
    );
    const copies = report.ledger.filter((item) => item.destinationVaultArn !== '*');
    expect(copies.map((item) => item.status)).toEqual(['COMPLETED', 'COMPLETED']);
  });

  it.each(['ServiceUnavailableException', 'LimitExceededException'])(
    'retries StartCopyJob after %s and then copies once',
    async (error) => {
      const s = await startStack();
      s.emulator.injectFault({ operation: 'StartCopyJob', error, count: 2 });
      const report = await run(s, backupJobCompleted());

      expect(report.status).toBe('SUCCEEDED');
      expect(s.emulator.calls.errors[error]).toBe(2);
      expect(report.copyJobs).toHaveLength(1);
      expect(report.ledger.find((item) => item.destinationVaultArn === DR_WEST)).toMatchObject({
        status: 'COMPLETED',
        attempt: 1,
        lastError: { name: error },
      });
    },
  );

  it('starts one copy job when the same event arrives twice', async () => {
    const s = await startStack();
    const event = backupJobCompleted();
    const report = await run(s, event, event);

    expect(report.executions).toHaveLength(2);
    expect(report.executions.every((execution) => execution.status === 'SUCCEEDED')).toBe(true);
    expect(report.copyJobs).toHaveLength(1);
  });

  it("copies from an operator's manual input, narrowed to the destinations it names", async () => {
    const s = await startStack(policyFor([{ vaultArn: DR_WEST }, { vaultArn: DR_ISOLATED }]));
    const arn = recoveryPointArn();
    const report = await run(s, manualInput(arn, { destinations: [DR_ISOLATED] }));

    expect(report.status).toBe('SUCCEEDED');
    expect(report.copyJobs.map((job) => [job.recoveryPointArn, job.destinationVaultArn])).toEqual([
      [arn, DR_ISOLATED],
    ]);
  });

  it('ignores events the intake rule does not match', async () => {
    const s = await startStack();
    const executionArn = await s.deliver(backupJobCompleted(recoveryPointArn(), { state: 'RUNNING' }));
    expect(executionArn).toBeUndefined();
  });

  it('ends in the Rejected state with a REJECTED ledger record for input that can never be copied', async () => {
    const s = await startStack();
    const input = manualInput('arn:aws:backup:eu-west-1:999999999999:recovery-point:x');
    const report = await run(s, input);

    expect(report.status).toBe('FAILED');
    expect(report.executions[0]).toMatchObject({ status: 'FAILED', error: 'InputRejected' });
    expect(report.copyJobs).toEqual([]);
    expect(report.ledger).toEqual([
      expect.objectContaining({
        recoveryPointArn: input.recoveryPointArn,
        destinationVaultArn: '*',
        status: 'REJECTED',
        lastError: expect.objectContaining({
          name: 'InvalidInputError',
          message: expect.stringContaining('allowed account'),
        }),
      }),
    ]);
  });

  it('fails the execution and records FAILED when AWS Backup refuses the copy outright', async () => {
    const s = await startStack();
    s.emulator.injectFault({ operation: 'StartCopyJob', error: 'InvalidRequestException', count: 1 });
    const report = await run(s, backupJobCompleted());

    expect(report.executions[0]).toMatchObject({ status: 'FAILED', error: 'InvalidRequestException' });
    expect(report.copyJobs).toEqual([]);
    expect(report.ledger.find((item) => item.destinationVaultArn === DR_WEST)).toMatchObject({
      status: 'FAILED',
      lastError: { name: 'InvalidRequestException' },
    });
  });

  it('records copies started and completed, and how long the copy took, as metrics', async () => {
    const s = await startStack(policyFor([{ vaultArn: DR_WEST }, { vaultArn: DR_ISOLATED }]));
    const recorded = vi.spyOn(metrics, 'addMetric');
    await run(s, backupJobCompleted());
    const names = recorded.mock.calls.map(([name]) => name);
    recorded.mockRestore();

    expect(names.filter((name) => name === Metric.CopiesStarted)).toHaveLength(2);
    expect(names.filter((name) => name === Metric.CopiesCompleted)).toHaveLength(2);
    expect(names).toContain(Metric.CopyDuration);
    expect(names).toContain(Metric.BackupToCopyStart);
    expect(names).not.toContain(Metric.CopiesFailed);
  });

  it('rejects a recovery point that is not in its vault (deleted, or a typo in manual input)', async () => {
    const s = await startStack();
    const input = manualInput(recoveryPointArn());
    await s.deliver(input);
    await s.settle();
    const report = await s.report();

    expect(report.executions[0]).toMatchObject({ status: 'FAILED', error: 'InputRejected' });
    expect(report.ledger).toEqual([
      expect.objectContaining({
        destinationVaultArn: '*',
        status: 'REJECTED',
        lastError: expect.objectContaining({ name: 'RecoveryPointNotCopyableError' }),
      }),
    ]);
  });

  it('records why planning failed when AWS Backup denies the lookup, and leaves it to a re-drive', async () => {
    const s = await startStack();
    s.emulator.injectFault({
      operation: 'DescribeRecoveryPoint',
      error: 'AccessDeniedException',
      status: 403,
      count: 1,
    });
    const report = await run(s, backupJobCompleted());

    expect(report.executions[0]).toMatchObject({ status: 'FAILED', error: 'AccessDeniedException' });
    expect(report.ledger).toEqual([
      expect.objectContaining({
        destinationVaultArn: '*',
        status: 'FAILED',
        lastError: expect.objectContaining({ name: 'AccessDeniedException' }),
      }),
    ]);
  });
});
