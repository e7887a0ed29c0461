/**
 * What AWS Backup supports per resource type, from the "Feature availability by resource" table of the
 * AWS Backup Developer Guide. Names are the API's ResourceType values.
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
