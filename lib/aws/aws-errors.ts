import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { MetadataBearer, MiddlewareStack, Pluggable, SdkError } from '@smithy/types';
import { LimitExceededException, ServiceUnavailableException, ThrottlingException } from '../errors.js';

/*
 * AWS's "not now" answers, told apart by the SDK's own classifiers (@smithy/core/retry: the functions the SDK's
 * retry strategy calls to choose THROTTLING, TRANSIENT or SERVER_ERROR), not by lists of our own. Every other
 * error (ConditionalCheckFailed, TransactionCanceled, ResourceNotFound, ExecutionAlreadyExists, TaskTimedOut...)
 * passes through unchanged: the code tells those apart with instanceof.
 */

export interface ClassifyOptions {
  /** Error names that mean a quota of this service is reached (AWS Backup's modelled LimitExceededException):
   *  raised as LimitExceededException, where every other throttling code is a ThrottlingException. */
  quotaErrorNames?: readonly string[];
}

/** The retryable class for an AWS answer the SDK's retry strategy would retry, or undefined for any other. */
export function retryableClassOf(
  error: unknown,
  options: ClassifyOptions = {},
):
  | typeof LimitExceededException
  | typeof ThrottlingException
  | typeof ServiceUnavailableException
  | undefined {
  if (!(error instanceof Error)) return undefined;
  const sdkError = error as SdkError;
  if (options.quotaErrorNames?.includes(error.name)) return LimitExceededException;
  if (isThrottlingError(sdkError)) return ThrottlingException;
  // Transient: RequestTimeout, TimeoutError, HTTP 500/502/503/504, ECONNRESET and the other Node network codes;
  // server: any other 5xx.
  if (isTransientError(sdkError) || isServerError(sdkError)) return ServiceUnavailableException;
  return undefined;
}

/** `error` as the class the state machine retries, with the AWS answer as its cause; otherwise `error` itself. */
export function classifyAwsError(error: unknown, operation: string, options: ClassifyOptions = {}): unknown {
  const RetryableClass = retryableClassOf(error, options);
  if (!RetryableClass) return error;
  const { name, message, code } = error as Error & { code?: string };
  const status = (error as SdkError).$metadata?.httpStatusCode;
  const answer = [code ?? name, status && `HTTP ${status}`].filter(Boolean).join(', ');
  return new RetryableClass(`${operation} answered ${answer}: ${message}`, { cause: error });
}

/**
 * Installs the classification on a client, outside the SDK's own retries (the initialize step runs before
 * finalizeRequest's retry middleware): an error that outlasts them is classified once, whatever call made it.
 * A DynamoDBDocumentClient shares its DynamoDBClient's stack, so installing on the raw client covers both.
 */
export function classifyErrorsOf<C extends { middlewareStack: MiddlewareStack<object, MetadataBearer> }>(
  client: C,
  options: ClassifyOptions = {},
): C {
  client.middlewareStack.use(awsErrorClassification(options));
  return client;
}

export const awsErrorClassification = (options: ClassifyOptions = {}): Pluggable<object, MetadataBearer> => ({
  applyToStack: (stack) => {
    stack.add(
      (next, context) => async (args) => {
        try {
          return await next(args);
        } catch (error) {
          const service = String(context.clientName ?? 'AWS').replace(/Client$/, '');
          const operation = String(context.commandName ?? 'call').replace(/Command$/, '');
          throw classifyAwsError(error, `${service} ${operation}`, options);
        }
      },
      { step: 'initialize', priority: 'high', name: 'awsErrorClassification', override: true },
    );
  },
});
