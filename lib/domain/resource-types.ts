/**
 * What AWS Backup supports per resource type, one row per ResourceType value of GetSupportedResourceTypes
 * (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_GetSupportedResourceTypes.html; case matters:
 * `FSx`, not `FSX`), from the "Feature availability by resource" table of the AWS Backup Developer Guide:
 * https://docs.aws.amazon.com/aws-backup/latest/devguide/backup-feature-availability.html#features-by-resource
 * The policy rules (policy.ts, lifecycle.ts, recovery-point.ts) and the Backup emulator read this one table.
 */

/** `when-fully-managed`: only for recovery points under full AWS Backup management (DynamoDB's advanced features). */
export type Support = boolean | 'when-fully-managed';

export interface ResourceCapabilities {
  /**
   * Full AWS Backup management: vault-key encryption and `arn:<partition>:backup:` recovery point ARNs. AWS
   * Backup's copy-job quotas count only these types. `opt-in`: DynamoDB, with its advanced features turned on.
   */
  fullManagement: 'always' | 'never' | 'opt-in';
  /** MoveToColdStorageAfterDays applies (AWS Backup ignores it for other types). */
  coldStorage: boolean;
  /** Cold storage is the resource's own archive tier, used only with OptInToArchiveForSupportedResources. */
  archiveTier: boolean;
  crossRegionCopy: Support;
  crossAccountCopy: Support;
  /** One copy job to another Region of another account. */
  crossRegionAndAccountInOneJob: boolean;
  /** Continuous backups (point-in-time restore) exist for the type; StartCopyJob copies none of them. */
  continuousBackup: boolean;
}

const periodic = { coldStorage: false, archiveTier: false, continuousBackup: false };
const copiesAnywhere = { crossRegionCopy: true, crossAccountCopy: true, crossRegionAndAccountInOneJob: true };

/*
 * crossRegionAndAccountInOneJob: the table's footnote said RDS, Aurora, DocumentDB and Neptune "do not support a
 * single copy action that performs both cross-Region AND cross-account backup"; AWS lifted that in October 2025
 * ("AWS Backup now supports cross-region, cross-account copies in a single action for Amazon RDS, Amazon Aurora,
 * Amazon Neptune, and Amazon DocumentDB snapshots", quoted in
 * https://github.com/nationalarchives/terraform-aws-immutable-aws-backup/issues/59). Multi-AZ DB clusters (RDS)
 * cannot be copied at all: see multiAzDbClusterRule.
 */
export const RESOURCE_CAPABILITIES = {
  Aurora: { fullManagement: 'never', ...periodic, continuousBackup: true, ...copiesAnywhere },
  CloudFormation: { fullManagement: 'always', ...periodic, ...copiesAnywhere },
  DocumentDB: { fullManagement: 'never', ...periodic, ...copiesAnywhere },
  // Without advanced features a DynamoDB backup is DynamoDB's own (arn:aws:dynamodb:...): no copy leaves its
  // Region or account (https://docs.aws.amazon.com/aws-backup/latest/devguide/advanced-ddb-backup.html).
  DynamoDB: {
    fullManagement: 'opt-in',
    ...periodic,
    coldStorage: true,
    crossRegionCopy: 'when-fully-managed',
    crossAccountCopy: 'when-fully-managed',
    crossRegionAndAccountInOneJob: true,
  },
  EBS: { fullManagement: 'never', ...periodic, archiveTier: true, ...copiesAnywhere },
  EC2: { fullManagement: 'never', ...periodic, ...copiesAnywhere },
  EFS: { fullManagement: 'always', ...periodic, coldStorage: true, ...copiesAnywhere },
  EKS: { fullManagement: 'always', ...periodic, ...copiesAnywhere },
  FSx: { fullManagement: 'never', ...periodic, ...copiesAnywhere },
  Neptune: { fullManagement: 'never', ...periodic, ...copiesAnywhere },
  RDS: { fullManagement: 'never', ...periodic, continuousBackup: true, ...copiesAnywhere },
  Redshift: { fullManagement: 'never', ...periodic, ...copiesAnywhere },
  S3: { fullManagement: 'always', ...periodic, continuousBackup: true, ...copiesAnywhere },
  'SAP HANA on Amazon EC2': {
    fullManagement: 'always',
    ...periodic,
    coldStorage: true,
    continuousBackup: true,
    ...copiesAnywhere,
  },
  'Storage Gateway': { fullManagement: 'never', ...periodic, ...copiesAnywhere },
  Timestream: { fullManagement: 'always', ...periodic, coldStorage: true, ...copiesAnywhere },
  VirtualMachine: { fullManagement: 'always', ...periodic, coldStorage: true, ...copiesAnywhere },
} as const satisfies Record<string, ResourceCapabilities>;

export type ResourceType = keyof typeof RESOURCE_CAPABILITIES;

export const RESOURCE_TYPES: ReadonlySet<string> = new Set(Object.keys(RESOURCE_CAPABILITIES));

export function isResourceType(name: string): name is ResourceType {
  return RESOURCE_TYPES.has(name);
}

