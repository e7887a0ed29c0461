import type { RecoveryPointStatus } from '@aws-sdk/client-backup';
import * as z from 'zod';
import { RecoveryPointNotCopyableError, type RuleViolation } from '../errors.js';
import { DescribedLifecycleSchema } from './lifecycle.js';
import { isContinuousBackup, isMultiAzDbCluster } from './resource-types.js';

/** What the workflow needs to know about a source recovery point (from DescribeRecoveryPoint). */
export const RecoveryPointSchema = z.object({
  recoveryPointArn: z.string(),
  sourceVaultName: z.string(),
  sourceVaultArn: z.string(),
  resourceType: z.string(),
  resourceArn: z.string().optional(),
  status: z.string(),
  /** WARM, COLD or DELETED. */
  storageClass: z.string().optional(),
  /** As described, output-only members included; `inherit` passes on only the input members. */
  lifecycle: DescribedLifecycleSchema.optional(),
  isParent: z.boolean(),
  parentRecoveryPointArn: z.string().optional(),
  /** ISO-8601; when the backup finished, for the backup-to-copy latency metric. */
  completionDate: z.string().optional(),
});

export type RecoveryPoint = z.infer<typeof RecoveryPointSchema>;

/**
 * Which of the API's recovery point statuses (the SDK's RecoveryPointStatus) StartCopyJob copies. AVAILABLE:
 * "the backup was successfully created … ready for use" (DescribeRecoveryPoint, Status). PARTIAL: "a composite
 * recovery point has one or more nested recovery points that were not in the backup", and "Composite recovery
 * points (backups) can be copied" (Developer Guide, CloudFormation stack backups); it means nothing else.
 */
export const RECOVERY_POINT_COPYABILITY: Record<
  RecoveryPointStatus,
  'copyable' | 'composite only' | 'not copyable'
> = {
  COMPLETED: 'copyable',
  AVAILABLE: 'copyable',
  PARTIAL: 'composite only',
  CREATING: 'not copyable',
  DELETING: 'not copyable',
  EXPIRED: 'not copyable',
  STOPPED: 'not copyable',
};

/** Whether StartCopyJob copies a recovery point in `status` (the emulator asks the same). */
export function isCopyableStatus(status: string, isParent: boolean): boolean {
  const copyability = RECOVERY_POINT_COPYABILITY[status as RecoveryPointStatus] as string | undefined;
  return copyability === 'copyable' || (copyability === 'composite only' && isParent);
}

export const COPYABLE_STATUS_RULE =
  'must be COMPLETED or AVAILABLE (or PARTIAL, on a composite recovery point) to be copied';

/** Refuses recovery points StartCopyJob cannot copy, with the reason AWS would give. */
export function checkCopyable(recoveryPoint: RecoveryPoint): void {
  const violations: RuleViolation[] = [];
  if (!isCopyableStatus(recoveryPoint.status, recoveryPoint.isParent)) {
    violations.push({
      field: 'recoveryPoint.Status',
      value: recoveryPoint.status,
      rule: COPYABLE_STATUS_RULE,
    });
  }
  if (recoveryPoint.storageClass !== undefined && recoveryPoint.storageClass !== 'WARM') {
    violations.push({
      field: 'recoveryPoint.StorageClass',
      value: recoveryPoint.storageClass,
      rule: 'must be WARM: backups in cold storage or archive tiers cannot be copied',
    });
  }
  if (isContinuousBackup(recoveryPoint.recoveryPointArn)) {
    violations.push({
      field: 'recoveryPointArn',
      value: recoveryPoint.recoveryPointArn,
      rule: 'is a continuous backup; StartCopyJob "Does not support continuous backups"',
    });
  }
  if (isMultiAzDbCluster(recoveryPoint)) {
    violations.push({
      field: 'recoveryPoint.ResourceArn',
      value: recoveryPoint.resourceArn ?? recoveryPoint.recoveryPointArn,
      rule: 'is an RDS Multi-AZ DB cluster: "copying a Multi-AZ DB cluster snapshot is not supported" (AWS Backup, Copy a backup)',
    });
  }
  if (recoveryPoint.parentRecoveryPointArn) {
    violations.push({
      field: 'recoveryPoint.ParentRecoveryPointArn',
      value: recoveryPoint.parentRecoveryPointArn,
      rule: 'is set: a member of a composite recovery point is copied with its parent, not on its own',
    });
  }
  if (violations.length > 0)
    throw new RecoveryPointNotCopyableError(violations, 'recovery point cannot be copied');
}
