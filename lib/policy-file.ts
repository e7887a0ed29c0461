import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { type CopyPolicy, parseCopyPolicy } from './domain/policy.js';
import { InvalidPolicyError } from './errors.js';

/** Lambda limits all environment variables of a function to 4 KB together; leave room for the others. */
export const MAX_POLICY_JSON_BYTES = 3072;

/** Reads a YAML or JSON policy file and validates it; problems come back as InvalidPolicyError violations. */
export async function readPolicyFile(path: string): Promise<CopyPolicy> {
  let document: unknown;
  try {
    document = parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new InvalidPolicyError(
      [{ field: '(file)', value: path, rule: `must be readable YAML: ${(error as Error).message}` }],
      undefined,
      { cause: error },
    );
  }
  const policy = parseCopyPolicy(document);
  const size = Buffer.byteLength(JSON.stringify(policy));
  if (size > MAX_POLICY_JSON_BYTES) {
    throw new InvalidPolicyError([
      {
        field: '(file)',
        value: `${size} bytes`,
        rule: `must fit in ${MAX_POLICY_JSON_BYTES} bytes of JSON (Lambda's 4 KB environment limit)`,
      },
    ]);
  }
  return policy;
}