/** The type's row; undefined for a type AWS added after this table (AWS then is the only referee). */
export function capabilitiesOf(resourceType: string): ResourceCapabilities | undefined {
  return isResourceType(resourceType) ? RESOURCE_CAPABILITIES[resourceType] : undefined;
}

/** The ResourceType value `name` was probably meant to be (`efs` → `EFS`, `EFSX` → `EFS`), if any. */
export function closestResourceType(name: string): string | undefined {
  const lower = name.toLowerCase();
  const types = [...RESOURCE_TYPES];
  return (
    types.find((type) => type.toLowerCase() === lower) ??
    types.find((type) => lower.startsWith(type.toLowerCase()) || type.toLowerCase().startsWith(lower))
  );
}

export function supportsColdStorage(resourceType: string): boolean {
  return capabilitiesOf(resourceType)?.coldStorage === true;
}

export function supportsArchiveTier(resourceType: string): boolean {
  return capabilitiesOf(resourceType)?.archiveTier === true;
}

/** The resource types whose cold storage settings AWS Backup honours, for messages. */
export const COLD_STORAGE_TYPES: readonly string[] = [...RESOURCE_TYPES].filter(supportsColdStorage);

/**
 * Whether this recovery point is under full AWS Backup management: by type, or for DynamoDB by its ARN, since
 * "Resources that support full AWS Backup management all have recovery points in the format
 * arn:aws:backup:region:account-id:recovery-point:*" (https://docs.aws.amazon.com/aws-backup/latest/devguide/access-control.html).
 */
export function isFullyManaged(resourceType: string, recoveryPointArn: string): boolean {
  const capabilities = capabilitiesOf(resourceType);
  return capabilities !== undefined && managedBy(capabilities, recoveryPointArn);
}

function managedBy(capabilities: ResourceCapabilities, recoveryPointArn: string): boolean {
  if (capabilities.fullManagement === 'opt-in') return /^arn:[a-z-]+:backup:/.test(recoveryPointArn);
  return capabilities.fullManagement === 'always';
}

/** Continuous backups (point-in-time restore) have recovery point ARNs with this segment. */
const CONTINUOUS_MARKER = ':recovery-point:continuous:';

export function isContinuousBackup(recoveryPointArn: string): boolean {
  return recoveryPointArn.includes(CONTINUOUS_MARKER);
}

/**
 * An RDS Multi-AZ DB cluster: ResourceType RDS with a DB cluster resource ARN (`arn:<partition>:rds:<region>:
 * <account>:cluster:<name>`; a DB instance is `:db:`), or a DB cluster snapshot as the recovery point.
 * "copying a Multi-AZ DB cluster snapshot is not supported"
 * (https://docs.aws.amazon.com/aws-backup/latest/devguide/recov-point-create-a-copy.html).
 */
export function isMultiAzDbCluster(point: {
  resourceType: string;
  resourceArn?: string | undefined;
  recoveryPointArn: string;
}): boolean {
  if (point.resourceType !== 'RDS') return false;
  return (
    /^arn:[a-z-]+:rds:[^:]*:\d*:cluster:/.test(point.resourceArn ?? '') ||
    /^arn:[a-z-]+:rds:[^:]*:\d*:cluster-snapshot:/.test(point.recoveryPointArn)
  );
}

/** A copy seen from where it goes: whether it leaves the source's Region and account. */
export interface CopyDirection {
  resourceType: string;
  recoveryPointArn: string;
  crossRegion: boolean;
  crossAccount: boolean;
}

function allows(support: Support, fullyManaged: boolean): boolean {
  return support === 'when-fully-managed' ? fullyManaged : support;
}

/**
 * The rule (in words) by which AWS Backup refuses this copy for the recovery point's type, or undefined.
 * `capabilities` defaults to the type's row; the table test passes rows of its own.
 */
export function copyDirectionRefusal(
  copy: CopyDirection,
  capabilities: ResourceCapabilities | undefined = capabilitiesOf(copy.resourceType),
): string | undefined {
  if (!capabilities) return undefined;
  const fullyManaged = managedBy(capabilities, copy.recoveryPointArn);
  const unless = (support: Support) =>
    support === 'when-fully-managed' ? ' unless it is under full AWS Backup management' : '';
  const type = copy.resourceType;
  if (copy.crossRegion && !allows(capabilities.crossRegionCopy, fullyManaged)) {
    return `must be in the source's Region: AWS Backup cannot copy a ${type} backup to another Region${unless(capabilities.crossRegionCopy)}`;
  }
  if (copy.crossAccount && !allows(capabilities.crossAccountCopy, fullyManaged)) {
    return `must be in the source's account: AWS Backup cannot copy a ${type} backup to another account${unless(capabilities.crossAccountCopy)}`;
  }
  if (copy.crossRegion && copy.crossAccount && !capabilities.crossRegionAndAccountInOneJob) {
    return `must not be in both another Region and another account: AWS Backup copies a ${type} backup across one of them per job`;
  }
  return undefined;
}
