import * as z from 'zod';
import { type CopyPolicy, parseCopyPolicy } from './domain/policy.js';
import { ConfigurationError, InvalidPolicyError } from './errors.js';

const EnvironmentSchema = z.object({
  LEDGER_TABLE: z.string().min(3, 'must name the ledger DynamoDB table'),
  COPY_POLICY: z.string().min(2, 'must hold the copy policy as JSON'),
  COPY_SLOTS: z.coerce
    .number()
    .int('must be a whole number')
    .min(0, 'must be 0 (no limit) or more')
    .default(10),
  COPY_SLOT_LEASE_HOURS: z.coerce.number().positive('must be a positive number of hours').default(13),
});

export interface Config {
  ledgerTable: string;
  policy: CopyPolicy;
  /** Copy jobs in flight at once across all executions; 0 leaves throttling to the state machine's Retry. */
  copySlots: number;
  /** How long a copy slot stays held without renewal, so an execution that died frees its slot. */
  copySlotLeaseMs: number;
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
      copySlotLeaseMs: environment.COPY_SLOT_LEASE_HOURS * 3_600_000,
    };
  } catch (error) {
    if (error instanceof InvalidPolicyError) {
      throw new ConfigurationError(`COPY_POLICY: ${error.message}`, { cause: error });
    }
    throw error;
  }
}
