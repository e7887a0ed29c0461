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

/**
 * AWS said "not now": the call may succeed if made again. lib/aws/aws-errors.ts raises these from the SDK's own
 * classification of every client's errors; the state machine retries their names on every task that calls AWS.
 */
export abstract class RetryableAwsError extends Error {}

/** AWS answered 5xx, or a transient error (timeout, connection reset, no answer at all). */
export class ServiceUnavailableException extends RetryableAwsError {
  override readonly name = 'ServiceUnavailableException';
}

/** AWS Backup refused because a quota (e.g. concurrent copy jobs) was reached: its modelled LimitExceeded. */
export class LimitExceededException extends RetryableAwsError {
  override readonly name = 'LimitExceededException';
}

/** AWS throttled the request rate: any of the SDK's throttling codes (HTTP 429 included) other than the above. */
export class ThrottlingException extends RetryableAwsError {
  override readonly name = 'ThrottlingException';
}

/** StartCopyJob answered ServiceUnavailable for longer than the copy waits (COPY_START_PATIENCE_HOURS). */
export class CopyStartUnavailableError extends Error {
  override readonly name = 'CopyStartUnavailableError';
}

/** The copy job ended FAILED or PARTIAL; a re-drive starts a new attempt. */
export class CopyJobFailedError extends Error {
  override readonly name = 'CopyJobFailedError';
}

export function errorSummary(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'UnknownError', message: String(error) };
}
