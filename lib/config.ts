import * as z from 'zod';
import { DEFAULT_REGIONAL_COPY_SLOTS } from './domain/copy-slots.js';
import { type CopyPolicy, parseCopyPolicy } from './domain/policy.js';
import { ConfigurationError, InvalidPolicyError } from './errors.js';

const EnvironmentSchema = z.object({
  LEDGER_TABLE: z.string().min(3, 'must name the ledger DynamoDB table'),
  COPY_POLICY: z.string().min(2, 'must hold the copy policy as JSON'),
  COPY_SLOTS: z.coerce
    .number()
    .int('must be a whole number')
    .min(0, 'must be 0 (no limit) or more')
    .default(DEFAULT_REGIONAL_COPY_SLOTS),
  COPY_SLOTS_BY_REGION: z
    .string()
    .default('{}')
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON, e.g. {"eu-west-1": 50}' });
        return z.NEVER;
      }
    })
    .pipe(
      z.record(
        z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'keys must be Region names'),
        z.number().int('must be whole numbers').min(1, 'must be at least 1'),
      ),
    ),
  COPY_START_PATIENCE_HOURS: z.coerce.number().positive('must be a positive number of hours').default(8),
});

export interface Config {
  ledgerTable: string;
  policy: CopyPolicy;
  /**
   * Copy jobs in flight at once per (source account, destination Region), AWS Backup's quota (100); 0 turns
   * copy slots off and leaves throttling to the state machine's Retry alone.
   */
  copySlots: number;
  /** Overrides of copySlots by destination Region. */
  copySlotsByRegion: Record<string, number>;
  /** How long a copy keeps waiting and resuming while StartCopyJob answers ServiceUnavailable, then fails. */
  copyStartPatienceMs: number;
}

/** Environment variables read through `schema`; a bad value throws ConfigurationError naming the variable. */
export function parseEnvironment<T>(schema: z.ZodType<T>, env: NodeJS.ProcessEnv): T {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new ConfigurationError(`invalid environment: ${problems.join('; ')}`);
}

/** Reads and validates the environment once, at cold start; a bad value fails loudly with the variable's name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const environment = parseEnvironment(EnvironmentSchema, env);
  let document: unknown;
  try {
    document = JSON.parse(environment.COPY_POLICY);
  } catch (error) {
    throw new ConfigurationError(`COPY_POLICY: not JSON (${(error as Error).message})`, { cause: error });
  }
  try {
    return {
      ledgerTable: environment.LEDGER_TABLE,
      policy: parseCopyPolicy(document),
      copySlots: environment.COPY_SLOTS,
      copySlotsByRegion: environment.COPY_SLOTS_BY_REGION,
      copyStartPatienceMs: environment.COPY_START_PATIENCE_HOURS * 3_600_000,
    };
  } catch (error) {
    if (error instanceof InvalidPolicyError) {
      throw new ConfigurationError(`COPY_POLICY: ${error.message}`, { cause: error });
    }
    throw error;
  }
}
