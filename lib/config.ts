import * as z from 'zod';
import { DEFAULT_REGIONAL_COPY_SLOTS } from './domain/copy-slots.js';
import { type CopyPolicy, parseCopyPolicy } from './domain/policy.js';
import { ConfigurationError, InvalidPolicyError } from './errors.js';

/**
 * The validated copy policy as JSON text, written into each bundle that reads it at package time: esbuild's
 * `define` (serverless.yml custom.esbuild.define, filled by scripts/copy-policy-variable.cjs) replaces this name
 * with a string literal. Lambda caps environment variables at 4 KB in all; a bundle has no such ceiling.
 */
declare const __BUNDLED_COPY_POLICY__: string;

/** The policy packaging bundled into this function; undefined unbundled (tsx, vitest), where nothing defines it. */
function bundledPolicyJson(): string | undefined {
  try {
    return __BUNDLED_COPY_POLICY__;
  } catch {
    return undefined; // ReferenceError: not bundled. One mention only, so the bundle holds the policy once.
  }
}

const EnvironmentSchema = z.object({
  LEDGER_TABLE: z.string().min(3, 'must name the ledger DynamoDB table'),
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

/** What every function reads from its environment. */
export interface Settings {
  ledgerTable: string;
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

/** The settings and the copy policy: what the functions that read the policy work from. */
export interface Config extends Settings {
  policy: CopyPolicy;
}

/** Environment variables read through `schema`; a bad value throws ConfigurationError naming the variable. */
export function parseEnvironment<T>(schema: z.ZodType<T>, env: NodeJS.ProcessEnv): T {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new ConfigurationError(`invalid environment: ${problems.join('; ')}`);
}

/** Reads and validates the environment once, at cold start; a bad value fails loudly with the variable's name. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const environment = parseEnvironment(EnvironmentSchema, env);
  return {
    ledgerTable: environment.LEDGER_TABLE,
    copySlots: environment.COPY_SLOTS,
    copySlotsByRegion: environment.COPY_SLOTS_BY_REGION,
    copyStartPatienceMs: environment.COPY_START_PATIENCE_HOURS * 3_600_000,
  };
}

/**
 * The settings plus the copy policy bundled at package time (or `policyJson`), validated again at cold start;
 * a missing or bad policy fails loudly, naming the rule it breaks.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  policyJson: string | undefined = bundledPolicyJson(),
): Config {
  const settings = loadSettings(env);
  if (policyJson === undefined) {
    throw new ConfigurationError(
      'bundled copy policy: none in this function (`serverless package` and `serverless invoke local` bundle it)',
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(policyJson);
  } catch (error) {
    throw new ConfigurationError(`bundled copy policy: not JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
  try {
    return { ...settings, policy: parseCopyPolicy(document) };
  } catch (error) {
    if (error instanceof InvalidPolicyError) {
      throw new ConfigurationError(`bundled copy policy: ${error.message}`, { cause: error });
    }
    throw error;
  }
}
