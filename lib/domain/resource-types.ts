/**
 * Every ResourceType value the AWS Backup API uses, as listed by GetSupportedResourceTypes in the AWS Backup
 * API reference (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_GetSupportedResourceTypes.html).
 * Case matters: `FSx`, not `FSX`.
 */
export const RESOURCE_TYPES: ReadonlySet<string> = new Set([
  'Aurora',
  'CloudFormation',
  'DocumentDB',
  'DynamoDB',
  'EBS',
  'EC2',
  'EFS',
  'EKS',
  'FSx',
  'Neptune',
  'RDS',
  'Redshift',
  'S3',
  'SAP HANA on Amazon EC2',
  'Storage Gateway',
  'Timestream',
  'VirtualMachine',
]);

export function isResourceType(name: string): boolean {
  return RESOURCE_TYPES.has(name);
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

/*
 * What AWS Backup supports per resource type, from the "Feature availability by resource" table of the
 * AWS Backup Developer Guide.
 */
const COLD_STORAGE = new Set(['EFS', 'DynamoDB', 'Timestream', 'SAP HANA on Amazon EC2', 'VirtualMachine']);
/** Cold storage here is the resource's own archive tier, used only with OptInToArchiveForSupportedResources. */
const ARCHIVE_TIER = new Set(['EBS']);

export function supportsColdStorage(resourceType: string): boolean {
  return COLD_STORAGE.has(resourceType);
}

export function supportsArchiveTier(resourceType: string): boolean {
  return ARCHIVE_TIER.has(resourceType);
}

/** The resource types whose cold storage settings AWS Backup honours, for messages. */
export const COLD_STORAGE_TYPES: readonly string[] = [...COLD_STORAGE];

/*
 * Resource types with "Full AWS Backup management" (AWS Backup Developer Guide, "Feature availability by
 * resource"): AWS Backup itself copies their backups, so its own copy-job quotas apply to them. The others'
 * copies are made by the owning service (EBS, RDS, ...) under that service's quotas.
 */
const FULLY_MANAGED = new Set([
  'CloudFormation',
  'DynamoDB',
  'EFS',
  'S3',
  'SAP HANA on Amazon EC2',
  'Timestream',
  'VirtualMachine',
]);

export function isFullyManaged(resourceType: string): boolean {
  return FULLY_MANAGED.has(resourceType);
}
