/**
 * What every command here shares: options (`--help`, `--json`, `--debug`, unknown flags refused), exit codes,
 * one-line usage errors, cleanup on every way out, progress on a terminal, and escaping for untrusted text.
 *
 * Exit codes: 0 the run succeeded; 1 its outcome is a failure (an execution failed, a policy is invalid);
 * 2 bad usage or environment: one line on stderr naming the option, file or variable (a stack only with --debug).
 */
import { readFile } from 'node:fs/promises';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { RetryableAwsError } from '../lib/errors.js';
import { escapeControl, parseTime } from '../lib/operations/table.js';

export {
  type Column,
  createProgress,
  escapeControl,
  formatAge,
  formatTable,
  type Progress,
} from '../lib/operations/table.js';

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** Bad usage or environment: printed as its message (plus one line per detail) and exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';

  constructor(
    message: string,
    /** Further lines, one per problem (a policy's violations, say). */
    readonly details: readonly string[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;
const COMMON = {
  help: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  debug: { type: 'boolean', default: false },
} as const;

/**
 * Parses `process.argv` for `options` plus `--help` (prints `usage`, exits 0), `--json` and `--debug`.
 * An unknown flag, a missing value or an unexpected argument is a UsageError.
 */
export function parseCommandLine<const O extends Options>(
  usage: string,
  options: O,
  { allowPositionals = false, args = process.argv.slice(2) } = {},
) {
  const config = {
    args,
    options: { ...options, ...COMMON } as O & typeof COMMON,
    allowPositionals,
    strict: true as const,
  };
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS')) throw error;
    // Node appends advice on positionals starting with '-' to an unknown option; the option is what matters.
    const message = (error as Error).message.split('\n')[0]?.replace(/\. To specify a positional.*$/, '');
    throw new UsageError(`${message} (see --help)`, [], { cause: error });
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    process.exit(EXIT.ok);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/** `text` as a number of `--name`, at least `min` (and a whole number when `integer`). */
export function numberOption(
  name: string,
  text: string,
  { min = 0, integer = false, exclusiveMin = false } = {},
): number {
  const value = Number(text);
  const kind = integer ? 'a whole number' : 'a number';
  const bound = exclusiveMin ? `greater than ${min}` : `at least ${min}`;
  if (
    text.trim() === '' ||
    !Number.isFinite(value) ||
    (integer && !Number.isInteger(value)) ||
    (exclusiveMin ? value <= min : value < min)
  ) {
    throw new UsageError(`--${name} must be ${kind} ${bound}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** An ISO date or a span back from `now` (90m, 24h, 7d) given to `--name`. */
export function timeOption(name: string, text: string, now: Date): Date {
  try {
    return parseTime(name, text, now);
  } catch (error) {
    throw new UsageError((error as Error).message, [], { cause: error });
  }
}

/** `--since` and `--until` as a window; `--since` must come first. */
export function timeWindow(
  since: string,
  until: string | undefined,
  now: Date,
): { since: Date; until: Date } {
  const window = {
    since: timeOption('since', since, now),
    until: until === undefined ? now : timeOption('until', until, now),
  };
  if (window.since >= window.until) {
    throw new UsageError(
      `--since (${window.since.toISOString()}) must be before --until (${window.until.toISOString()})`,
    );
  }
  return window;
}

/** The JSON content of a file given to `--name`; a missing, empty or malformed file names the file. */
export async function readJsonFile(name: string, path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--${name} ${path}: cannot read it (${(error as NodeJS.ErrnoException).code})`, [], {
      cause: error,
    });
  }
  if (text.trim() === '') throw new UsageError(`--${name} ${path}: the file is empty, expected JSON`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--${name} ${path}: not JSON (${(error as Error).message})`, [], { cause: error });
  }
}

/** One input of an --event file: the file (an array's element: `file[i]`) and its JSON value. */
export interface EventInput {
  source: string;
  value: unknown;
}

/** The inputs of the --event files, each a JSON object or an array of them; an empty array is listed apart. */
export async function readEventFiles(
  files: readonly string[],
): Promise<{ inputs: EventInput[]; emptyFiles: string[] }> {
  const inputs: EventInput[] = [];
  const emptyFiles: string[] = [];
  for (const file of files) {
    const content = await readJsonFile('event', file);
    if (!Array.isArray(content)) inputs.push({ source: file, value: content });
    else if (content.length === 0) emptyFiles.push(file);
    else
      content.forEach((value, i) => {
        inputs.push({ source: `${file}[${i}]`, value });
      });
  }
  return { inputs, emptyFiles };
}

/** A value from `--option`, else from the environment variable; a UsageError naming both when neither is set. */
export function required(option: string, value: string | undefined, variable: string): string {
  const found = value ?? process.env[variable];
  if (!found) throw new UsageError(`--${option} (or env ${variable}) is required`);
  return found;
}

interface AwsClient {
  config: { region: () => Promise<string>; credentials: () => Promise<unknown> };
}

/**
 * Resolves region and credentials the way the SDK will, so a missing one is a usage error naming what to set
 * rather than a stack trace from the first request.
 */
export async function requireAwsEnvironment(client: AwsClient): Promise<void> {
  try {
    await client.config.region();
  } catch (error) {
    throw new UsageError('no AWS region: set AWS_REGION (or a profile with a region)', [], { cause: error });
  }
  try {
    await client.config.credentials();
  } catch (error) {
    throw new UsageError(
      'no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE',
      [],
      { cause: error },
    );
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH']);
const REFUSED_CREDENTIALS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
]);

/**
 * An AWS SDK error that says the environment is wrong (endpoint unreachable, credentials refused, table
 * missing) as a UsageError naming the variable to fix; `undefined` for any other error.
 */
function environmentError(
  error: unknown,
  { service, endpointVariable, table }: { service: string; endpointVariable: string; table?: string },
): UsageError | undefined {
  // The clients re-raise an unanswered call as ServiceUnavailableException: the socket's error is its cause.
  if (error instanceof RetryableAwsError)
    return environmentError(error.cause, { service, endpointVariable, table });
  const { name = '', code = '' } = error as { name?: string; code?: string };
  const endpoint = process.env[endpointVariable];
  if (UNREACHABLE.has(code) || UNREACHABLE.has(name)) {
    const where = endpoint
      ? `${endpoint} (${endpointVariable})`
      : `its AWS endpoint (set ${endpointVariable})`;
    return new UsageError(`cannot reach ${service} at ${where}: ${(error as Error).message}`, [], {
      cause: error,
    });
  }
  if (REFUSED_CREDENTIALS.has(name)) {
    return new UsageError(
      `${service} refused the credentials (${name}): check AWS_ACCESS_KEY_ID, AWS_PROFILE`,
      [],
      {
        cause: error,
      },
    );
  }
  if (name === 'ResourceNotFoundException' && table) {
    return new UsageError(`table ${table} (--table or env LEDGER_TABLE) does not exist at ${service}`, [], {
      cause: error,
    });
  }
  return undefined;
}

/** A `.catch` handler that re-raises an environment error as environmentError says, and any other as it is. */
export const failingEnvironment =
  (where: Parameters<typeof environmentError>[1]) =>
  (error: unknown): never => {
    throw environmentError(error, where) ?? error;
  };

type Cleanup = () => Promise<void> | void;
const cleanups: Cleanup[] = [];

/** Runs `cleanup` (stop a child process, close a server) however the command ends: done, error, Ctrl-C. */
export function onExit(cleanup: Cleanup): void {
  cleanups.push(cleanup);
}

async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (error) {
      console.error(`cleanup failed: ${(error as Error).message}`);
    }
  }
}

const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Runs a command's `main`, whose result is its exit code: a UsageError prints one line (its details on the
 * next lines) and exits 2, any other error prints its message and exits 1; a stack trace only with --debug.
 * Cleanups run on every way out; SIGINT and SIGTERM exit 130 and 143 after them, or 0 with
 * `signalsEndNormally` (a service that runs until Ctrl-C).
 */
export function run(main: () => Promise<number>, { signalsEndNormally = false } = {}): void {
  const debug = process.argv.includes('--debug');
  for (const [signal, signalCode] of Object.entries(SIGNAL_EXIT)) {
    const code = signalsEndNormally ? EXIT.ok : signalCode;
    process.once(signal, () => {
      console.error(`\n${signal}: stopping`);
      // A cleanup that hangs must not keep the process alive; DynamoDB Local also dies with the process.
      process.exitCode = code;
      const deadline = new Promise((resolve) => setTimeout(resolve, 5_000));
      void Promise.race([runCleanups(), deadline]).finally(() => process.exit(code));
    });
  }
  main()
    .then(
      (code) => code,
      (error: unknown) => {
        // Messages may quote a file name, a value or an AWS answer: escaped like every untrusted string.
        if (debug) console.error(error);
        else if (error instanceof UsageError)
          console.error([error.message, ...error.details].map(escapeControl).join('\n'));
        else
          console.error(
            escapeControl(`error: ${(error as Error)?.message ?? String(error)} (--debug shows the stack)`),
          );
        return error instanceof UsageError ? EXIT.usage : EXIT.failure;
      },
    )
    .then(async (code) => {
      // Set first: a cleanup that hangs or empties the event loop must not turn the outcome into 0.
      process.exitCode = code;
      await Promise.race([runCleanups(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      // A handle someone forgot to close must not keep a finished command alive.
      setTimeout(() => process.exit(code), 5_000).unref();
    });
}
