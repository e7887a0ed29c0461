/**
 * serverless.yml is the source of truth for the functions (names, handlers, memory, timeout) and the two
 * EventBridge rules' patterns; LocalService (simulate, npm run local, the benchmarks, the tests) builds its Lambdas from it.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import { parse } from 'yaml';
import type { Runtime } from '../lib/runtime.js';

const root = new URL('../', import.meta.url);

interface ServerlessFile {
  service: string;
  provider: { memorySize: number; timeout: number };
  custom: {
    esbuild: { minify: boolean; keepNames: boolean; target: string; mainFields: string[] };
    ledgerTableName: string;
    stateMachineName: string;
  };
  functions: Record<string, { handler: string; events?: { eventBridge?: { pattern: unknown } }[] }>;
  stepFunctions: { stateMachines: { copyRecoveryPoint: { events: { eventBridge: { event: unknown } }[] } } };
}

export const serverless = parse(readFileSync(new URL('serverless.yml', root), 'utf8')) as ServerlessFile;
export const intakePattern =
  serverless.stepFunctions.stateMachines.copyRecoveryPoint.events[0]?.eventBridge.event;
export const copyJobEventsPattern = serverless.functions.copyJobEvents?.events?.[0]?.eventBridge?.pattern;

/** The releaseCopySlots rule's pattern, its `${param:stateMachineArn}` resolved to `stateMachineArn`. */
export function executionStatusPattern(stateMachineArn: string): unknown {
  const pattern = serverless.functions.releaseCopySlots?.events?.[0]?.eventBridge?.pattern as
    | { detail?: Record<string, unknown> }
    | undefined;
  if (!pattern) throw new Error('serverless.yml declares no releaseCopySlots rule');
  return { ...pattern, detail: { ...pattern.detail, stateMachineArn: [stateMachineArn] } };
}

/** A name from serverless.yml's `custom` as it resolves for `stage` (`${self:service}`, `${sls:stage}`). */
export const stageName = (name: 'ledgerTableName' | 'stateMachineName', stage = 'dev'): string =>
  // biome-ignore lint/suspicious/noTemplateCurlyInString: serverless.yml's variables, not JavaScript's
  serverless.custom[name].replaceAll('${self:service}', serverless.service).replaceAll('${sls:stage}', stage);

export type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** Imports each function's real handler module and builds its handler over `runtime`. */
export async function loadHandlers(runtime: () => Runtime): Promise<Record<string, Handler>> {
  const entries = await Promise.all(
    Object.entries(serverless.functions).map(async ([name, fn]) => {
      const file = fn.handler.replace(/\.handler$/, '.ts');
      const module = (await import(new URL(file, root).href)) as {
        createHandler: (deps: () => Runtime) => Handler;
      };
      return [name, module.createHandler(runtime)] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/**
 * A Lambda context for `functionName`; `remainingMs` is what middy's timeout sees (default the function's), and
 * `deployment` the account and Region of its invokedFunctionArn.
 */
export function lambdaContext(
  functionName: string,
  remainingMs = serverless.provider.timeout * 1000,
  deployment = { region: 'us-east-1', accountId: '123456789012' },
): Context {
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${deployment.region}:${deployment.accountId}:function:${functionName}`,
    memoryLimitInMB: String(serverless.provider.memorySize),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => remainingMs,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
