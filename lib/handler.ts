import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import type * as z from 'zod';
import { violationsFromZod } from './domain/violations.js';
import { InvalidInputError } from './errors.js';
import { logger } from './logger.js';
import { publishMetrics } from './metrics.js';

/** Validates the event against the task's contract; a mismatch is a typed InvalidInputError naming the fields. */
const parseInput = <S extends z.ZodType>(schema: S): MiddlewareObj<unknown> => ({
  before: (request) => {
    const parsed = schema.safeParse(request.event);
    if (!parsed.success) {
      throw new InvalidInputError(
        violationsFromZod(parsed.error, request.event),
        'task input does not match its contract',
      );
    }
    request.event = parsed.data;
  },
});

/** Publishes what the invocation recorded; unlike logMetrics, stays quiet when it recorded nothing. */
const flushMetrics = (): MiddlewareObj<unknown> => ({ after: publishMetrics, onError: publishMetrics });

const CORRELATION_KEYS = ['recoveryPointArn', 'destinationVaultArn', 'executionArn', 'copyJobId'] as const;

/** Adds the correlation keys found at the top of the event or in its `copy`/`request` to every log line. */
const correlate = (): MiddlewareObj<unknown> => ({
  before: (request) => {
    if (typeof request.event !== 'object' || request.event === null) return;
    const event = request.event as Record<string, unknown>;
    const sources = [event, event.copy, event.request].filter(
      (s): s is Record<string, unknown> => typeof s === 'object' && s !== null,
    );
    for (const key of CORRELATION_KEYS) {
      const value = sources.map((source) => source[key]).find((v) => typeof v === 'string');
      if (value !== undefined) logger.appendKeys({ [key]: value });
    }
  },
});

/**
 * A Lambda handler: logger context (reset per invocation), metrics flushed after it, input validated by
 * `schema` (omit it when the function validates its input itself), correlation keys, then `run`.
 */
export function lambdaHandler<S extends z.ZodType, R>(
  schema: S | undefined,
  run: (input: z.infer<S>, context: Context) => Promise<R>,
) {
  const handler = middy(async (event: unknown, context: Context) => run(event as z.infer<S>, context))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(flushMetrics());
  if (schema) handler.use(parseInput(schema));
  return handler.use(correlate());
}

/**
 * A function's dependencies, built by `build` on its first invocation (the container's cold start) and kept for
 * the container's life: configuration is validated once, and only the clients the function calls are made.
 */
export function atColdStart<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}
