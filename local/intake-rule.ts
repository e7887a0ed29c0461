import { matchesPattern } from './event-pattern.js';
import { intakePattern } from './serverless-functions.js';

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const describe = (value: unknown) => (value === undefined ? 'missing' : JSON.stringify(value));

interface Mismatch {
  field: string;
  actual: unknown;
  wanted: string;
}

/** Each field of `pattern` that `node` fails; for `$or`, every alternative's fields when none matches. */
function mismatches(pattern: Record<string, unknown>, node: unknown, path: string): (Mismatch | string)[] {
  const event = isObject(node) ? node : {};
  return Object.entries(pattern).flatMap((entry): (Mismatch | string)[] => {
    const [key, sub] = entry;
    if (key === '$or' && Array.isArray(sub)) {
      if (sub.some((alternative) => matchesPattern(alternative, event))) return [];
      const alternatives = sub.map((alternative) =>
        mismatches(alternative, event, path)
          .map((m) => (typeof m === 'string' ? m : `${m.field} ${m.wanted} (it is ${describe(m.actual)})`))
          .join(' and '),
      );
      return [`neither ${alternatives.join(' nor ')}`];
    }
    if (matchesPattern({ [key]: sub }, event)) return [];
    const field = path ? `${path}.${key}` : key;
    if (Array.isArray(sub)) return [{ field, actual: event[key], wanted: sub.map(describe).join(' or ') }];
    return isObject(sub) ? mismatches(sub, event[key], field) : [];
  });
}

/**
 * Why EventBridge's intake rule (its pattern in serverless.yml) would not start an execution for `input`, or
 * undefined when it would. Only events (objects with a `detail-type`) go through the rule; anything else is
 * an operator's StartExecution input, which always starts one, as LocalService.deliver does.
 */
export function whyIntakeIgnores(input: unknown): string | undefined {
  if (!isObject(input) || !('detail-type' in input) || matchesPattern(intakePattern, input)) return undefined;
  return mismatches(intakePattern as Record<string, unknown>, input, '')
    .map((m) =>
      typeof m === 'string' ? m : `${m.field} is ${describe(m.actual)}, the rule wants ${m.wanted}`,
    )
    .join('; ');
}
