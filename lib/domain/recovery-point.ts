import { RecoveryPointNotCopyableError, type RuleViolation } from '../errors.js';
import type { Lifecycle } from './lifecycle.js';

/** What the workflow needs to know about a source recovery point (from DescribeRecoveryPoint). */
export interface RecoveryPoint {
  recoveryPointArn: string;
  sourceVaultName: string;
  sourceVaultArn: string;
  resourceType: string;
  resourceArn?: string;
  status: string;
  /** WARM, COLD or DELETED. */
  storageClass?: string;
  lifecycle?: Lifecycle;
  isParent: boolean;
  parentRecoveryPointArn?: string;
  /** ISO-8601; when the backup finished, for the backup-to-copy latency metric. */
  completionDate?: string;
}

/** AVAILABLE is the finished state newer resource types report; both mean the backup is usable. */
const COPYABLE_STATUSES = ['COMPLETED', 'AVAILABLE'];

/** Continuous backups (point-in-time restore) have recovery point ARNs with this segment. */
const CONTINUOUS_MARKER = ':recovery-point:continuous:';

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
  if (recoveryPoint.recoveryPointArn.includes(CONTINUOUS_MARKER)) {
    violations.push({
      field: 'recoveryPointArn',
      value: recoveryPoint.recoveryPointArn,
      rule: 'is a continuous backup; StartCopyJob "Does not support continuous backups"',
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
