import * as z from 'zod';
import { RecoveryPointNotCopyableError, type RuleViolation } from '../errors.js';
import { LifecycleSchema } from './lifecycle.js';
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
  lifecycle: LifecycleSchema.optional(),
  isParent: z.boolean(),
  parentRecoveryPointArn: z.string().optional(),
  /** ISO-8601; when the backup finished, for the backup-to-copy latency metric. */
  completionDate: z.string().optional(),
});

export type RecoveryPoint = z.infer<typeof RecoveryPointSchema>;

/** AVAILABLE is the finished state newer resource types report; both mean the backup is usable. */
const COPYABLE_STATUSES = ['COMPLETED', 'AVAILABLE'];

/** Refuses recovery points StartCopyJob cannot copy, with the reason AWS would give. */
export function checkCopyable(recoveryPoint: RecoveryPoint): void {
  const violations: RuleViolation[] = [];
  if (!COPYABLE_STATUSES.includes(recoveryPoint.status)) {
    violations.push({
      field: 'recoveryPoint.Status',
      value: recoveryPoint.status,
      rule: 'must be COMPLETED (or AVAILABLE) to be copied',
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
