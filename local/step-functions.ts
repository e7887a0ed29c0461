/**
 * A local AWS Step Functions service for tests, benchmarks, the local simulator and console-style re-drives.
 *
 * It runs the REAL state-machine definition with the ASL interpreter `aws-local-stepfunctions` and calls the
 * REAL Lambda handlers in-process (through the caller's `invoke`), behind a real HTTP server that speaks the Step
 * Functions awsJson1_0 protocol, so production code talks to it with the unmodified `SFNClient`:
 *
 * ```ts
 * const sfn = await LocalStepFunctions.start({ definition: loadDefinition(path), invoke });
 * const client = new SFNClient({ endpoint: sfn.endpoint, region: 'us-east-1', credentials: DUMMY });
 * ```
 *
 * Where it differs from AWS:
 * - One state machine, `arn:aws:states:us-east-1:123456789012:stateMachine:copy-recovery-point`, with the
 *   definition given at start. Operations: StartExecution, DescribeExecution, ListExecutions,
 *   GetExecutionHistory, StopExecution, RedriveExecution (its clientToken is ignored; no 14-day window),
 *   SendTaskSuccess/Failure/Heartbeat. No IAM, no throttling.
 * - Task resources: Lambda function ARNs, `lambda:invoke` (always RequestResponse) and
 *   `lambda:invoke.waitForTaskToken`. The Lambda timeout is not enforced. Refused at start: Parallel states,
 *   TimeoutSecondsPath, HeartbeatSecondsPath. Every Map runs inline.
 * - Inside a Map iteration `$$.Execution.Input` is the iteration's input (the interpreter's doing); when one
 *   iteration fails, the interpreter may start the next queued iteration before it stops the others.
 * - Re-drive resumes where AWS does (see RedriveExecution below) for top-level states and the iterations of a
 *   top-level Map; a Map nested inside a Map iteration runs all its iterations again.
 * - History: no MapStateStarted event; previousEventId links events within the top level or one iteration.
 * - Every duration of the definition is multiplied by `timeScale`.
 *
 * How the interpreter is driven (all verified against aws-local-stepfunctions 3.0.0's source):
 * - Every `Task` state is overridden through `taskResourceLocalHandlers`, keyed by state name. The overrides are
 *   passed down to the state machines the interpreter spawns for `Map` iterations, so tasks inside an
 *   `ItemProcessor`/`Iterator` are handled too. ASL requires state names to be unique in the whole definition;
 *   asl-validator checks it at start.
 * - Retry/Catch match `ErrorEquals` against `error.name` (`States.ALL` and, for Task states, `States.TaskFailed`
 *   match everything but the interpreter's own `States.Timeout`), and a Catch passes `{ Error: error.name,
 *   Cause: error.message }` to its `ResultPath`. A failing Lambda therefore surfaces as a {@link TaskFailedError}
 *   whose name is the runtime's `errorType` (`err.name`) and whose message is the Lambda error document
 *   `{"errorType","errorMessage","trace"}` as a JSON string — exactly what AWS puts in Error and Cause.
 * - `$$.Task.Token`: the interpreter's context object is static per execution and has no `Task` field, so the
 *   context is given `Task.Token = <placeholder>`; the callback handler replaces the placeholder in the evaluated
 *   Parameters with a freshly generated token before invoking the function (a non-callback task whose payload
 *   contains the placeholder fails with `States.Runtime`, as AWS rejects `$$.Task.Token` there).
 * - The interpreter gives every Task a default 60 s timeout (AWS: 99999999 s) and ignores HeartbeatSeconds; the
 *   definition handed to it is therefore rewritten: TimeoutSeconds is made explicit (and scaled), HeartbeatSeconds
 *   is enforced here. See {@link prepareForInterpreter} for every rewrite.
 * - A re-drive runs a copy of the definition that starts where the execution stopped: see
 *   {@link resumeDefinition}.
 *
 * History events are derived from the interpreter's `eventLogs` (state entered/exited/failed/retried, Map
 * iterations, execution outcome) plus the invocation records of the task handlers (Lambda/Task scheduled,
 * started, submitted, succeeded, failed, timed out).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HistoryEvent, HistoryEventType } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import type { RunOptions, StateMachine, StateMachineDefinition } from 'aws-local-stepfunctions';
import { type AwsFault, CONNECTION_RESET, FaultQueue, faultStatus, isHttpStatus } from './aws-faults.js';
import { type Clock, type ClockTimer, wallClock } from './clock.js';
import { type Interpreter, interpreterOn } from './interpreter.js';
import { functionNameFromArn } from './state-machine-definition.js';

// ---------------------------------------------------------------------------------------------------------------
// Polyfill
// ---------------------------------------------------------------------------------------------------------------

/**
 * aws-local-stepfunctions 3.0.0 calls `Promise.withResolvers` (ES2024), which Node 20 lacks. Installs a
 * spec-compatible implementation only when it is missing.
 */
function installPolyfills(): void {
  const promise = Promise as unknown as { withResolvers?: unknown };
  if (typeof promise.withResolvers === 'function') return;
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(this: PromiseConstructor) {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const created = new this<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise: created, resolve, reject };
    },
  });
}
installPolyfills();

// ---------------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------------

/** The Lambda `context` handed to the in-process handler: a complete `aws-lambda` `Context`. */
export type LambdaInvocationContext = Context;

/**
 * Runs a Lambda function in-process. `payload` is already a JSON copy (what the function would receive over the
 * wire); the returned value is JSON-copied too (`undefined` becomes `null`). A thrown value becomes a function
 * error exactly as the Node.js runtime reports it (errorType = `err.name`).
 */
export type LambdaInvoker = (
  functionName: string,
  payload: unknown,
  context: LambdaInvocationContext,
) => Promise<unknown>;

export interface LocalStepFunctionsOptions {
  /** The ASL definition, typically from `loadDefinition()` (Lambda references already resolved to ARNs). */
  definition: StateMachineDefinition;
  /** Invokes a Lambda function by name (the `function:<name>` part of its ARN). */
  invoke: LambdaInvoker;
  /**
   * Multiplies every duration of the definition: Wait `Seconds`/`SecondsPath`/`Timestamp`/`TimestampPath`
   * (relative to `now()`), Retry `IntervalSeconds` and `MaxDelaySeconds` (BackoffRate and JitterStrategy FULL keep
   * their semantics: the interpreter computes `min(IntervalSeconds × BackoffRate^attempt, MaxDelaySeconds)` then,
   * for FULL, a uniform random wait in [0, that]), Task `TimeoutSeconds` / `HeartbeatSeconds` and the top-level
   * `TimeoutSeconds`. E.g. `0.001` turns one second into one millisecond. Default 1. Not applied to
   * `TimeoutSecondsPath` / `HeartbeatSecondsPath` (unsupported: see the report in the module docs).
   */
  timeScale?: number;
  /** The clock of every date (startDate, stopDate, event timestamps, remaining Lambda time) and timer (Wait,
   *  Retry, timeouts) of the executions; handlers run on the wall clock whatever it is. Default the wall clock. */
  clock?: Clock;
  /** The state machine's name in its ARN (account 123456789012, us-east-1). Default `copy-recovery-point`. */
  stateMachineName?: string;
  /** Port to listen on, on 127.0.0.1. Default 0 (random). */
  port?: number;
  /** Receives a "Step Functions Execution Status Change" event, shaped like AWS's, when an execution ends. */
  onExecutionStatusChange?: (event: ExecutionStatusChangeEvent) => void;
}

/** EventBridge's "Step Functions Execution Status Change" (Step Functions Developer Guide, EventBridge events). */
export interface ExecutionStatusChangeEvent {
  version: '0';
  id: string;
  'detail-type': 'Step Functions Execution Status Change';
  source: 'aws.states';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: {
    executionArn: string;
    stateMachineArn: string;
    name: string;
    status: string;
    startDate: number;
    stopDate: number | null;
    input: string;
    output: string | null;
    error: string | null;
    cause: string | null;
  };
}

type LocalExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** In-process view of one execution (a copy; later changes are not reflected). */
export interface LocalExecution {
  arn: string;
  name: string;
  status: LocalExecutionStatus;
  input: unknown;
  output?: unknown;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
  redriveCount: number;
  redriveDate?: Date;
  /** State transitions, counted as AWS bills them: one per state entered (Map iterations' states included), one
   *  per retry attempt and one per re-drive; accumulated across re-drives. */
  transitions: number;
  /** The events GetExecutionHistory returns, oldest first. */
  history: HistoryEvent[];
}

/**
 * A task failure as Step Functions records it: `name` is the Error and `message` the Cause. aws-local-stepfunctions
 * reads `isRetryable` / `isCatchable`; terminal errors (States.Runtime, ...) are neither, like on AWS.
 */
class TaskFailedError extends Error {
  readonly #terminal: boolean;

  constructor(error: string, cause: string, terminal = false) {
    super(cause);
    this.name = error;
    this.#terminal = terminal;
  }

  get isRetryable(): boolean {
    return !this.#terminal;
  }

