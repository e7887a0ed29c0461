import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { type CopyPolicy, parseCopyPolicy } from './domain/policy.js';
import { InvalidPolicyError } from './errors.js';

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
  return parseCopyPolicy(parsePolicyText(text, path));
}
