/**
 * An offline evaluator of Amazon EventBridge event patterns, so tests can check a rule's pattern against sample
 * events. Written from the EventBridge user guide ("Event patterns", "Content filtering", "Arrays in event
 * patterns", "Matching null values and empty strings") and the README of aws/event-ruler, the engine behind it:
 *
 * - fields of a pattern object are ANDed; a field's array of values is ORed; `$or` (an array of at least two
 *   sub-patterns, at any level) ORs whole sub-patterns;
 * - a leaf matches exact strings, numbers, booleans and `null` (`""` and `null` are different values);
 * - operators: `prefix`, `suffix` (both also as `{ "equals-ignore-case": "..." }`), `equals-ignore-case`,
 *   `wildcard`, `anything-but` (a string or number, a list of only strings or only numbers, or an object with
 *   `prefix`, `suffix`, `equals-ignore-case` or `wildcard`), `numeric` (`["=", n]`, one comparison, or a range
 *   `[">"|">=", low, "<"|"<=", high]`), `exists`;
 * - a field absent from the event matches nothing but `{ "exists": false }`; an object is not a leaf, so it does
 *   not "exist" for a leaf matcher; an array in the event matches if any of its elements matches, and a nested
 *   pattern under an array of objects must match within one element (event-ruler's array consistency).
 *
 * The whole pattern is compiled first, so a malformed pattern or an unknown operator throws `EventPatternError`
 * even where another value would already have matched. `cidr` exists in EventBridge but is not implemented here.
 */

export type Leaf = string | number | boolean | null;

export class EventPatternError extends Error {
  override readonly name = 'EventPatternError';
}

type ValueTest = (value: Leaf) => boolean;
/** Tests every leaf value of one event field; an empty list means the field is absent. */
type FieldTest = (values: Leaf[]) => boolean;
type ObjectTest = (node: Record<string, unknown>) => boolean;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function fail(path: string, message: string): never {
  throw new EventPatternError(`event pattern ${path}: ${message}`);
}

/** Compiles `pattern` once (throwing `EventPatternError` if it is malformed) into a test of events. */
export function compilePattern(pattern: unknown): (event: unknown) => boolean {
  if (!isObject(pattern)) fail('$', `must be a JSON object, got ${JSON.stringify(pattern)}`);
  const test = compileObject(pattern, '$');
  return (event) => test(isObject(event) ? event : {});
}

/** Whether `event` matches the EventBridge event `pattern`. Throws `EventPatternError` for a bad pattern. */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  return compilePattern(pattern)(event);
}

function compileObject(pattern: Record<string, unknown>, path: string): ObjectTest {
  const tests = Object.entries(pattern).map(([key, sub]): ObjectTest => {
    const at = `${path}.${key}`;
    if (key === '$or') {
      if (!Array.isArray(sub) || sub.length < 2 || !sub.every(isObject)) {
        fail(at, '"$or" must be an array of at least two pattern objects');
      }
      const alternatives = sub.map((alternative, i) => compileObject(alternative, `${at}[${i}]`));
      return (node) => alternatives.some((alternative) => alternative(node));
    }
    if (Array.isArray(sub)) {
      const field = compileField(sub, at);
      return (node) => field(leavesOf(node[key]));
    }
    if (isObject(sub)) {
      const nested = compileObject(sub, at);
      return (node) => objectsOf(node[key]).some(nested);
    }
    return fail(at, `must be an array of values or a nested pattern object, got ${JSON.stringify(sub)}`);
  });
  return (node) => tests.every((test) => test(node));
}

/** The leaf values of an event field: arrays are flattened, objects are not leaves. */
function leavesOf(value: unknown): Leaf[] {
  if (value === undefined || isObject(value)) return [];
  if (Array.isArray(value)) return value.flatMap(leavesOf);
  return [value as Leaf];
}

/** The objects a nested pattern is matched against; none (`{}`) when the event has no object there. */
function objectsOf(value: unknown): Record<string, unknown>[] {
  const objects = Array.isArray(value)
    ? value.flat(Infinity).filter(isObject)
    : isObject(value)
      ? [value]
      : [];
  return objects.length > 0 ? objects : [{}];
}

function compileField(matchers: unknown[], path: string): FieldTest {
  if (matchers.length === 0) fail(path, 'an empty array matches nothing');
  const tests = matchers.map((matcher, i): FieldTest => {
    const at = `${path}[${i}]`;
    if (isObject(matcher) && 'exists' in matcher) {
      const want = matcher.exists;
      if (Object.keys(matcher).length !== 1 || typeof want !== 'boolean') {
        fail(at, '"exists" takes true or false, alone');
      }
      return (values) => values.length > 0 === want;
    }
    const test = compileValue(matcher, at);
    return (values) => values.some(test);
  });
  return (values) => tests.some((test) => test(values));
}

