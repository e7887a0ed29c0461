import type { z } from 'zod';
import type { RuleViolation } from '../errors.js';

/** `rules[0].destinations[1].vaultArn` from a zod issue path. */
export function fieldPath(prefix: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => {
    if (typeof key === 'number') return `${acc}[${key}]`;
    return acc === '' ? String(key) : `${acc}.${String(key)}`;
  }, prefix);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** Turns a schema failure into violations that name the field, the value and the rule. */
export function violationsFromZod(error: z.ZodError, input: unknown, prefix = ''): RuleViolation[] {
  return error.issues.map((issue) => ({
    field: fieldPath(prefix, issue.path) || '(root)',
    value: valueAt(input, issue.path),
    rule: issue.message,
  }));
}
