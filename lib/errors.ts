/**
 * Error classes. Each `name` is exactly what the state machine's `ErrorEquals` matches, because the Lambda
 * runtime reports `error.name` as the task's Error.
 */

export interface RuleViolation {
  /** Dotted path of the offending field, e.g. `destinations[0].lifecycle.DeleteAfterDays`. */
  field: string;
  value: unknown;
  /** The rule in words, e.g. `must be at least MoveToColdStorageAfterDays + 90`. */
  rule: string;
}

const MAX_SHOWN = 120;
const shorten = (text: string) => (text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 3)}...` : text);

function describeValue(value: unknown): string {
  return shorten(value === undefined ? 'missing' : (JSON.stringify(value) ?? String(value)));
}

/** Field paths are ours, but an unknown key is the input's own text: quote and shorten anything odd. */
function describeField(field: string): string {
  return /^[\w.[\]()-]+$/.test(field) && field.length <= MAX_SHOWN ? field : shorten(JSON.stringify(field));
}

/** Input that can never succeed: recorded as REJECTED and never retried. */
export abstract class RejectionError extends Error {
  readonly violations: RuleViolation[];

  constructor(violations: RuleViolation[], summary?: string, options?: ErrorOptions) {
    const details = violations
      .map((v) => `${describeField(v.field)} (${describeValue(v.value)}) ${v.rule}`)
      .join('; ');
    super(summary ? `${summary}: ${details}` : details, options);
    this.violations = violations;
  }
}

export class InvalidInputError extends RejectionError {
  override readonly name = 'InvalidInputError';
}

export class InvalidPolicyError extends RejectionError {
  override readonly name = 'InvalidPolicyError';
}

export class InvalidLifecycleError extends RejectionError {
  override readonly name = 'InvalidLifecycleError';
}

export class RecoveryPointNotCopyableError extends RejectionError {
  override readonly name = 'RecoveryPointNotCopyableError';
}

/** A bad environment variable found at cold start; the function cannot run until it is fixed. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/** AWS Backup answered 5xx, or not at all; the state machine retries with backoff and jitter. */
export class ServiceUnavailableException extends Error {
  override readonly name = 'ServiceUnavailableException';
}

/** AWS Backup refused because a limit (e.g. concurrent copy jobs) was reached; retried like the above. */
export class LimitExceededException extends Error {
  override readonly name = 'LimitExceededException';
}

/** Throttled by an AWS API (every SDK throttling code but AWS Backup's own LimitExceededException). */
export class ThrottlingException extends Error {
  override readonly name = 'ThrottlingException';
}

/** StartCopyJob answered ServiceUnavailable for longer than the copy waits (COPY_START_PATIENCE_HOURS). */
export class CopyStartUnavailableError extends Error {
  override readonly name = 'CopyStartUnavailableError';
}

/** The copy job ended FAILED, ABORTED or PARTIAL; a re-drive starts a new attempt. */
export class CopyJobFailedError extends Error {
  override readonly name = 'CopyJobFailedError';
}

export function errorSummary(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'UnknownError', message: String(error) };
}
