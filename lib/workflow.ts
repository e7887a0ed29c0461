import * as z from 'zod';
import { CopyRequestSchema } from './domain/event.js';
import { PlannedCopySchema } from './domain/policy.js';

/*
 * The contracts between the state machine (statemachines/copy-recovery-point.asl.yml) and its tasks:
 * what each task's Parameters deliver.
 */

export const PlanCopiesInput = z.object({ request: CopyRequestSchema, executionArn: z.string() });

export const CopyToDestinationInput = z.object({
  copy: PlannedCopySchema,
  taskToken: z.string().min(1),
  executionArn: z.string(),
  redriveCount: z.number().int().min(0),
  /** Set by WaitForCopySlot: queue for a copy slot rather than copy. */
  waitForSlot: z.literal(true).optional(),
});

export const CheckCopyProgressInput = z.object({ copy: PlannedCopySchema });

/** A Catch's error object: `Cause` is the Lambda's JSON `{errorType, errorMessage, trace}` or plain text. */
export const StepError = z.object({ Error: z.string(), Cause: z.string().optional() });

export const RecordRejectionInput = z.object({
  input: z.unknown(),
  error: StepError,
  executionArn: z.string(),
});

export function describeStepError(error: z.infer<typeof StepError>): { name: string; message: string } {
  try {
    const cause = JSON.parse(error.Cause ?? '') as { errorMessage?: unknown };
    if (typeof cause.errorMessage === 'string') return { name: error.Error, message: cause.errorMessage };
  } catch {
    // Not JSON: a States.* error's Cause is plain text.
  }
  return { name: error.Error, message: error.Cause ?? error.Error };
}
