/**
 * Faults the local stand-ins can answer with, on any AWS call the service makes: an AWS error code in the
 * service's own wire format (with the status AWS gives it), a bare HTTP status (what a load balancer in front of
 * AWS answers, with no AWS error in it), or a Node network error. simulate's `--faults` and the tests build
 * them; LocalService hands each to the stand-in that serves the call.
 */

export type AwsService = 'Backup' | 'DynamoDB' | 'SFN';

export interface AwsFault {
  service: AwsService;
  /** The API operation, as in the SDK's `<Operation>Command`: StartCopyJob, UpdateItem, SendTaskSuccess... */
  operation: string;
  /** An error code (ThrottlingException), an HTTP status ('503'), or a Node network code ('ECONNRESET'). */
  error: string;
  /** How many upcoming calls of the operation fail. Default 1. */
  count?: number;
  /** HTTP status; default {@link faultStatus}. */
  status?: number;
  message?: string;
  /** Only calls whose request (URL-decoded path and body) contains one of these, e.g. a recovery point ARN:
   *  lets concurrent tests each fault their own calls. Default every call of the operation. */
  match?: readonly string[];
}

/** The connection is dropped without an answer: the SDK sees the socket's ECONNRESET. */
export const CONNECTION_RESET = 'ECONNRESET';

/** Node's error codes (ECONNRESET, ETIMEDOUT, EAI_AGAIN...): raised by the socket, not answered by AWS. */
export const isNetworkErrorCode = (error: string) => /^E[A-Z0-9_]+$/.test(error);

/** A bare HTTP status: answered with no AWS error type, as a proxy or load balancer would. */
export const isHttpStatus = (error: string) => /^[1-5]\d\d$/.test(error);

/** Server-side AWS codes; AWS answers them with a 5xx (the Backup and DynamoDB models mark them `server`). */
const SERVER_CODES: Record<string, number> = {
  ServiceUnavailableException: 500,
  DependencyFailureException: 500,
  InternalFailure: 500,
  InternalServerError: 500,
  ServiceUnavailable: 503,
};

/** The status AWS answers `error` with: throttling codes are 400 except TooManyRequests (429). */
export function faultStatus(fault: Pick<AwsFault, 'error' | 'status'>): number {
  if (fault.status !== undefined) return fault.status;
  if (isHttpStatus(fault.error)) return Number(fault.error);
  if (fault.error === 'TooManyRequestsException') return 429;
  if (fault.error === 'RequestTimeoutException') return 408;
  return SERVER_CODES[fault.error] ?? 400;
}

/** Faults still to be given, taken one call at a time. */
export class FaultQueue<F extends Pick<AwsFault, 'operation' | 'count' | 'match'>> {
  private faults: (F & { remaining: number })[] = [];

  add(fault: F): void {
    this.faults.push({ ...fault, remaining: fault.count ?? 1 });
  }

  /** The fault the call of `operation` whose request reads `request` gets, if any. */
  take(operation: string, request: string): F | undefined {
    const fault = this.faults.find(
      (f) =>
        f.operation === operation &&
        f.remaining > 0 &&
        (!f.match || f.match.some((m) => request.includes(m))),
    );
    if (fault) fault.remaining--;
    return fault;
  }

  /** How many answers are still to be given. */
  pending(): number {
    return this.faults.reduce((sum, fault) => sum + fault.remaining, 0);
  }

  clear(): void {
    this.faults = [];
  }
}

/** What a fault's `match` is looked for in: the request's path, URL-decoded where it can be, and its body. */
export function requestText(path: string, body: string): string {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // A malformed escape: look in the path as sent.
  }
  return `${decoded}\n${body}`;
}

/**
 * A Node network error as the SDK's HTTP handler rejects with it (only ECONNRESET can be caused over a local
 * socket; the others come from DNS, routing or the kernel).
 */
export function networkError(code: string, operation: string): Error {
  return Object.assign(new Error(`${code}: injected on ${operation}`), { code });
}
