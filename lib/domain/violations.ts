import type * as z from 'zod';
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

type Issue = z.core.$ZodIssue;

/**
 * A failed union (e.g. `'inherit' | {lifecycle}`) reports only "Invalid input" at its own path: use the
 * issues of the branch that got furthest, so the message names the real field.
 */
function leafIssues(issue: Issue): Issue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
  const depth = (branch: Issue[]) => Math.max(...branch.map((i) => i.path.length));
  const best = issue.errors.reduce((a, b) => (depth(b) > depth(a) ? b : a));
  if (depth(best) === 0) return [issue];
  return best.flatMap((inner) => leafIssues({ ...inner, path: [...issue.path, ...inner.path] } as Issue));
}

/** Turns a schema failure into violations that name the field, the value and the rule. */
export function violationsFromZod(error: z.ZodError, input: unknown, prefix = ''): RuleViolation[] {
  return error.issues.flatMap(leafIssues).flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const path = [...issue.path, key];
        return { field: fieldPath(prefix, path), value: valueAt(input, path), rule: 'is not a known field' };
      });
    }
    return [
      {
        field: fieldPath(prefix, issue.path) || '(root)',
        value: valueAt(input, issue.path),
        rule: issue.message,
      },
    ];
  });
}