  get isCatchable(): boolean {
    return !this.#terminal;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Constants and small helpers
// ---------------------------------------------------------------------------------------------------------------

/** Where the one state machine lives: its ARN names every execution, role and Lambda function ARN here. */
const PARTITION = 'aws';
const REGION = 'us-east-1';
const ACCOUNT_ID = '123456789012';
const STATE_MACHINE_NAME = 'copy-recovery-point';
const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const LAMBDA_INVOKE_CALLBACK = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
const LOCAL_WAIT_RESOURCE = 'arn:aws:states:::local:wait';
const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9-_]+(:[a-zA-Z0-9-_$]+)?$/;
/** What `context.getRemainingTimeInMillis()` counts down from (not enforced): Lambda's maximum timeout. */
const LAMBDA_TIMEOUT_SECONDS = 900;
/** Fields this service does not implement (see the module docs); a definition using one is refused. */
const UNSUPPORTED_FIELDS = ['TimeoutSecondsPath', 'HeartbeatSecondsPath'];
/** AWS's default Task TimeoutSeconds. */
const AWS_DEFAULT_TASK_TIMEOUT_SECONDS = 99_999_999;
/** setTimeout silently turns delays above 2^31-1 ms into 1 ms: never hand it more than this. */
const MAX_TIMER_SECONDS = 2_147_483;
/** How long the HTTP server keeps an idle keep-alive connection (Node's default 5 s races the SDK's reuse). */
const LOCAL_KEEP_ALIVE_MS = 10 * 60_000;
const TOKEN_PLACEHOLDER = '__LOCAL_STEP_FUNCTIONS_TASK_TOKEN__';
/** The history thread of the top level (a Map iteration's thread is its index). */
const TOP_THREAD = '-';
const TOKEN_PREFIX = 'LSF1';
const TOKEN_FORMAT = /^LSF1[A-Za-z0-9_-]{64}$/;
const FAIL_STATE_DEFAULT_ERROR = 'FailStateError';
const FAIL_STATE_DEFAULT_CAUSE = 'Execution failed because of a Fail state';
const MAX_PAYLOAD_BYTES = 256 * 1024;
// Execution names: 1-80 characters, no whitespace, brackets, wildcards, special or control characters.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is rejected
const INVALID_NAME_CHARACTERS = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

type TaskHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
type JSONValue = Parameters<TaskHandlers[string]>[0];
type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;
type AnyState = Record<string, unknown> & { Type?: string };

function toJson(value: unknown): JSONValue {
  if (value === undefined) return null;
  return JSON.parse(JSON.stringify(value)) as JSONValue;
}

function stringify(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clampTimerSeconds(seconds: number): number {
  return Math.min(seconds, MAX_TIMER_SECONDS);
}

function epochSeconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}

function deepMapStrings(value: unknown, map: (text: string) => string): unknown {
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) return value.map((item) => deepMapStrings(item, map));
  if (isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, deepMapStrings(item, map)]));
  }
  return value;
}

function containsString(value: unknown, needle: string): boolean {
  let found = false;
  deepMapStrings(value, (text) => {
    if (text.includes(needle)) found = true;
    return text;
  });
  return found;
}

/** The Lambda error document the Node.js runtime produces for a thrown value (its `toRapidResponse`). */
function lambdaErrorDocument(error: unknown): { errorType: string; errorMessage: string; trace: string[] } {
  if (
    error instanceof Error ||
    (isObject(error) &&
      typeof error.name === 'string' &&
      typeof error.message === 'string' &&
      typeof error.stack === 'string')
  ) {
    const err = error as Error;
    return { errorType: err.name, errorMessage: err.message, trace: (err.stack ?? '').split('\n') };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

function functionError(error: unknown): TaskFailedError {
  const document = lambdaErrorDocument(error);
  return new TaskFailedError(document.errorType, JSON.stringify(document));
}

function runtimeError(message: string): TaskFailedError {
  return new TaskFailedError('States.Runtime', message, true);
}

/** Maps the interpreter's defaults for a Fail state without Error/Cause back to "absent", as on AWS. */
function normalizeFailure(error: string | undefined, cause: unknown): { error?: string; cause?: string } {
  const text =
    cause === undefined || cause === null ? undefined : typeof cause === 'string' ? cause : stringify(cause);
  const result: { error?: string; cause?: string } = {};
  if (error !== undefined && error !== '' && error !== FAIL_STATE_DEFAULT_ERROR) result.error = error;
  if (text !== undefined && text !== '' && text !== FAIL_STATE_DEFAULT_CAUSE) result.cause = text;
  return result;
}

function forEachStates(states: unknown, visit: (states: Record<string, AnyState>) => void): void {
  if (!isObject(states)) return;
  visit(states as Record<string, AnyState>);
  for (const state of Object.values(states)) {
    if (!isObject(state)) continue;
    const processor = state.ItemProcessor ?? state.Iterator;
    if (isObject(processor)) forEachStates(processor.States, visit);
  }
}

interface PreparedDefinition {
  definition: StateMachineDefinition;
  /** Wait states turned into locally handled tasks (so their duration can be scaled / computed from `now`). */
  convertedWaits: Set<string>;
  /** Per Task state, the TimeoutSeconds the interpreter enforces. */
  taskTimeoutSeconds: Map<string, number>;
}

/**
 * The definition handed to the interpreter. Semantics are unchanged; only what the interpreter gets wrong or
 * cannot scale is rewritten:
 * - `ResultPath: "$"` (on states and catchers) is removed: the interpreter would write the result under a key
 *   named "$"; without ResultPath the result replaces the input, which is what "$" means.
 * - A Pass state's falsy `Result` (0, false, "", null), which the interpreter ignores, becomes `Parameters`.
 * - Task `TimeoutSeconds` is made explicit (AWS default 99999999 s instead of the interpreter's 60 s), scaled,
 *   and clamped to what setTimeout supports (~24.8 days).
 * - Retry `IntervalSeconds` (default 1) and `MaxDelaySeconds` are scaled.
 * - `ErrorEquals` containing `States.Timeout` also gets `States.HeartbeatTimeout` (on AWS, States.Timeout also
 *   matches a missed heartbeat).
 * - Wait `Seconds` is scaled; a Wait with `SecondsPath`/`Timestamp`/`TimestampPath` becomes a Task handled
 *   here (Parameters compute the value with the interpreter's own JSONPath) when scaling or a custom clock is
 *   in effect. History still reports it as a Wait state.
 * - Top-level `TimeoutSeconds` is scaled.
 */
function prepareForInterpreter(
  source: StateMachineDefinition,
  options: { timeScale?: number; customClock?: boolean } = {},
): PreparedDefinition {
  const scale = options.timeScale ?? 1;
  const convertWaits = scale !== 1 || options.customClock === true;
  const definition = structuredClone(source) as unknown as Record<string, unknown>;
  const convertedWaits = new Set<string>();
  const taskTimeoutSeconds = new Map<string, number>();

  const addHeartbeat = (errorEquals: unknown): void => {
    if (Array.isArray(errorEquals) && errorEquals.includes('States.Timeout')) {
      if (!errorEquals.includes('States.HeartbeatTimeout')) errorEquals.push('States.HeartbeatTimeout');
    }
  };

  forEachStates(definition.States, (states) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.ResultPath === '$') delete state.ResultPath;
      if (state.Type === 'Pass' && 'Result' in state && !state.Result) {
        // The interpreter ignores a falsy Result (0, false, "", null); Parameters with a non-object value is
        // returned as is, and a Pass state's result is its effective input, so this is the same result.
        state.Parameters = state.Result as unknown;
        delete state.Result;
      }
      if (Array.isArray(state.Retry)) {
        for (const retrier of state.Retry as Record<string, unknown>[]) {
          retrier.IntervalSeconds = ((retrier.IntervalSeconds as number | undefined) ?? 1) * scale;
          if (typeof retrier.MaxDelaySeconds === 'number') retrier.MaxDelaySeconds *= scale;
          addHeartbeat(retrier.ErrorEquals);
        }
      }
      if (Array.isArray(state.Catch)) {
        for (const catcher of state.Catch as Record<string, unknown>[]) {
          if (catcher.ResultPath === '$') delete catcher.ResultPath;
          addHeartbeat(catcher.ErrorEquals);
        }
      }
      if (state.Type === 'Task') {
        const seconds = clampTimerSeconds(
          ((state.TimeoutSeconds as number | undefined) ?? AWS_DEFAULT_TASK_TIMEOUT_SECONDS) * scale,
        );
        state.TimeoutSeconds = seconds;
        taskTimeoutSeconds.set(name, seconds);
      }
      if (state.Type === 'Wait') {
        if (typeof state.Seconds === 'number') {
          state.Seconds *= scale;
        } else if (convertWaits) {
          const parameters: Record<string, unknown> = { 'input.$': '$' };
          if (state.SecondsPath !== undefined) parameters['seconds.$'] = state.SecondsPath;
          else if (state.TimestampPath !== undefined) parameters['timestamp.$'] = state.TimestampPath;
          else parameters.timestamp = state.Timestamp;
          const task: AnyState = {
            Type: 'Task',
            Resource: LOCAL_WAIT_RESOURCE,
            Parameters: parameters,
            TimeoutSeconds: MAX_TIMER_SECONDS,
          };
          for (const key of ['Comment', 'InputPath', 'OutputPath', 'Next', 'End']) {
            if (key in state) task[key] = state[key];
          }
          states[name] = task;
          convertedWaits.add(name);
        }
      }
    }
  });
  if (typeof definition.TimeoutSeconds === 'number') {
    definition.TimeoutSeconds = clampTimerSeconds(definition.TimeoutSeconds * scale);
  }
  return { definition: definition as unknown as StateMachineDefinition, convertedWaits, taskTimeoutSeconds };
}