function compileValue(matcher: unknown, path: string): ValueTest {
  if (matcher === null || ['string', 'number', 'boolean'].includes(typeof matcher)) {
    return (value) => value === matcher;
  }
  if (!isObject(matcher)) fail(path, `unsupported value ${JSON.stringify(matcher)}`);
  const entries = Object.entries(matcher);
  const [entry] = entries;
  if (entries.length !== 1 || !entry)
    fail(path, `an operator object has exactly one key, got ${JSON.stringify(matcher)}`);
  return compileOperator(entry[0], entry[1], `${path}.${entry[0]}`);
}

function compileOperator(operator: string, arg: unknown, path: string): ValueTest {
  switch (operator) {
    case 'prefix':
    case 'suffix': {
      const ignoreCase = isObject(arg) && Object.keys(arg).length === 1 && 'equals-ignore-case' in arg;
      const text = ignoreCase ? arg['equals-ignore-case'] : arg;
      if (typeof text !== 'string') fail(path, 'takes a string or { "equals-ignore-case": string }');
      const fold = (s: string) => (ignoreCase ? s.toLowerCase() : s);
      const needle = fold(text);
      return operator === 'prefix'
        ? (value) => typeof value === 'string' && fold(value).startsWith(needle)
        : (value) => typeof value === 'string' && fold(value).endsWith(needle);
    }
    case 'equals-ignore-case': {
      if (typeof arg !== 'string') fail(path, 'takes a string');
      const lower = arg.toLowerCase();
      return (value) => typeof value === 'string' && value.toLowerCase() === lower;
    }
    case 'wildcard': {
      if (typeof arg !== 'string') fail(path, 'takes a string');
      const regex = wildcardRegExp(arg, path);
      return (value) => typeof value === 'string' && regex.test(value);
    }
    case 'numeric':
      return compileNumeric(arg, path);
    case 'anything-but':
      return compileAnythingBut(arg, path);
    case 'exists':
      return fail(path, '"exists" must be a value of the field array itself');
    case 'cidr':
      return fail(path, '"cidr" is an EventBridge operator this matcher does not implement');
    default:
      return fail(path, `unknown operator "${operator}"`);
  }
}

function compileAnythingBut(arg: unknown, path: string): ValueTest {
  if (typeof arg === 'string' || typeof arg === 'number') return (value) => value !== arg;
  if (Array.isArray(arg)) {
    const strings = arg.every((item) => typeof item === 'string');
    if (arg.length === 0 || !(strings || arg.every((item) => typeof item === 'number'))) {
      fail(path, 'takes a non-empty list of only strings or only numbers');
    }
    const excluded: Leaf[] = arg;
    return (value) => !excluded.includes(value);
  }
  const [entry, ...more] = isObject(arg) ? Object.entries(arg) : [];
  if (
    !entry ||
    more.length > 0 ||
    !['prefix', 'suffix', 'equals-ignore-case', 'wildcard'].includes(entry[0])
  ) {
    fail(path, 'takes a string, a number, a list, or one of prefix, suffix, equals-ignore-case, wildcard');
  }
  const [operator, inner] = entry;
  const excluded = (Array.isArray(inner) ? inner : [inner]).map((item, i) =>
    compileOperator(operator, item, `${path}.${operator}[${i}]`),
  );
  return (value) => !excluded.some((test) => test(value));
}

const COMPARISONS: Record<string, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '=': (a, b) => a === b,
  '>=': (a, b) => a >= b,
  '>': (a, b) => a > b,
};

function compileNumeric(arg: unknown, path: string): ValueTest {
  if (!Array.isArray(arg) || (arg.length !== 2 && arg.length !== 4)) {
    fail(path, 'takes [operator, number] or [">"|">=", low, "<"|"<=", high]');
  }
  if (arg.length === 4 && !(['>', '>='].includes(arg[0]) && ['<', '<='].includes(arg[2]))) {
    fail(path, `a range is [">"|">=", low, "<"|"<=", high], got ${JSON.stringify(arg)}`);
  }
  const checks: ((n: number) => boolean)[] = [];
  for (let i = 0; i < arg.length; i += 2) {
    const compare = COMPARISONS[arg[i]];
    const bound: unknown = arg[i + 1];
    if (!compare) fail(path, `unknown comparison ${JSON.stringify(arg[i])}`);
    if (typeof bound !== 'number' || !Number.isFinite(bound))
      fail(path, `${JSON.stringify(bound)} is not a number`);
    checks.push((n) => compare(n, bound));
  }
  return (value) => typeof value === 'number' && checks.every((check) => check(value));
}

/** `*` matches any run of characters (even none); `\*` is a literal asterisk and `\\` a literal backslash. */
function wildcardRegExp(wildcard: string, path: string): RegExp {
  let source = '';
  for (let i = 0; i < wildcard.length; i++) {
    const char = wildcard[i] as string;
    if (char === '\\') {
      const next = wildcard[i + 1];
      if (next !== '*' && next !== '\\') fail(path, 'a backslash may only escape "*" or "\\"');
      source += `\\${next}`;
      i++;
    } else if (char === '*') {
      if (wildcard[i + 1] === '*') fail(path, 'consecutive wildcard characters are not allowed');
      source += '.*';
    } else {
      source += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, 's');
}
