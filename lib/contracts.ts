import * as z from 'zod';
import { CopyRequestSchema } from './domain/event.js';
import { CopyPlanSchema, PlannedCopySchema } from './domain/policy.js';
import { RecoveryPointSchema } from './domain/recovery-point.js';

/*
 * The contracts between the state machine (statemachines/copy-recovery-point.asl.yml) and its tasks: what each
 * task's Parameters deliver, what each task gives back, and the error names its Retry and Catch match.
 * test/unit/contracts.test.ts ties the error names to the ASL and to lib/errors.ts.
 */

// NormalizeInput: any event or manual input in, the request PlanCopies plans out.
export const NormalizeInputOutput = CopyRequestSchema;

// PlanCopies: the copies become the CopyToDestinations Map's items ($.copies).
export const PlanCopiesInput = z.object({ request: CopyRequestSchema, executionArn: z.string() });

export const PlanCopiesOutput = CopyPlanSchema.extend({ recoveryPoint: RecoveryPointSchema });
export type PlanCopiesOutput = z.infer<typeof PlanCopiesOutput>;

// CopyToDestination and WaitForCopySlot (one function, `.waitForTaskToken`): their outputs are what completes
// the task token, from this or another invocation.
export const CopyToDestinationInput = z.object({
  copy: PlannedCopySchema,
  taskToken: z.string().min(1),
  executionArn: z.string(),
  redriveCount: z.number().int().min(0),
  /** Set by WaitForCopySlot: queue for a copy slot rather than copy. */
  waitForSlot: z.literal(true).optional(),
});

/** The copy exists and ended COMPLETED: the Map iteration's result. */
export const CopyResult = z.object({
  recoveryPointArn: z.string(),
  destinationVaultArn: z.string(),
  status: z.literal('COMPLETED'),
  attempt: z.number().int(),
  copyJobId: z.string(),
  idempotencyToken: z.string(),
});
export type CopyResult = z.infer<typeof CopyResult>;

/** Every copy slot is held: the copy has not started, and the CopyEnded Choice sends it to WaitForCopySlot. */
export const QUEUED = { status: 'QUEUED' } as const;

/**
 * The attempt the task waited on FAILED (or the execution it followed ended): the CopyEnded Choice sends it back
 * to the copy task to decide again, so that duplicate executions follow the attempt one of them starts next.
 */
export const ATTEMPT_FAILED = { status: 'ATTEMPT_FAILED' } as const;

export const CopyToDestinationOutput = z.discriminatedUnion('status', [
  CopyResult,
  z.object({ status: z.literal(QUEUED.status) }),
  z.object({ status: z.literal(ATTEMPT_FAILED.status) }),
]);

/** What completes WaitForCopySlot: a slot is held for the copy, go and start it. */
export const SLOT_GRANTED = { status: 'SLOT_GRANTED' } as const;

export const WaitForCopySlotOutput = z.object({ status: z.literal(SLOT_GRANTED.status) });

// CheckCopyProgress: asked after the copy task timed out; its answer is only logged in the history.
export const CheckCopyProgressInput = z.object({ copy: PlannedCopySchema });

export const CheckCopyProgressOutput = z.object({
  /** The ledger's status after settling what DescribeCopyJob said, or MISSING. */
  status: z.string(),
  copyJobId: z.string().optional(),
});
export type CheckCopyProgressOutput = z.infer<typeof CheckCopyProgressOutput>;

// RecordRejection: reached from a Catch with the error object, and the execution's own input.

/** A Catch's error object: `Cause` is the Lambda's JSON `{errorType, errorMessage, trace}` or plain text. */
export const StepError = z.object({ Error: z.string(), Cause: z.string().optional() });

export const RecordRejectionInput = z.object({
  input: z.unknown(),
  error: StepError,
  executionArn: z.string(),
});

/** The ledger key the rejection was recorded under: the recovery point's ARN or a digest of the input. */
export const RecordRejectionOutput = z.object({ recoveryPointArn: z.string() });

export function describeStepError(error: z.infer<typeof StepError>): { name: string; message: string } {
  try {
    const cause = JSON.parse(error.Cause ?? '') as { errorMessage?: unknown };
    if (typeof cause.errorMessage === 'string') return { name: error.Error, message: cause.errorMessage };
  } catch {
    // Not JSON: a States.* error's Cause is plain text.
  }
  return { name: error.Error, message: error.Cause ?? error.Error };
}

// Error names the ASL matches. A task reports the thrown error's `name` as its Error, so each is the `name`
// of a class in lib/errors.ts.

/** Input that can never succeed: PlanCopies' Catch sends these to RecordRejection, never retried. */
export const REJECTION_ERROR_NAMES = [
  'InvalidInputError',
  'InvalidPolicyError',
  'InvalidLifecycleError',
  'RecoveryPointNotCopyableError',
] as const;

/** AWS unavailable, at a quota or throttling: every task that calls AWS retries these with backoff and jitter. */
export const RETRYABLE_ERROR_NAMES = [
  'ServiceUnavailableException',
  'LimitExceededException',
  'ThrottlingException',
] as const;

/**
 * AWS Backup unavailable for longer than the Retry's budget: CopyToDestination's Catch waits (WaitBeforeResuming)
 * and resumes the copy, which itself gives up after COPY_START_PATIENCE_HOURS (CopyStartUnavailableError).
 */
export const RESUMABLE_ERROR_NAMES = ['ServiceUnavailableException'] as const;

/** The Rejected Fail state's Error: how an execution whose input was refused ends. */
export const INPUT_REJECTED = 'InputRejected';