/** Prefix of the states a re-drive adds to the definition; they never show in the history. */
const RESUME = 'LocalStepFunctions.Resume';
const isResumeState = (name: string): boolean => name.startsWith(RESUME);

/** A state that did not finish, with the input it received: where a re-drive resumes. */
interface OpenState {
  name: string;
  input: JSONValue;
}

/** One iteration of a Map: its output once it succeeded, else the state it was in. */
interface Iteration {
  succeeded: boolean;
  output?: JSONValue;
  open?: OpenState;
}

/** How far an execution got, across its runs (read from the interpreter's event log). */
interface Progress {
  /** The top-level state entered last (the one that failed, timed out or was stopped). */
  open?: OpenState;
  /** When `open` is a Map: its iterations by index, successful ones included. */
  iterations: Map<number, Iteration>;
}

/**
 * The definition a re-drive runs: the source definition started at the state that did not finish, with its
 * recorded input (through a Pass state, so $$.Execution.Input stays the execution's input). For a Map, each
 * iteration is dispatched on its index: a successful one outputs its recorded output without running again, an
 * unsuccessful one resumes at the state it was in, one never started runs from its StartAt; the Map then
 * assembles every output in index order as usual.
 */
function resumeDefinition(source: StateMachineDefinition, progress: Progress): StateMachineDefinition {
  const open = progress.open;
  if (!open) return source;
  const definition = structuredClone(source) as unknown as {
    StartAt: string;
    States: Record<string, AnyState>;
  };
  definition.States[RESUME] = { Type: 'Pass', Result: open.input, Next: open.name };
  definition.StartAt = RESUME;
  const map = definition.States[open.name] as AnyState;
  if (map.Type !== 'Map') return definition as unknown as StateMachineDefinition;
  const processor = (map.ItemProcessor ?? map.Iterator) as {
    StartAt: string;
    States: Record<string, AnyState>;
  };
  const selector = map.ItemSelector ?? map.Parameters;
  delete map.Parameters;
  map.ItemSelector = {
    ...(selector === undefined ? { 'item.$': '$$.Map.Item.Value' } : { item: selector }),
    'index.$': '$$.Map.Item.Index',
  };
  const fresh = `${RESUME}.New`;
  processor.States[fresh] = { Type: 'Pass', InputPath: '$.item', Next: processor.StartAt };
  const choices: Record<string, unknown>[] = [];
  for (const [index, iteration] of progress.iterations) {
    const name = `${RESUME}.${index}`;
    if (iteration.succeeded) processor.States[name] = { Type: 'Pass', Result: iteration.output, End: true };
    else if (iteration.open) {
      processor.States[name] = { Type: 'Pass', Result: iteration.open.input, Next: iteration.open.name };
    } else continue;
    choices.push({ Variable: '$.index', NumericEquals: index, Next: name });
  }
  processor.States[RESUME] = { Type: 'Choice', Choices: choices, Default: fresh };
  processor.StartAt = choices.length > 0 ? RESUME : fresh;
  return definition as unknown as StateMachineDefinition;
}

const validatedDefinitions = new Set<string>();

// ---------------------------------------------------------------------------------------------------------------
// Internal records
// ---------------------------------------------------------------------------------------------------------------

class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

type Integration = 'lambda' | 'invoke' | 'callback';

interface InvocationRecord {
  integration: Integration;
  /** The state's Resource for direct Lambda tasks, `invoke` / `invoke.waitForTaskToken` otherwise. */
  resource: string;
  functionArn: string;
  payload: unknown;
  parameters?: unknown;
  result?: unknown;
  submitted?: unknown;
  timeoutSeconds?: number;
  heartbeatSeconds?: number;
}

type TokenStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'CLOSED';

interface TaskTokenRecord {
  token: string;
  run: RunState;
  stateName: string;
  status: TokenStatus;
  invocation: InvocationRecord;
  resolve: (value: JSONValue) => void;
  reject: (error: Error) => void;
  timeoutTimer?: ClockTimer;
  heartbeatTimer?: ClockTimer;
  heartbeatMs?: number;
}

interface RunState {
  execution: ExecutionRecord;
  redrive: boolean;
  /** The outcome is decided (status no longer RUNNING for this run). */
  finished: boolean;
  /** Stop in-flight work: task handlers reject immediately. */
  aborted: boolean;
  abort: () => void;
  done: Promise<void>;
  stopDetails?: { error?: string; cause?: string };
  pending: Set<(error: Error) => void>;
  tokens: Set<TaskTokenRecord>;
  /** Per state name, invocations not yet matched with a StateEntered/StateRetried event (FIFO). */
  invocations: Map<string, InvocationRecord[]>;
  /** Per state instance (Map index + name), the invocation of the attempt in progress. */
  openTasks: Map<string, InvocationRecord | undefined>;
  failedStates: Set<string>;
  /** The state a re-drive resumes at, until it is entered. */
  resumeAt?: string;
  /** Map iterations a re-drive does not run again: they keep their output and add nothing to the history. */
  skippedIterations: Set<number>;
  /** Per thread (the top level, or a Map iteration's index), the id of its last history event. */
  lastEventIds: Map<string, number>;
  /** The thread of the event being recorded. */
  thread: string;
}

interface ExecutionRecord {
  seq: number;
  arn: string;
  name: string;
  input: string;
  status: LocalExecutionStatus;
  output?: string;
  error?: string;
  cause?: string;
  startDate: number;
  stopDate?: number;
  redriveCount: number;
  redriveDate?: number;
  transitions: number;
  history: HistoryEvent[];
  progress: Progress;
  run: RunState;
}

class ExecutionStoppedError extends TaskFailedError {
  constructor() {
    super('LocalStepFunctions.ExecutionStopped', 'The execution is no longer running', true);
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

// ---------------------------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------------------------

export class LocalStepFunctions {
  /** `http://127.0.0.1:<port>` — give it to `SFNClient` as `endpoint`. */
  readonly endpoint: string;
  readonly stateMachineArn: string;
  readonly #stateMachineName: string;

  readonly #options: LocalStepFunctionsOptions;
  readonly #server: Server;
  readonly #definition: StateMachineDefinition;
  readonly #machine: StateMachine;
  /** Top-level state names, and for each top-level Map the names of its ItemProcessor's states. */
  readonly #topLevelStates: Set<string>;
  readonly #mapStates = new Map<string, Set<string>>();
  readonly #states = new Map<string, AnyState>();
  readonly #taskStateNames: string[] = [];
  readonly #convertedWaits: Set<string>;
  readonly #taskTimeoutSeconds: Map<string, number>;
  readonly #executions = new Map<string, ExecutionRecord>();
  readonly #tokens = new Map<string, TaskTokenRecord>();
  readonly #running = new Set<RunState>();
  readonly #internalErrors: unknown[] = [];
  readonly #faults = new FaultQueue<Omit<AwsFault, 'service'>>();
  readonly #clock: Clock;
  /** The interpreter whose timers run on #clock. */
  readonly #interpreter: typeof Interpreter;
  readonly #now: () => number;
  readonly #scale: number;
  #seq = 0;
  #closed = false;

  private constructor(options: LocalStepFunctionsOptions, server: Server, endpoint: string) {
    this.#options = options;
    this.#server = server;
    this.endpoint = endpoint;
    this.#clock = options.clock ?? wallClock;
    this.#interpreter = interpreterOn(this.#clock);
    this.#now = () => this.#clock.now();
    this.#stateMachineName = options.stateMachineName ?? STATE_MACHINE_NAME;
    this.stateMachineArn = `arn:${PARTITION}:states:${REGION}:${ACCOUNT_ID}:stateMachine:${this.#stateMachineName}`;
    this.#scale = options.timeScale ?? 1;
    if (!Number.isFinite(this.#scale) || this.#scale <= 0) {
      throw new Error(`timeScale must be a positive number, got ${options.timeScale}`);
    }

    const definition = options.definition;
    // Throws "State machine definition is invalid" with asl-validator's messages. asl-validator costs ~100 ms
    // per call, so each distinct definition is validated once per process.
    const key = JSON.stringify(definition);
    if (!validatedDefinitions.has(key)) {
      new this.#interpreter.StateMachine(structuredClone(definition));
      validatedDefinitions.add(key);
    }
    forEachStates((definition as unknown as Record<string, unknown>).States, (states) => {
      for (const [name, state] of Object.entries(states)) {
        this.#states.set(name, state);
        if (state.Type === 'Task') {
          const resource = state.Resource;
          if (
            typeof resource !== 'string' ||
            !(resource === LAMBDA_INVOKE || resource === LAMBDA_INVOKE_CALLBACK || LAMBDA_ARN.test(resource))
          ) {
            throw new Error(
              `Task state "${name}": resource ${String(resource)} is not supported (Lambda function ARN, ${LAMBDA_INVOKE} or ${LAMBDA_INVOKE_CALLBACK})`,
            );
          }
        }
        const unsupported = UNSUPPORTED_FIELDS.find((field) => state[field] !== undefined);
        if (unsupported)
          throw new Error(`State "${name}": ${unsupported} is not supported by LocalStepFunctions`);
        if (state.Type === 'Parallel') {
          throw new Error(`State "${name}": Parallel states are not supported by LocalStepFunctions`);
        }
      }
    });
    this.#definition = definition;
    const topLevel = (definition as unknown as { States: Record<string, AnyState> }).States;
    this.#topLevelStates = new Set(Object.keys(topLevel));
    for (const [name, state] of Object.entries(topLevel)) {
      const processor = state.ItemProcessor ?? state.Iterator;
      if (isObject(processor) && isObject(processor.States)) {
        this.#mapStates.set(name, new Set(Object.keys(processor.States)));
      }
    }
    const prepared = this.#prepare(definition);
    this.#convertedWaits = prepared.convertedWaits;
    this.#taskTimeoutSeconds = prepared.taskTimeoutSeconds;
    forEachStates((prepared.definition as unknown as Record<string, unknown>).States, (states) => {
      for (const [name, state] of Object.entries(states))
        if (state.Type === 'Task') this.#taskStateNames.push(name);
    });
    this.#machine = new this.#interpreter.StateMachine(prepared.definition, {
      validationOptions: { noValidate: true },
    });
  }

  #prepare(definition: StateMachineDefinition): PreparedDefinition {
    return prepareForInterpreter(definition, {
      timeScale: this.#scale,
      customClock: this.#options.clock !== undefined,
    });
  }

