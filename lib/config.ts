import * as z from 'zod';
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
    .default(10),
  COPY_SLOT_LEASE_HOURS: z.coerce.number().positive('must be a positive number of hours').default(13),
});

/** What every function reads from its environment. */
export interface Settings {
  ledgerTable: string;
  /** Copy jobs in flight at once across all executions; 0 leaves throttling to the state machine's Retry. */
  copySlots: number;
  /** How long a copy slot stays held without renewal, so an execution that died frees its slot. */
  copySlotLeaseMs: number;
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
    copySlotLeaseMs: environment.COPY_SLOT_LEASE_HOURS * 3_600_000,
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
