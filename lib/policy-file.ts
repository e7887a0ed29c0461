import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { type CopyPolicy, type PolicyDeployment, parseCopyPolicy } from './domain/policy.js';
import { InvalidPolicyError } from './errors.js';

/** Lambda limits all environment variables of a function to 4 KB together; leave room for the others. */
export const MAX_POLICY_JSON_BYTES = 3072;

/** The YAML (or JSON) document in `text`, read from `path`; a syntax error is an InvalidPolicyError. */
export function parsePolicyText(text: string, path: string): unknown {
  try {
    return parse(text);
  } catch (error) {
    throw new InvalidPolicyError(
      [
        {
          field: '(file)',
          value: path,
          rule: `must be readable YAML: ${(error as Error).message.split('\n')[0]}`,
        },
      ],
      undefined,
      { cause: error },
    );
  }
}

/**
 * Validates a parsed policy document (for `deployment`'s Region and account, when given), and that it fits in
 * COPY_POLICY; problems are InvalidPolicyError violations.
 */
export function validatePolicyDocument(document: unknown, deployment?: PolicyDeployment): CopyPolicy {
  const policy = parseCopyPolicy(document, deployment);
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

/** Reads a YAML or JSON policy file and validates it; problems come back as InvalidPolicyError violations. */
export async function readPolicyFile(path: string): Promise<CopyPolicy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidPolicyError(
      [{ field: '(file)', value: path, rule: `must be readable: ${(error as NodeJS.ErrnoException).code}` }],
      undefined,
      { cause: error },
    );
  }
  return validatePolicyDocument(parsePolicyText(text, path));
}
