import * as z from 'zod';

/**
 * AWS Backup's "Copy Job State Change" event, reduced to what settles a copy. resources[0] is the source
 * recovery point; the CREATED event carries no copyJobId, and only terminal states matter here.
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
