import { afterEach, describe, expect, inject, it } from 'vitest';
import type { CopyPolicy } from '../../lib/domain/policy.js';
import { DR_WEST, manualInput, policyFor, recoveryPointArn } from '../../local/factories.js';
import { LocalService } from '../../local/local-service.js';

let stack: LocalService | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** Seeds one recovery point with `fields`, starts a manual execution for it and reports. */
async function copyRecoveryPoint(policy: CopyPolicy, arn: string, fields: Record<string, unknown>) {
  stack = await LocalService.start({ policy, dynamoDbEndpoint: inject('dynamoDbEndpoint') });
  stack.emulator.seedRecoveryPoint({ RecoveryPointArn: arn, BackupVaultName: 'primary', ...fields });
  await stack.deliver(manualInput(arn));
  await stack.settle();
  return stack.report();
}

const planItem = (report: Awaited<ReturnType<typeof copyRecoveryPoint>>) =>
  report.ledger.find((item) => item.destinationVaultArn === '*');

describe('copy policy and recovery point rules, through the workflow', () => {
  it('refuses a continuous-backup recovery point before AWS sees it', async () => {
    const arn = 'arn:aws:backup:us-east-1:111111111111:recovery-point:continuous:db-orders-0f51c39b';
    const report = await copyRecoveryPoint(policyFor(), arn, { ResourceType: 'RDS' });

    expect(report.executions[0]).toMatchObject({ status: 'FAILED', error: 'InputRejected' });
    expect(planItem(report)).toMatchObject({
      status: 'REJECTED',
      lastError: {
        name: 'RecoveryPointNotCopyableError',
        message: expect.stringContaining('Does not support continuous backups'),
      },
    });
    expect(stackCalls('StartCopyJob')).toBe(0);
  });

  it('refuses an inherited lifecycle that breaks the 90-day cold storage rule', async () => {
    const policy = policyFor([{ vaultArn: DR_WEST, lifecycle: 'inherit' }]);
    const report = await copyRecoveryPoint(policy, recoveryPointArn(), {
      ResourceType: 'EFS',
      Lifecycle: { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 100 },
    });

    expect(report.executions[0]).toMatchObject({ status: 'FAILED', error: 'InputRejected' });
    expect(planItem(report)).toMatchObject({
      status: 'REJECTED',
      lastError: {
        name: 'InvalidLifecycleError',
        message: expect.stringContaining('DeleteAfterDays'),
      },
    });
    expect(stackCalls('StartCopyJob')).toBe(0);
  });

  it("copies with the source recovery point's lifecycle when the policy says inherit", async () => {
    const policy = policyFor([{ vaultArn: DR_WEST, lifecycle: 'inherit' }]);
    const lifecycle = { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 365 };
    const report = await copyRecoveryPoint(policy, recoveryPointArn(), {
      ResourceType: 'EFS',
      Lifecycle: lifecycle,
    });

    expect(report.status).toBe('SUCCEEDED');
    expect(report.copyJobs.map((job) => job.lifecycle)).toEqual([lifecycle]);
    expect(report.ledger.find((item) => item.destinationVaultArn === DR_WEST)).toMatchObject({
      lifecycle,
      lifecycleSource: 'inherit',
    });
  });

  it('inherits only the input members of a lifecycle with DeleteAfterEvent, and copies', async () => {
    const policy = policyFor([{ vaultArn: DR_WEST, lifecycle: 'inherit' }]);
    const report = await copyRecoveryPoint(policy, recoveryPointArn(), {
      ResourceType: 'EBS',
      Lifecycle: { DeleteAfterDays: 35, DeleteAfterEvent: 'DELETE_AFTER_COPY' },
    });

    expect(report.status).toBe('SUCCEEDED');
    expect(report.copyJobs.map((job) => job.lifecycle)).toEqual([{ DeleteAfterDays: 35 }]);
    expect(planItem(report)?.warnings).toEqual([
      expect.stringContaining('Lifecycle.DeleteAfterEvent is not inherited'),
    ]);
  });

  it('drops a cold storage setting for a resource type without cold storage, and copies', async () => {
    // Valid for RDS (no cold storage), though it would break the 90-day rule on a type with cold storage.
    const lifecycle = { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 60 };
    const policy = policyFor([{ vaultArn: DR_WEST, lifecycle }], { resourceTypes: ['RDS'] });
    const report = await copyRecoveryPoint(policy, recoveryPointArn(), { ResourceType: 'RDS' });

    expect(report.status).toBe('SUCCEEDED');
    expect(report.copyJobs.map((job) => job.lifecycle)).toEqual([{ DeleteAfterDays: 60 }]);
    expect(planItem(report)?.warnings).toEqual([
      expect.stringContaining('RDS does not support cold storage'),
    ]);
  });

  it('refuses a member of a composite recovery point, which is copied with its parent', async () => {
    const report = await copyRecoveryPoint(policyFor(), recoveryPointArn(), {
      ParentRecoveryPointArn: recoveryPointArn(),
    });

    expect(planItem(report)).toMatchObject({
      status: 'REJECTED',
      lastError: { name: 'RecoveryPointNotCopyableError' },
    });
    expect(stackCalls('StartCopyJob')).toBe(0);
  });

  it('copies a composite parent as one parent copy job and records IsParent', async () => {
    const report = await copyRecoveryPoint(policyFor(), recoveryPointArn(), {
      ResourceType: 'CloudFormation',
      IsParent: true,
    });

    expect(report.status).toBe('SUCCEEDED');
    expect(report.copyJobs).toHaveLength(1);
    expect(report.ledger.find((item) => item.destinationVaultArn === DR_WEST)).toMatchObject({
      status: 'COMPLETED',
      isParent: true,
    });
  });
});

function stackCalls(operation: 'StartCopyJob'): number {
  return stack?.emulator.calls.operations[operation] ?? 0;
}