  /** The interpreter for a re-drive of an execution that got as far as `progress` (same state names, so the
   *  prepared timeouts and converted waits of the full definition apply). */
  #resumeMachine(progress: Progress): StateMachine {
    const prepared = this.#prepare(resumeDefinition(this.#definition, progress));
    return new this.#interpreter.StateMachine(prepared.definition, {
      validationOptions: { noValidate: true },
    });
  }

  /** Starts the HTTP server on 127.0.0.1 and returns the running service. */
  static async start(options: LocalStepFunctionsOptions): Promise<LocalStepFunctions> {
    let service: LocalStepFunctions | undefined;
    const server = createServer((req, res) => {
      const running = service;
      if (running) void running.#handleHttp(req, res);
      else res.writeHead(503).end();
    });
    // Node closes a keep-alive socket idle for 5 s; under a burst the SDK reuses one just as it closes (ECONNRESET).
    server.keepAliveTimeout = LOCAL_KEEP_ALIVE_MS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    try {
      service = new LocalStepFunctions(options, server, `http://127.0.0.1:${port}`);
    } catch (error) {
      server.close();
      throw error;
    }
    return service;
  }

  /** The next `count` calls of `operation` (e.g. SendTaskSuccess, StartExecution) fail with this answer. */
  injectFault(fault: Omit<AwsFault, 'service'>): void {
    this.#faults.add(fault);
  }

  /** How many injected answers are still to be given. */
  pendingFaults(): number {
    return this.#faults.pending();
  }

  /** Every execution, newest first. */
  executions(): LocalExecution[] {
    return this.#sortedExecutions().map((execution) => this.#snapshot(execution));
  }

  /** How many executions are in each status: cheap to poll, unlike {@link executions}, which copies histories. */
  statusCounts(): Partial<Record<LocalExecutionStatus, number>> {
    const counts: Partial<Record<LocalExecutionStatus, number>> = {};
    for (const { status } of this.#executions.values()) counts[status] = (counts[status] ?? 0) + 1;
    return counts;
  }

  /** One execution by ARN or name. */
  execution(arnOrName: string): LocalExecution | undefined {
    const execution =
      this.#executions.get(arnOrName) ?? [...this.#executions.values()].find((e) => e.name === arnOrName);
    return execution && this.#snapshot(execution);
  }

  /** Resolves once no execution is running (and every history is complete). Rejects if the service hit an
   *  internal error (a bug here, never a workflow failure). */
  async waitForIdle(): Promise<void> {
    while (this.#running.size > 0) {
      await Promise.all([...this.#running].map((run) => run.done));
    }
    if (this.#internalErrors.length > 0) {
      throw new AggregateError(this.#internalErrors, 'LocalStepFunctions internal error');
    }
  }

  /** Aborts running executions (status ABORTED), rejects in-flight handlers and closes the server. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const execution of this.#executions.values()) {
      if (execution.status === 'RUNNING') this.#stop(execution, undefined, undefined);
    }
    // Runs settle as soon as their handlers are rejected; the guard only protects close() from a bug here.
    const settled = Promise.all([...this.#running].map((run) => run.done));
    let timer: NodeJS.Timeout | undefined;
    const guard = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 2000);
    });
    await Promise.race([settled, guard]);
    clearTimeout(timer);
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // HTTP / awsJson1_0
  // -------------------------------------------------------------------------------------------------------------

  readonly #operations: Record<string, (input: Record<string, unknown>) => unknown> = {
    StartExecution: (input) => this.#startExecution(input),
    DescribeExecution: (input) => this.#describeExecution(input),
    ListExecutions: (input) => this.#listExecutions(input),
    GetExecutionHistory: (input) => this.#getExecutionHistory(input),
    StopExecution: (input) => this.#stopExecution(input),
    RedriveExecution: (input) => this.#redriveExecution(input),
    SendTaskSuccess: (input) => this.#sendTaskSuccess(input),
    SendTaskFailure: (input) => this.#sendTaskFailure(input),
    SendTaskHeartbeat: (input) => this.#sendTaskHeartbeat(input),
  };

  async #handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const send = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.0',
        'content-length': Buffer.byteLength(text),
        'x-amzn-requestid': requestId,
      });
      res.end(text);
    };
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const target = req.headers['x-amz-target'];
      const operation =
        typeof target === 'string' && target.startsWith('AWSStepFunctions.') ? target.slice(17) : undefined;
      const handler = operation === undefined ? undefined : this.#operations[operation];
      if (req.method !== 'POST' || handler === undefined) {
        throw new ServiceError('UnknownOperationException', `Unknown operation ${String(target)}`);
      }
      const fault = this.#faults.take(operation as string, Buffer.concat(chunks).toString('utf8'));
      if (fault?.error === CONNECTION_RESET) return void req.socket.resetAndDestroy();
      if (fault && isHttpStatus(fault.error)) {
        return void res.writeHead(faultStatus(fault), { 'content-type': 'text/plain' }).end('injected');
      }
      if (fault)
        throw new ServiceError(fault.error, fault.message ?? `Injected ${fault.error}`, faultStatus(fault));
      const text = Buffer.concat(chunks).toString('utf8');
      let input: unknown;
      try {
        input = text === '' ? {} : JSON.parse(text);
      } catch {
        throw new ServiceError('SerializationException', 'Request body is not valid JSON');
      }
      if (!isObject(input))
        throw new ServiceError('SerializationException', 'Request body must be a JSON object');
      const output = await handler(input);
      send(200, output ?? {});
    } catch (error) {
      if (error instanceof ServiceError) {
        send(error.statusCode, { __type: error.type, message: error.message });
      } else {
        this.#internalErrors.push(error);
        send(500, { __type: 'InternalFailure', message: String(error) });
      }
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Operations
  // -------------------------------------------------------------------------------------------------------------

  #startExecution(input: Record<string, unknown>): unknown {
    this.#checkStateMachineArn(input.stateMachineArn);
    const name = input.name === undefined ? randomUUID() : input.name;
    if (
      typeof name !== 'string' ||
      name.length < 1 ||
      name.length > 80 ||
      INVALID_NAME_CHARACTERS.test(name)
    ) {
      throw new ServiceError('InvalidName', `Invalid Name: '${String(name)}'`);
    }
    const text = input.input === undefined ? '{}' : input.input;
    if (typeof text !== 'string') throw new ServiceError('InvalidExecutionInput', 'Invalid execution input');
    if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) {
      throw new ServiceError('InvalidExecutionInput', 'Execution input exceeds the maximum size of 256 KiB');
    }
    try {
      JSON.parse(text);
    } catch (error) {
      throw new ServiceError(
        'InvalidExecutionInput',
        `Invalid State Machine Execution Input: '${(error as Error).message}'`,
      );
    }
    const arn = `arn:${PARTITION}:states:${REGION}:${ACCOUNT_ID}:execution:${this.#stateMachineName}:${name}`;
    const existing = this.#executions.get(arn);
    if (existing) {
      // AWS (Standard): same name and same input as a RUNNING execution → the original response; a closed
      // execution or a different input → ExecutionAlreadyExists.
      if (existing.status === 'RUNNING' && existing.input === text) {
        return { executionArn: existing.arn, startDate: epochSeconds(existing.startDate) };
      }
      throw new ServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }
    if (this.#closed) throw new ServiceError('ServiceUnavailable', 'LocalStepFunctions is closed', 503);
    const execution = {
      seq: ++this.#seq,
      arn,
      name,
      input: text,
      status: 'RUNNING',
      startDate: this.#now(),
      redriveCount: 0,
      transitions: 0,
      history: [],
      progress: { iterations: new Map() },
    } as unknown as ExecutionRecord;
    this.#executions.set(arn, execution);
    this.#startRun(execution, false);
    return { executionArn: arn, startDate: epochSeconds(execution.startDate) };
  }

  #describeExecution(input: Record<string, unknown>): unknown {
    const execution = this.#getExecution(input.executionArn);
    const redrivable = this.#isRedrivable(execution);
    return {
      executionArn: execution.arn,
      stateMachineArn: this.stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: epochSeconds(execution.startDate),
      stopDate: epochSeconds(execution.stopDate),
      input: execution.input,
      inputDetails: { included: true },
      output: execution.output,
      outputDetails: execution.output === undefined ? undefined : { included: true },
      error: execution.error,
      cause: execution.cause,
      redriveCount: execution.redriveCount,
      redriveDate: epochSeconds(execution.redriveDate),
      redriveStatus: redrivable ? 'REDRIVABLE' : 'NOT_REDRIVABLE',
      redriveStatusReason: redrivable ? undefined : `Execution is ${execution.status} and cannot be redriven`,
    };
  }

  #listExecutions(input: Record<string, unknown>): unknown {
    this.#checkStateMachineArn(input.stateMachineArn);
    const { statusFilter, redriveFilter } = input;
    if (
      statusFilter !== undefined &&
      !['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'].includes(
        statusFilter as string,
      )
    ) {
      throw new ServiceError('ValidationException', `Invalid statusFilter: ${String(statusFilter)}`);
    }
    if (redriveFilter !== undefined && redriveFilter !== 'REDRIVEN' && redriveFilter !== 'NOT_REDRIVEN') {
      throw new ServiceError('ValidationException', `Invalid redriveFilter: ${String(redriveFilter)}`);
    }
    const maxResults = this.#maxResults(input.maxResults);
    const filtered = this.#sortedExecutions().filter(
      (execution) =>
        (statusFilter === undefined || execution.status === statusFilter) &&
        (redriveFilter === undefined || (redriveFilter === 'REDRIVEN') === execution.redriveCount > 0),
    );
    const key = `list:${String(statusFilter)}:${String(redriveFilter)}`;
    const offset = this.#decodeToken(input.nextToken, key);
    const page = filtered.slice(offset, offset + maxResults);
    const nextOffset = offset + page.length;
    return {
      executions: page.map((execution) => ({
        executionArn: execution.arn,
        stateMachineArn: this.stateMachineArn,
        name: execution.name,
        status: execution.status,
        startDate: epochSeconds(execution.startDate),
        stopDate: epochSeconds(execution.stopDate),
        redriveCount: execution.redriveCount,
        redriveDate: epochSeconds(execution.redriveDate),
      })),
      nextToken: nextOffset < filtered.length ? this.#encodeToken(key, nextOffset) : undefined,
    };
  }

  #getExecutionHistory(input: Record<string, unknown>): unknown {
    const execution = this.#getExecution(input.executionArn);
    const maxResults = this.#maxResults(input.maxResults);
    const events = input.reverseOrder === true ? [...execution.history].reverse() : execution.history;
    const key = `history:${execution.arn}:${input.reverseOrder === true}`;
    const offset = this.#decodeToken(input.nextToken, key);
    const page = events.slice(offset, offset + maxResults);
    const nextOffset = offset + page.length;
    const includeData = input.includeExecutionData !== false;
    return {
      events: page.map((event) => {
        const wire: Record<string, unknown> = {
          ...event,
          timestamp: epochSeconds(event.timestamp?.getTime()),
        };
        if (!includeData) {
          for (const [field, details] of Object.entries(wire)) {
            if (field.endsWith('EventDetails') && isObject(details)) {
              const { input: _input, output: _output, ...rest } = details;
              wire[field] = rest;
            }
          }
        }
        return wire;
      }),
      nextToken: nextOffset < events.length ? this.#encodeToken(key, nextOffset) : undefined,
    };
  }

  #stopExecution(input: Record<string, unknown>): unknown {
    const execution = this.#getExecution(input.executionArn);
    const error = typeof input.error === 'string' ? input.error : undefined;
    const cause = typeof input.cause === 'string' ? input.cause : undefined;
    if (execution.status === 'RUNNING') this.#stop(execution, error, cause);
    return { stopDate: epochSeconds(execution.stopDate) };
  }

  /**
   * As AWS does it (Step Functions developer guide, "Redriving executions",
   * https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html): under the same ARN, with
   * redriveCount + 1 and an ExecutionRedriven event, the execution resumes at the state that did not finish,
   * with the input it had; an inline Map runs again only its unsuccessful iterations, each from the state it
   * was in, and keeps the others' output. Every state starts afresh: retry counters, task and execution
   * timeouts. A Fail state fails again. See {@link resumeDefinition}.
   */
  async #redriveExecution(input: Record<string, unknown>): Promise<unknown> {
    const execution = this.#getExecution(input.executionArn);
    if (!this.#isRedrivable(execution)) {
      throw new ServiceError(
        'ExecutionNotRedrivable',
        `Execution '${execution.arn}' is ${execution.status} and cannot be redriven`,
      );
    }
    if (this.#closed) throw new ServiceError('ServiceUnavailable', 'LocalStepFunctions is closed', 503);
    const previous = execution.run;
    execution.status = 'RUNNING';
    execution.redriveCount += 1;
    execution.redriveDate = this.#now();
    delete execution.output;
    delete execution.error;
    delete execution.cause;
    delete execution.stopDate;
    await previous.done;
    // Stopped (or the service closed) while the previous run was draining: nothing to start.
    if (execution.status === 'RUNNING' && !this.#closed) this.#startRun(execution, true);
    return { redriveDate: epochSeconds(execution.redriveDate) };
  }

  #sendTaskSuccess(input: Record<string, unknown>): unknown {
    const record = this.#lookupToken(input.taskToken);
    if (typeof input.output !== 'string') throw new ServiceError('InvalidOutput', 'Invalid Output: missing');
    if (Buffer.byteLength(input.output) > MAX_PAYLOAD_BYTES) {
      throw new ServiceError('InvalidOutput', 'Output exceeds the maximum size of 256 KiB');
    }
    let output: JSONValue;
    try {
      output = JSON.parse(input.output) as JSONValue;
    } catch (error) {
      throw new ServiceError('InvalidOutput', `Invalid Output: '${(error as Error).message}'`);
    }
    this.#completeToken(record, 'SUCCEEDED', output);
    return {};
  }

  #sendTaskFailure(input: Record<string, unknown>): unknown {
    const record = this.#lookupToken(input.taskToken);
    const error = typeof input.error === 'string' ? input.error : '';
    const cause = typeof input.cause === 'string' ? input.cause : '';
    this.#completeToken(record, 'FAILED', undefined, new TaskFailedError(error, cause));
    return {};
  }

  #sendTaskHeartbeat(input: Record<string, unknown>): unknown {
    const record = this.#lookupToken(input.taskToken);
    this.#armHeartbeat(record);
    return {};
  }

  // -------------------------------------------------------------------------------------------------------------
  // Operation helpers
  // -------------------------------------------------------------------------------------------------------------

  #checkStateMachineArn(arn: unknown): void {
    if (typeof arn !== 'string') throw new ServiceError('ValidationException', 'stateMachineArn is required');
    if (!/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+(:[^:]+)?$/.test(arn)) {
      throw new ServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
    }
    if (arn !== this.stateMachineArn) {
      throw new ServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    }
  }

  #getExecution(arn: unknown): ExecutionRecord {
    if (typeof arn !== 'string') throw new ServiceError('ValidationException', 'executionArn is required');
    if (!/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/.test(arn)) {
      throw new ServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
    }
    const execution = this.#executions.get(arn);
    if (!execution) throw new ServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return execution;
  }

  #isRedrivable(execution: ExecutionRecord): boolean {
    return (
      execution.status === 'FAILED' || execution.status === 'TIMED_OUT' || execution.status === 'ABORTED'
    );
  }

  #maxResults(value: unknown): number {
    if (value === undefined || value === 0) return 100;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 1000) {
      throw new ServiceError('ValidationException', 'maxResults must be between 0 and 1000');
    }
    return value;
  }

  #encodeToken(key: string, offset: number): string {
    return Buffer.from(JSON.stringify({ key, offset })).toString('base64url');
  }

  #decodeToken(token: unknown, key: string): number {
    if (token === undefined || token === null) return 0;
    try {
      const decoded = JSON.parse(Buffer.from(String(token), 'base64url').toString('utf8')) as {
        key?: unknown;
        offset?: unknown;
      };
      if (decoded.key === key && typeof decoded.offset === 'number' && Number.isInteger(decoded.offset)) {
        return decoded.offset;
      }
    } catch {
      // fall through
    }
    throw new ServiceError('InvalidToken', `Invalid Token: '${String(token)}'`);
  }

  #sortedExecutions(): ExecutionRecord[] {
    return [...this.#executions.values()].sort((a, b) => b.startDate - a.startDate || b.seq - a.seq);
  }

  #snapshot(execution: ExecutionRecord): LocalExecution {
    const snapshot: LocalExecution = {
      arn: execution.arn,
      name: execution.name,
      status: execution.status,
      input: JSON.parse(execution.input),
      startDate: new Date(execution.startDate),
      redriveCount: execution.redriveCount,
      transitions: execution.transitions,
      history: structuredClone(execution.history),
    };
    if (execution.output !== undefined) snapshot.output = JSON.parse(execution.output);
    if (execution.error !== undefined) snapshot.error = execution.error;
    if (execution.cause !== undefined) snapshot.cause = execution.cause;
    if (execution.stopDate !== undefined) snapshot.stopDate = new Date(execution.stopDate);
    if (execution.redriveDate !== undefined) snapshot.redriveDate = new Date(execution.redriveDate);
    return snapshot;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Runs
  // -------------------------------------------------------------------------------------------------------------

  #startRun(execution: ExecutionRecord, redrive: boolean): void {
    const run: RunState = {
      execution,
      redrive,
      finished: false,
      aborted: false,
      abort: () => {},
      done: Promise.resolve(),
      pending: new Set(),
      tokens: new Set(),
      invocations: new Map(),
      openTasks: new Map(),
      failedStates: new Set(),
      skippedIterations: new Set(),
      lastEventIds: new Map([[TOP_THREAD, execution.history.length]]),
      thread: TOP_THREAD,
    };
    execution.run = run;
    let machine = this.#machine;
    const open = execution.progress.open;
    if (redrive && open) {
      machine = this.#resumeMachine(execution.progress);
      run.resumeAt = open.name;
      for (const [index, iteration] of execution.progress.iterations) {
        if (iteration.succeeded) run.skippedIterations.add(index);
      }
    }
    this.#running.add(run);
    const handlers: TaskHandlers = {};
    for (const name of this.#taskStateNames) {
      handlers[name] = (input) => this.#handleTask(run, name, input);
    }
    const overrides: NonNullable<RunOptions['overrides']> = { taskResourceLocalHandlers: handlers };
    const handle = machine.run(JSON.parse(execution.input) as JSONValue, {
      overrides,
      context: {
        Execution: {
          Id: execution.arn,
          Name: execution.name,
          RoleArn: this.#roleArn(),
          RedriveCount: execution.redriveCount,
        },
        StateMachine: { Id: this.stateMachineArn, Name: this.#stateMachineName },
        Task: { Token: TOKEN_PLACEHOLDER },
      },
    });
    run.abort = handle.abort;
    const consumed = (async () => {
      for await (const event of handle.eventLogs) {
        try {
          this.#recordEvent(run, event);
        } catch (error) {
          this.#internalErrors.push(error);
        }
      }
    })();
    const settled = handle.result.then(
      (output) => this.#finishRun(run, { status: 'SUCCEEDED', output: stringify(output) }),
      (error: unknown) => this.#finishRun(run, this.#classifyFailure(error)),
    );
    run.done = Promise.all([consumed, settled]).then(
      () => {
        this.#running.delete(run);
      },
      (error: unknown) => {
        this.#internalErrors.push(error);
        this.#running.delete(run);
      },
    );
  }

  #classifyFailure(error: unknown): Pick<ExecutionRecord, 'status' | 'error' | 'cause'> {
    const { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError } = this.#interpreter;
    if (error instanceof ExecutionAbortedError) return { status: 'ABORTED' };
    if (error instanceof ExecutionTimeoutError) return { status: 'TIMED_OUT', error: 'States.Timeout' };
    const failure = error instanceof ExecutionError && error.cause instanceof Error ? error.cause : error;
    if (failure instanceof Error)
      return { status: 'FAILED', ...normalizeFailure(failure.name, failure.message) };
    return { status: 'FAILED', error: 'Error', cause: String(failure) };
  }

  #finishRun(run: RunState, outcome: Pick<ExecutionRecord, 'status' | 'output' | 'error' | 'cause'>): void {
    if (run.finished) return;
    run.finished = true;
    const execution = run.execution;
    execution.status = outcome.status;
    if (outcome.output !== undefined) execution.output = outcome.output;
    if (outcome.error !== undefined) execution.error = outcome.error;
    if (outcome.cause !== undefined) execution.cause = outcome.cause;
    execution.stopDate = this.#now();
    this.#release(run);
    this.#emitStatusChange(execution);
  }

  #emitStatusChange(execution: ExecutionRecord): void {
    const listener = this.#options.onExecutionStatusChange;
    if (!listener) return;
    const time = execution.stopDate ?? this.#now();
    listener({
      version: '0',
      id: randomUUID(),
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      account: ACCOUNT_ID,
      time: new Date(time).toISOString(),
      region: REGION,
      resources: [execution.arn],
      detail: {
        executionArn: execution.arn,
        stateMachineArn: this.stateMachineArn,
        name: execution.name,
        status: execution.status,
        startDate: execution.startDate,
        stopDate: execution.stopDate ?? null,
        input: execution.input,
        output: execution.output ?? null,
        error: execution.error ?? null,
        cause: execution.cause ?? null,
      },
    });
  }

  #stop(execution: ExecutionRecord, error: string | undefined, cause: string | undefined): void {
    const run = execution.run;
    run.finished = true;
    run.stopDetails = {};
    if (error !== undefined) run.stopDetails.error = error;
    if (cause !== undefined) run.stopDetails.cause = cause;
    execution.status = 'ABORTED';
    if (error !== undefined) execution.error = error;
    if (cause !== undefined) execution.cause = cause;
    execution.stopDate = this.#now();
    run.aborted = true;
    run.abort();
    this.#release(run);
    this.#emitStatusChange(execution);
  }

  /** The run is over: close its task tokens and reject whatever handler is still in flight (a handler that
   *  never returns, an aborted Map iteration), so the interpreter releases its timers. */
  #release(run: RunState): void {
    run.aborted = true;
    for (const record of run.tokens) {
      if (record.status === 'PENDING') {
        record.status = 'CLOSED';
        this.#clearTokenTimers(record);
      }
    }
    const stopped = new ExecutionStoppedError();
    for (const reject of [...run.pending]) reject(stopped);
  }

  #roleArn(): string {
    return `arn:${PARTITION}:iam::${ACCOUNT_ID}:role/local-step-functions`;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Task handlers (called by the interpreter)
  // -------------------------------------------------------------------------------------------------------------

  /** Deliberately not async: a callback task arms its timeout timer before the interpreter arms its own. */
  #handleTask(run: RunState, stateName: string, input: JSONValue): Promise<JSONValue> {
    if (run.aborted) return Promise.reject(new ExecutionStoppedError());
    if (this.#convertedWaits.has(stateName)) return this.#waitTask(run, stateName, input);
    const state = this.#states.get(stateName) as AnyState;
    const resource = state.Resource as string;
    try {
      if (resource === LAMBDA_INVOKE_CALLBACK) return this.#callbackTask(run, stateName, state, input);
      if (resource === LAMBDA_INVOKE) return this.#track(run, this.#invokeTask(run, stateName, state, input));
      return this.#track(run, this.#lambdaTask(run, stateName, state, input));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #lambdaTask(run: RunState, stateName: string, state: AnyState, input: JSONValue): Promise<JSONValue> {
    const resource = state.Resource as string;
    const payload = toJson(input);
    this.#rejectTokenPlaceholder(payload, stateName);
    const invocation: InvocationRecord = {
      integration: 'lambda',
      resource,
      functionArn: resource,
      payload,
      ...this.#timeouts(state),
    };
    this.#pushInvocation(run, stateName, invocation);
    const result = await this.#invokeFunction(functionNameFromArn(resource), resource, payload);
    invocation.result = result;
    return result;
  }

  async #invokeTask(run: RunState, stateName: string, state: AnyState, input: JSONValue): Promise<JSONValue> {
    const parameters = toJson(input);
    const { functionName, functionArn, payload } = this.#invokeParameters(parameters, stateName);
    this.#rejectTokenPlaceholder(payload, stateName);
    const invocation: InvocationRecord = {
      integration: 'invoke',
      resource: 'invoke',
      functionArn,
      payload,
      parameters,
      ...this.#timeouts(state),
    };
    this.#pushInvocation(run, stateName, invocation);
    const result = this.#invokeResponse(await this.#invokeFunction(functionName, functionArn, payload));
    invocation.result = result;
    return result;
  }

  #callbackTask(run: RunState, stateName: string, state: AnyState, input: JSONValue): Promise<JSONValue> {
    const token = `${TOKEN_PREFIX}${randomBytes(48).toString('base64url')}`;
    const evaluated = deepMapStrings(toJson(input), (text) =>
      text.replaceAll(TOKEN_PLACEHOLDER, token),
    ) as JSONValue;
    const { functionName, functionArn, payload } = this.#invokeParameters(evaluated, stateName);
    const invocation: InvocationRecord = {
      integration: 'callback',
      resource: 'invoke.waitForTaskToken',
      functionArn,
      payload,
      parameters: evaluated,
      ...this.#timeouts(state),
    };
    this.#pushInvocation(run, stateName, invocation);
    const waiting = deferred<JSONValue>();
    const record: TaskTokenRecord = {
      token,
      run,
      stateName,
      status: 'PENDING',
      invocation,
      resolve: waiting.resolve,
      reject: waiting.reject,
    };
    this.#tokens.set(token, record);
    run.tokens.add(record);
    // Same delay, armed first: this fires just before the interpreter's own timer rejects the task with its
    // States.Timeout, so a late SendTaskSuccess gets TaskTimedOut.
    const timeoutSeconds = this.#taskTimeoutSeconds.get(stateName);
    if (timeoutSeconds !== undefined) {
      record.timeoutTimer = this.#clock.setTimeout(() => {
        if (record.status === 'PENDING') {
          record.status = 'TIMED_OUT';
          this.#clearTokenTimers(record);
        }
      }, timeoutSeconds * 1e3);
    }
    if (typeof state.HeartbeatSeconds === 'number') {
      record.heartbeatMs = Math.min(state.HeartbeatSeconds * 1000 * this.#scale, MAX_TIMER_SECONDS * 1000);
      this.#armHeartbeat(record);
    }
    this.#invokeFunction(functionName, functionArn, payload).then(
      (output) => {
        invocation.submitted = this.#invokeResponse(output);
      },
      (error: unknown) => {
        this.#completeToken(
          record,
          'FAILED',
          undefined,
          error instanceof Error ? error : functionError(error),
        );
      },
    );
    return this.#track(run, waiting.promise);
  }

  async #waitTask(run: RunState, stateName: string, input: JSONValue): Promise<JSONValue> {
    const {
      input: passThrough,
      seconds,
      timestamp,
    } = (isObject(input) ? input : {}) as Record<string, unknown>;
    let ms: number;
    if (seconds !== undefined) {
      if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0) {
        throw runtimeError(`Wait state "${stateName}": SecondsPath must point to a non-negative integer`);
      }
      ms = seconds * 1000 * this.#scale;
    } else {
      const at = typeof timestamp === 'string' ? Date.parse(timestamp) : Number.NaN;
      if (Number.isNaN(at))
        throw runtimeError(`Wait state "${stateName}": invalid timestamp ${String(timestamp)}`);
      ms = Math.max(0, at - this.#now()) * this.#scale;
    }
    let timer: ClockTimer | undefined;
    const slept = new Promise<void>((resolve) => {
      timer = this.#clock.setTimeout(resolve, Math.min(ms, MAX_TIMER_SECONDS * 1000));
    });
    await this.#track(run, slept, () => this.#clearTimer(timer));
    return (passThrough ?? null) as JSONValue;
  }

  #invokeParameters(
    parameters: JSONValue,
    stateName: string,
  ): { functionName: string; functionArn: string; payload: JSONValue } {
    if (!isObject(parameters) || typeof parameters.FunctionName !== 'string') {
      throw runtimeError(`Task state "${stateName}": Parameters.FunctionName is required`);
    }
    let functionName: string;
    try {
      functionName = functionNameFromArn(parameters.FunctionName);
    } catch (error) {
      throw new TaskFailedError('Lambda.InvalidParameterValueException', (error as Error).message);
    }
    const functionArn = parameters.FunctionName.startsWith('arn:')
      ? parameters.FunctionName
      : `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT_ID}:function:${functionName}`;
    const payload = (parameters.Payload === undefined ? {} : parameters.Payload) as JSONValue;
    return { functionName, functionArn, payload };
  }

  #invokeResponse(payload: JSONValue): JSONValue {
    const requestId = randomUUID();
    return {
      ExecutedVersion: '$LATEST',
      Payload: payload,
      SdkHttpMetadata: {
        AllHttpHeaders: {
          'X-Amz-Executed-Version': ['$LATEST'],
          'x-amzn-Remapped-Content-Length': ['0'],
          Connection: ['keep-alive'],
          'x-amzn-RequestId': [requestId],
          'Content-Type': ['application/json'],
        },
        HttpHeaders: {
          Connection: 'keep-alive',
          'Content-Type': 'application/json',
          'X-Amz-Executed-Version': '$LATEST',
          'x-amzn-RequestId': requestId,
        },
        HttpStatusCode: 200,
      },
      SdkResponseMetadata: { RequestId: requestId },
      StatusCode: 200,
    };
  }

  async #invokeFunction(functionName: string, functionArn: string, payload: JSONValue): Promise<JSONValue> {
    const context = this.#lambdaContext(functionName, functionArn);
    let result: unknown;
    try {
      result = await this.#options.invoke(functionName, toJson(payload), context);
      return toJson(result);
    } catch (error) {
      throw functionError(error);
    }
  }

  #lambdaContext(functionName: string, invokedFunctionArn: string): LambdaInvocationContext {
    const now = this.#now;
    const deadline = now() + LAMBDA_TIMEOUT_SECONDS * 1000;
    const day = new Date(now()).toISOString().slice(0, 10).replaceAll('-', '/');
    const unsupported = (): never => {
      throw new Error('context.done/fail/succeed are not supported: return a value or throw');
    };
    return {
      callbackWaitsForEmptyEventLoop: true,
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn,
      memoryLimitInMB: '1024',
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
      done: unsupported,
      fail: unsupported,
      succeed: unsupported,
    };
  }

  #rejectTokenPlaceholder(payload: unknown, stateName: string): void {
    if (containsString(payload, TOKEN_PLACEHOLDER)) {
      throw runtimeError(
        `Task state "${stateName}": $$.Task.Token is only available to .waitForTaskToken integrations`,
      );
    }
  }

  #timeouts(state: AnyState): Pick<InvocationRecord, 'timeoutSeconds' | 'heartbeatSeconds'> {
    const result: Pick<InvocationRecord, 'timeoutSeconds' | 'heartbeatSeconds'> = {};
    if (typeof state.TimeoutSeconds === 'number') result.timeoutSeconds = state.TimeoutSeconds;
    if (typeof state.HeartbeatSeconds === 'number') result.heartbeatSeconds = state.HeartbeatSeconds;
    return result;
  }

  #pushInvocation(run: RunState, stateName: string, invocation: InvocationRecord): void {
    const queue = run.invocations.get(stateName);
    if (queue) queue.push(invocation);
    else run.invocations.set(stateName, [invocation]);
  }

  /** Settles with `work`, or rejects with ExecutionStoppedError as soon as the run is released. */
  #track<T>(run: RunState, work: Promise<T>, onStop?: () => void): Promise<T> {
    if (run.aborted) {
      onStop?.();
      work.catch(() => {});
      return Promise.reject(new ExecutionStoppedError());
    }
    return new Promise<T>((resolve, reject) => {
      const stop = (error: Error): void => {
        run.pending.delete(stop);
        onStop?.();
        reject(error);
      };
      run.pending.add(stop);
      work.then(
        (value) => {
          run.pending.delete(stop);
          resolve(value);
        },
        (error: unknown) => {
          run.pending.delete(stop);
          reject(error);
        },
      );
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Task tokens
  // -------------------------------------------------------------------------------------------------------------

  #lookupToken(token: unknown): TaskTokenRecord {
    if (typeof token !== 'string' || !TOKEN_FORMAT.test(token)) {
      throw new ServiceError('InvalidToken', `Invalid Token: '${String(token)}'`);
    }
    const record = this.#tokens.get(token);
    if (!record) throw new ServiceError('TaskDoesNotExist', 'Task Does Not Exist');
    if (record.status === 'TIMED_OUT' || record.status === 'CLOSED') {
      throw new ServiceError('TaskTimedOut', "Task Timed Out: 'Provided task does not exist anymore'");
    }
    if (record.status !== 'PENDING') throw new ServiceError('TaskDoesNotExist', 'Task Does Not Exist');
    return record;
  }

  #completeToken(
    record: TaskTokenRecord,
    status: 'SUCCEEDED' | 'FAILED',
    output?: JSONValue,
    error?: Error,
  ): void {
    if (record.status !== 'PENDING') return;
    record.status = status;
    this.#clearTokenTimers(record);
    if (status === 'SUCCEEDED') {
      record.invocation.result = output;
      record.resolve(output ?? null);
    } else {
      record.reject(error ?? new TaskFailedError('', ''));
    }
  }

  #armHeartbeat(record: TaskTokenRecord): void {
    if (record.heartbeatMs === undefined) return;
    this.#clearTimer(record.heartbeatTimer);
    record.heartbeatTimer = this.#clock.setTimeout(() => {
      if (record.status !== 'PENDING') return;
      record.status = 'TIMED_OUT';
      this.#clearTokenTimers(record);
      record.reject(new TaskFailedError('States.HeartbeatTimeout', ''));
    }, record.heartbeatMs);
  }

  #clearTokenTimers(record: TaskTokenRecord): void {
    this.#clearTimer(record.timeoutTimer);
    this.#clearTimer(record.heartbeatTimer);
  }

  #clearTimer(timer: ClockTimer | undefined): void {
    if (timer !== undefined) this.#clock.clearTimeout(timer);
  }

  // -------------------------------------------------------------------------------------------------------------
  // History (from the interpreter's event log)
  // -------------------------------------------------------------------------------------------------------------

  /** Like AWS, previousEventId links each event to the one before it in its own thread (the top level or one
   *  Map iteration), so a failure can be followed back to the state it happened in. */
  #append(run: RunState, type: HistoryEventType, details: Partial<HistoryEvent> = {}): void {
    const history = run.execution.history;
    const id = history.length + 1;
    const thread = run.thread;
    const previousEventId = run.lastEventIds.get(type === 'MapIterationStarted' ? TOP_THREAD : thread) ?? 0;
    history.push({ timestamp: new Date(this.#now()), type, id, previousEventId, ...details });
    run.lastEventIds.set(thread, id);
    if (type === 'MapIterationSucceeded' || type === 'MapIterationFailed')
      run.lastEventIds.set(TOP_THREAD, id);
  }

  /** Records where the execution got to, for a re-drive: the top-level state entered last and its input, and
   *  for a Map each iteration's current state and input, or its output once it succeeded. */
  #trackProgress(run: RunState, event: EventLog): void {
    const progress = run.execution.progress;
    const iteration = (index: number): Iteration => {
      const found = progress.iterations.get(index) ?? { succeeded: false };
      progress.iterations.set(index, found);
      return found;
    };
    if (event.type === 'StateEntered' && event.index === undefined) {
      if (!this.#topLevelStates.has(event.state.name)) return;
      // A re-drive entering the state it resumes keeps the iterations recorded so far; any other entry of a
      // Map starts it over.
      if (run.resumeAt !== event.state.name) progress.iterations = new Map();
      run.resumeAt = undefined;
      progress.open = { name: event.state.name, input: toJson(event.state.input) };
      return;
    }
    if (event.type === 'StateExited' && event.index === undefined) {
      if (event.state.name === progress.open?.name) run.skippedIterations.clear();
      return;
    }
    const processorStates = progress.open && this.#mapStates.get(progress.open.name);
    if (!processorStates) return;
    if (event.type === 'StateEntered' && processorStates.has(event.state.name)) {
      iteration(event.index as number).open = { name: event.state.name, input: toJson(event.state.input) };
    } else if (event.type === 'StateExited' && event.index !== undefined) {
      iteration(event.index).output = toJson(event.state.output);
    } else if (event.type === 'MapIterationSucceeded' && event.parentState.name === progress.open?.name) {
      iteration(event.index).succeeded = true;
    }
  }

  #recordEvent(run: RunState, event: EventLog): void {
    const execution = run.execution;
    this.#trackProgress(run, event);
    if ('state' in event && isResumeState(event.state.name)) return;
    if (
      (event.type === 'MapIterationStarted' || event.type === 'MapIterationSucceeded') &&
      event.parentState.name === execution.progress.open?.name &&
      run.skippedIterations.has(event.index)
    ) {
      return;
    }
    run.thread = 'index' in event && event.index !== undefined ? String(event.index) : TOP_THREAD;
    switch (event.type) {
      case 'ExecutionStarted':
        if (run.redrive) {
          // "Execution redrives are considered as state transitions" (Step Functions developer guide,
          // "Redriving executions").
          execution.transitions += 1;
          this.#append(run, 'ExecutionRedriven', {
            executionRedrivenEventDetails: { redriveCount: execution.redriveCount },
          });
        } else {
          this.#append(run, 'ExecutionStarted', {
            executionStartedEventDetails: {
              input: execution.input,
              inputDetails: { truncated: false },
              roleArn: this.#roleArn(),
            },
          });
        }
        return;
      case 'StateEntered': {
        execution.transitions += 1;
        const key = `${event.index ?? '-'}|${event.state.name}`;
        const type = this.#stateType(event.state.name, event.state.type);
        run.failedStates.delete(key);
        this.#append(run, `${type}StateEntered` as HistoryEventType, {
          stateEnteredEventDetails: {
            name: event.state.name,
            input: stringify(event.state.input),
            inputDetails: { truncated: false },
          },
        });
        if (this.#isTask(event.state.name)) this.#beginTaskAttempt(run, key, event.state.name);
        return;
      }
      case 'StateRetried': {
        execution.transitions += 1;
        const key = `${event.index ?? '-'}|${event.state.name}`;
        run.failedStates.delete(key);
        if (this.#isTask(event.state.name)) this.#beginTaskAttempt(run, key, event.state.name);
        return;
      }
      case 'StateFailed': {
        const key = `${event.index ?? '-'}|${event.state.name}`;
        const type = this.#stateType(event.state.name, event.state.type);
        run.failedStates.add(key);
        const { error, cause } = normalizeFailure(event.Error, event.Cause);
        if (this.#isTask(event.state.name)) {
          const invocation = run.openTasks.get(key);
          run.openTasks.delete(key);
          if (invocation) this.#taskFailedEvents(run, invocation, error, cause);
        } else if (type === 'Map') {
          this.#append(run, 'MapStateFailed');
        }
        return;
      }
      case 'StateCaught':
        return;
      case 'StateExited': {
        const key = `${event.index ?? '-'}|${event.state.name}`;
        const type = this.#stateType(event.state.name, event.state.type);
        const failed = run.failedStates.delete(key);
        if (this.#isTask(event.state.name)) {
          const invocation = run.openTasks.get(key);
          run.openTasks.delete(key);
          if (invocation && !failed) this.#taskSucceededEvents(run, invocation);
        } else if (type === 'Map' && !failed) {
          this.#append(run, 'MapStateSucceeded');
        }
        this.#append(run, `${type}StateExited` as HistoryEventType, {
          stateExitedEventDetails: {
            name: event.state.name,
            output: stringify(event.state.output),
            outputDetails: { truncated: false },
          },
        });
        return;
      }
      case 'MapIterationStarted':
        this.#append(run, 'MapIterationStarted', {
          mapIterationStartedEventDetails: { name: event.parentState.name, index: event.index },
        });
        return;
      case 'MapIterationSucceeded':
        this.#append(run, 'MapIterationSucceeded', {
          mapIterationSucceededEventDetails: { name: event.parentState.name, index: event.index },
        });
        return;
      case 'MapIterationFailed':
        this.#append(run, 'MapIterationFailed', {
          mapIterationFailedEventDetails: { name: event.parentState.name, index: event.index },
        });
        return;
      case 'ExecutionSucceeded':
        this.#append(run, 'ExecutionSucceeded', {
          executionSucceededEventDetails: {
            output: stringify(event.output),
            outputDetails: { truncated: false },
          },
        });
        return;
      case 'ExecutionFailed':
        this.#append(run, 'ExecutionFailed', {
          executionFailedEventDetails: normalizeFailure(event.Error, event.Cause),
        });
        return;
      case 'ExecutionAborted':
        this.#append(run, 'ExecutionAborted', { executionAbortedEventDetails: { ...run.stopDetails } });
        return;
      case 'ExecutionTimeout':
        this.#append(run, 'ExecutionTimedOut', {
          executionTimedOutEventDetails: { error: 'States.Timeout' },
        });
        return;
      default:
        // Parallel branch events: a definition with a Parallel state is refused at start.
        return;
    }
  }

  #stateType(name: string, interpreterType: string): string {
    return (this.#states.get(name)?.Type as string | undefined) ?? interpreterType;
  }

  #isTask(name: string): boolean {
    return this.#states.get(name)?.Type === 'Task';
  }

  #beginTaskAttempt(run: RunState, key: string, stateName: string): void {
    // Handlers run synchronously right after the interpreter dispatches StateEntered/StateRetried, and events
    // are consumed asynchronously, so the invocation (if the state got as far as invoking) is already queued.
    const invocation = run.invocations.get(stateName)?.shift();
    run.openTasks.set(key, invocation);
    if (!invocation) return;
    if (invocation.integration === 'lambda') {
      this.#append(run, 'LambdaFunctionScheduled', {
        lambdaFunctionScheduledEventDetails: {
          resource: invocation.functionArn,
          input: stringify(invocation.payload),
          inputDetails: { truncated: false },
          timeoutInSeconds: invocation.timeoutSeconds,
        },
      });
      this.#append(run, 'LambdaFunctionStarted');
      return;
    }
    this.#append(run, 'TaskScheduled', {
      taskScheduledEventDetails: {
        resourceType: 'lambda',
        resource: invocation.resource,
        region: REGION,
        parameters: stringify(invocation.parameters),
        timeoutInSeconds: invocation.timeoutSeconds,
        heartbeatInSeconds: invocation.heartbeatSeconds,
      },
    });
    this.#append(run, 'TaskStarted', {
      taskStartedEventDetails: { resourceType: 'lambda', resource: invocation.resource },
    });
  }

  #taskSubmitted(run: RunState, invocation: InvocationRecord): void {
    if (invocation.integration === 'callback' && invocation.submitted !== undefined) {
      this.#append(run, 'TaskSubmitted', {
        taskSubmittedEventDetails: {
          resourceType: 'lambda',
          resource: invocation.resource,
          output: stringify(invocation.submitted),
          outputDetails: { truncated: false },
        },
      });
    }
  }

  #taskSucceededEvents(run: RunState, invocation: InvocationRecord): void {
    if (invocation.integration === 'lambda') {
      this.#append(run, 'LambdaFunctionSucceeded', {
        lambdaFunctionSucceededEventDetails: {
          output: stringify(invocation.result),
          outputDetails: { truncated: false },
        },
      });
      return;
    }
    this.#taskSubmitted(run, invocation);
    this.#append(run, 'TaskSucceeded', {
      taskSucceededEventDetails: {
        resourceType: 'lambda',
        resource: invocation.resource,
        output: stringify(invocation.result),
        outputDetails: { truncated: false },
      },
    });
  }

  #taskFailedEvents(
    run: RunState,
    invocation: InvocationRecord,
    error: string | undefined,
    cause: string | undefined,
  ): void {
    const timedOut = error === 'States.Timeout' || error === 'States.HeartbeatTimeout';
    if (invocation.integration === 'lambda') {
      if (timedOut)
        this.#append(run, 'LambdaFunctionTimedOut', { lambdaFunctionTimedOutEventDetails: { error, cause } });
      else this.#append(run, 'LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: { error, cause } });
      return;
    }
    this.#taskSubmitted(run, invocation);
    const details = { resourceType: 'lambda', resource: invocation.resource, error, cause };
    if (timedOut) this.#append(run, 'TaskTimedOut', { taskTimedOutEventDetails: details });
    else this.#append(run, 'TaskFailed', { taskFailedEventDetails: details });
  }
}
