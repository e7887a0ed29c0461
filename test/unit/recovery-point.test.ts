import { RecoveryPointStatus } from '@aws-sdk/client-backup';
import { describe, expect, it } from 'vitest';
import {
  checkCopyable,
  isCopyableStatus,
  RECOVERY_POINT_COPYABILITY,
} from '../../lib/domain/recovery-point.js';
import { RecoveryPointNotCopyableError, RejectionError } from '../../lib/errors.js';
import {
  CONTINUOUS_ARN,
  EBS_SNAPSHOT_ARN,
  fieldsOf,
  RDS_SNAPSHOT_ARN,
  recoveryPoint,
  thrown,
} from './factories.js';

const refusal = (overrides: Parameters<typeof recoveryPoint>[0]) => {
  const error = thrown(() => checkCopyable(recoveryPoint(overrides)));
  expect(error).toBeInstanceOf(RecoveryPointNotCopyableError);
  expect(error).toBeInstanceOf(RejectionError);
  expect(error.name).toBe('RecoveryPointNotCopyableError');
  return error as RecoveryPointNotCopyableError;
};

describe('checkCopyable', () => {
  it.each([
    ['a COMPLETED recovery point', {}],
    ['an AVAILABLE recovery point', { status: 'AVAILABLE' }],
    ['a recovery point without a storage class', { storageClass: undefined }],
    ['a composite parent', { isParent: true }],
    ['a PARTIAL composite parent', { status: 'PARTIAL', isParent: true }],
    ['an EBS snapshot', { recoveryPointArn: EBS_SNAPSHOT_ARN, resourceType: 'EBS' }],
    ['an RDS snapshot', { recoveryPointArn: RDS_SNAPSHOT_ARN, resourceType: 'RDS' }],
  ])('accepts %s', (_case, overrides) => {
    expect(() => checkCopyable(recoveryPoint(overrides))).not.toThrow();
  });

  it.each(['CREATING', 'PARTIAL', 'EXPIRED', 'DELETING', 'STOPPED', 'completed', ''])(
    'refuses status %j',
    (status) => {
      const error = refusal({ status });
      expect(error.violations).toEqual([
        {
          field: 'recoveryPoint.Status',
          value: status,
          rule: 'must be COMPLETED or AVAILABLE (or PARTIAL, on a composite recovery point) to be copied',
        },
      ]);
    },
  );

  it.each(['COLD', 'DELETED'])('refuses storage class %s', (storageClass) => {
    const error = refusal({ storageClass });
    expect(fieldsOf(error)).toEqual(['recoveryPoint.StorageClass']);
    expect(error.violations[0]?.rule).toContain('must be WARM');
  });

  it('refuses a continuous backup with the words of the StartCopyJob reference', () => {
    const error = refusal({ recoveryPointArn: CONTINUOUS_ARN, resourceType: 'RDS' });
    expect(fieldsOf(error)).toEqual(['recoveryPointArn']);
    expect(error.violations[0]?.rule).toContain('Does not support continuous backups');
  });

  it.each([
    ['its DB cluster resource ARN', { resourceArn: 'arn:aws:rds:us-east-1:111111111111:cluster:orders-maz' }],
    [
      'its DB cluster snapshot',
      {
        resourceArn: undefined,
        recoveryPointArn: 'arn:aws:rds:us-east-1:111111111111:cluster-snapshot:awsbackup:job-0f1e2d3c',
      },
    ],
  ])('refuses an RDS Multi-AZ DB cluster, told by %s', (_case, overrides) => {
    const error = refusal({ resourceType: 'RDS', ...overrides });
    expect(fieldsOf(error)).toEqual(['recoveryPoint.ResourceArn']);
    expect(error.violations[0]?.rule).toContain('copying a Multi-AZ DB cluster snapshot is not supported');
  });

  it.each([
    ['an RDS DB instance', 'RDS', 'arn:aws:rds:us-east-1:111111111111:db:orders'],
    [
      'an Aurora cluster (ResourceType Aurora)',
      'Aurora',
      'arn:aws:rds:us-east-1:111111111111:cluster:orders',
    ],
  ])('accepts %s', (_case, resourceType, resourceArn) => {
    expect(() => checkCopyable(recoveryPoint({ resourceType, resourceArn }))).not.toThrow();
  });

  it('refuses a member of a composite recovery point', () => {
    const parent = 'arn:aws:backup:us-east-1:111111111111:recovery-point:composite-parent';
    const error = refusal({ parentRecoveryPointArn: parent });
    expect(error.violations).toHaveLength(1);
    expect(error.violations[0]?.field).toBe('recoveryPoint.ParentRecoveryPointArn');
    expect(error.violations[0]?.value).toBe(parent);
    expect(error.violations[0]?.rule).toContain('copied with its parent');
  });

  it('reports every reason at once', () => {
    const error = refusal({
      status: 'EXPIRED',
      storageClass: 'COLD',
      recoveryPointArn: CONTINUOUS_ARN,
      parentRecoveryPointArn: 'arn:aws:backup:us-east-1:111111111111:recovery-point:p',
    });
    expect(fieldsOf(error)).toEqual([
      'recoveryPoint.Status',
      'recoveryPoint.StorageClass',
      'recoveryPointArn',
      'recoveryPoint.ParentRecoveryPointArn',
    ]);
    expect(error.message).toMatch(/^recovery point cannot be copied: /);
  });
});

describe('recovery point statuses', () => {
  // A status an SDK update adds must be classified before it is copied or refused.
  it.each(Object.values(RecoveryPointStatus))('classifies the API status %s', (status) => {
    const copyable = [isCopyableStatus(status, false), isCopyableStatus(status, true)];
    const expected: Record<string, boolean[]> = {
      COMPLETED: [true, true],
      AVAILABLE: [true, true],
      PARTIAL: [false, true],
    };
    expect(copyable).toEqual(expected[status] ?? [false, false]);
  });

  it('classifies exactly the statuses of the SDK enum', () => {
    expect(Object.keys(RECOVERY_POINT_COPYABILITY).sort()).toEqual(Object.values(RecoveryPointStatus).sort());
  });

  it('copies no status the API does not have', () => {
    expect(isCopyableStatus('ABORTED', true)).toBe(false);
    expect(isCopyableStatus('completed', false)).toBe(false);
  });
});
