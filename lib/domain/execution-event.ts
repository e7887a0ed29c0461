import * as z from 'zod';

/**
 * Step Functions' "Execution Status Change" event (Step Functions Developer Guide, "Automating Step Functions
 * event delivery with EventBridge"), reduced to what releases copy slots: the execution and its input, a JSON
 * string (AWS leaves it out above 248 KiB; this service's inputs are far smaller).
 */
export const ExecutionStatusChangeSchema = z.object({
  'detail-type': z.literal('Step Functions Execution Status Change'),
  source: z.literal('aws.states'),
  detail: z.object({
    executionArn: z.string(),
    status: z.string(),
    input: z.string().nullish(),
  }),
});
