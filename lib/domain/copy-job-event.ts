import * as z from 'zod';

/**
 * AWS Backup's "Copy Job State Change" event, reduced to what settles a copy. resources[0] is the source
 * recovery point; the CREATED event carries no copyJobId, and only terminal states matter here. Nothing else is
 * read: AWS's examples send `destinationRecoveryPointArn: {}` until the copy exists and `backupSizeInBytes` as a
 * number where backup jobs send a string (test/fixtures/aws-events/, from the AWS Backup Developer Guide).
 */
export const CopyJobEventSchema = z.object({
  'detail-type': z.literal('Copy Job State Change'),
  source: z.literal('aws.backup'),
  resources: z.array(z.string()).min(1),
  detail: z.object({
    copyJobId: z.string().optional(),
    state: z.string(),
    destinationBackupVaultArn: z.string(),
    statusMessage: z.string().optional(),
  }),
});

export type CopyJobEvent = z.infer<typeof CopyJobEventSchema>;
