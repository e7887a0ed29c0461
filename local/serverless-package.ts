/**
 * Runs the real toolchain (`serverless package`: osls + serverless-esbuild + serverless-step-functions; no AWS
 * call) and reads the CloudFormation it would deploy.
 *
 * Each run happens in its own temporary service directory: the repository's top-level entries symlinked, and
 * serverless.yml copied (osls refuses a symlinked one). serverless-esbuild builds into `<service>/.esbuild`, so
 * runs never share (or race on, or pick up stale files from) the repository's own `.esbuild`.
 *
 * `renderTemplate` then resolves the template's intrinsic functions the way CloudFormation would for one
 * account and region, so tests can compare the ARNs a policy would really name.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverless as serverlessFile } from './serverless-functions.js';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
const NOT_LINKED = new Set(['.git', '.esbuild', '.serverless', 'coverage', '.sim', 'serverless.yml']);
const ENV = {
  ...process.env,
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  SLS_DEPRECATION_DISABLE: '*',
};

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON.
export type Json = Record<string, any>;

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const temporary: string[] = [];

/** A fresh directory under the OS temp dir, removed by `removeTemporaryDirs`. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}

/** Removes every directory `tempDir` made; call it from `afterAll`. */
export async function removeTemporaryDirs(): Promise<void> {
  await Promise.all(temporary.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

async function serviceCopy(): Promise<string> {
  const dir = await tempDir('sls-service-');
  for (const entry of await readdir(ROOT)) {
    if (!NOT_LINKED.has(entry)) await symlink(join(ROOT, entry), join(dir, entry));
  }
  await copyFile(join(ROOT, 'serverless.yml'), join(dir, 'serverless.yml'));
  return dir;
}

/** Runs `npx serverless <args>` in a fresh service copy; never rejects. Its TMPDIR is removed afterwards too
 *  (serverless-esbuild leaves a staging directory per function there). */
export async function serverless(args: string[]): Promise<Run> {
  const cwd = await serviceCopy();
  const env = { ...ENV, TMPDIR: await tempDir('sls-tmp-') };
  return new Promise((done) => {
    execFile(
      'npx',
      ['serverless', ...args],
      { cwd, env, timeout: 110_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        done({ code, stdout, stderr: error?.killed ? `${stderr}\n(killed: ${error.signal})` : stderr });
      },
    );
  });
}

/** The JSON object invoke local prints: from the first line that opens `{` to the last line that closes it. */
// biome-ignore lint/suspicious/noExplicitAny: the printed result is untyped JSON.
export function printedJson(run: Run): Record<string, any> {
  const start = run.stdout.search(/^\{/m);
  const end = run.stdout.lastIndexOf('\n}');
  const found = start >= 0 && end > start;
  const text = found ? run.stdout.slice(start, end + 2) : '';
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`no JSON object in the output (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

export const readJson = async (path: string): Promise<Json> => JSON.parse(await readFile(path, 'utf8'));

/** `serverless package` into a new directory; resolves to that directory and the update-stack template.
 *  Rejects with the tool's output when packaging fails. */
export async function packageService(args: string[] = []): Promise<{ dir: string; template: Json }> {
  const dir = await tempDir('sls-package-');
  const run = await serverless(['package', '--package', dir, ...args]);
  if (run.code !== 0) {
    throw new Error(`serverless package failed (exit ${run.code}):\n${run.stderr}\n${run.stdout}`);
  }
  return { dir, template: await readJson(join(dir, 'cloudformation-template-update-stack.json')) };
}

/**
 * The AWS SDK clients a function can construct, by class name, with the IAM service prefix of the API it calls.
 * Each function's bundle must hold exactly the clients of the services its role allows (test/integration/iam.test.ts).
 */
export const SDK_CLIENTS = {
  BackupClient: 'backup',
  DynamoDBClient: 'dynamodb',
  SFNClient: 'states',
} as const;
export type SdkClient = keyof typeof SDK_CLIENTS;

/**
 * The SDK client classes in a bundle, found by the name esbuild's keepNames registers for each class
 * (`__name(this, "BackupClient")`; a command's mention of its client does not count). esbuild keeps only the
 * code a function's handler reaches, so these are the clients its code constructs.
 */
export function sdkClientsIn(bundle: string): SdkClient[] {
  return (Object.keys(SDK_CLIENTS) as SdkClient[]).filter((client) =>
    new RegExp(`\\(\\s*[\\w$]+\\s*,\\s*"${client}"\\s*\\)`).test(bundle),
  );
}

/** Unzips function `name` of a `serverless package` directory into `into`; resolves to its handler bundle. */
export async function unzipFunction(packageDir: string, name: string, into: string): Promise<string> {
  const handler = serverlessFile.functions[name]?.handler;
  if (!handler) throw new Error(`no function ${name} in serverless.yml`);
  await mkdir(into, { recursive: true });
  await new Promise<void>((done, fail) =>
    execFile('unzip', ['-q', '-o', join(packageDir, `${name}.zip`), '-d', into], (error) =>
      error ? fail(error) : done(),
    ),
  );
  return join(into, handler.replace(/\.handler$/, '.cjs'));
}

/** Where `renderTemplate` deploys: CloudFormation's pseudo parameters. */
export interface Deployment {
  partition: string;
  region: string;
  accountId: string;
}

const NO_VALUE = Symbol('AWS::NoValue');

/**
 * The template as CloudFormation would resolve it in `deployment`: conditions evaluated, `Fn::If` branches
 * chosen, `AWS::NoValue` removed, and every Ref, Fn::GetAtt, Fn::Sub and Fn::Join replaced by its string.
 * Resources are named by their name property (or their logical id), so a Ref or an ARN reads like the real one.
 * Conditional resources and unknown functions throw: what this cannot resolve, a test must not guess.
 */
export function renderTemplate(template: Json, deployment: Deployment): Json {
  const resources: Record<string, Json> = template.Resources;
  const pseudo: Record<string, string> = {
    'AWS::Partition': deployment.partition,
    'AWS::Region': deployment.region,
    'AWS::AccountId': deployment.accountId,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': 'stack',
  };
  const conditions = new Map<string, boolean>();
  const here = (service: string) => `arn:${deployment.partition}:${service}:${deployment.region}`;

  const property = (id: string, name: string): string => {
    const value = resources[id]?.Properties?.[name];
    return value === undefined ? id : String(resolveValue(value));
  };
  const ref = (id: string): string => {
    if (id in pseudo) return pseudo[id] as string;
    const resource = resources[id];
    if (!resource) throw new Error(`Ref to unknown ${id}`);
    switch (resource.Type) {
      case 'AWS::Lambda::Function':
        return property(id, 'FunctionName');
      case 'AWS::Logs::LogGroup':
        return property(id, 'LogGroupName');
      case 'AWS::DynamoDB::Table':
        return property(id, 'TableName');
      case 'AWS::StepFunctions::StateMachine':
        return getAtt(id, 'Arn');
      case 'AWS::SQS::Queue':
        return `https://sqs.${deployment.region}.amazonaws.com/${deployment.accountId}/${id}`;
      default:
        return id;
    }
  };
  const getAtt = (id: string, attribute: string): string => {
    const resource = resources[id];
    if (!resource) throw new Error(`Fn::GetAtt of unknown ${id}`);
    if (attribute === 'QueueName' && resource.Type === 'AWS::SQS::Queue') return id;
    if (attribute !== 'Arn') throw new Error(`Fn::GetAtt ${id}.${attribute} is not rendered`);
    const account = deployment.accountId;
    switch (resource.Type) {
      case 'AWS::Lambda::Function':
        return `${here('lambda')}:${account}:function:${ref(id)}`;
      case 'AWS::Logs::LogGroup':
        return `${here('logs')}:${account}:log-group:${ref(id)}:*`;
      case 'AWS::DynamoDB::Table':
        return `${here('dynamodb')}:${account}:table/${ref(id)}`;
      case 'AWS::StepFunctions::StateMachine':
        return `${here('states')}:${account}:stateMachine:${property(id, 'StateMachineName')}`;
      case 'AWS::SQS::Queue':
        return `${here('sqs')}:${account}:${id}`;
      case 'AWS::Events::Rule':
        return `${here('events')}:${account}:rule/${id}`;
      case 'AWS::IAM::Role':
        return `arn:${deployment.partition}:iam::${account}:role/${id}`;
      default:
        throw new Error(`Fn::GetAtt ${id}.Arn of a ${resource.Type} is not rendered`);
    }
  };
  const sub = (text: string, variables: Record<string, unknown>): string =>
    text.replace(/\$\{([^}]*)\}/g, (_, name: string) => {
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      if (name in variables) return String(resolveValue(variables[name]));
      const [id, attribute] = name.split('.') as [string, string | undefined];
      return attribute ? getAtt(id, attribute) : ref(id);
    });
  const condition = (name: string): boolean => {
    if (!conditions.has(name)) {
      const definition = template.Conditions?.[name];
      if (definition === undefined) throw new Error(`unknown condition ${name}`);
      conditions.set(name, Boolean(resolveValue(definition)));
    }
    return conditions.get(name) as boolean;
  };

  function resolveValue(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(resolveValue).filter((item) => item !== NO_VALUE);
    if (!value || typeof value !== 'object') return value;
    const entries = Object.entries(value);
    const [first] = entries;
    if (entries.length === 1 && first && (first[0] === 'Ref' || first[0].startsWith('Fn::'))) {
      const [name, argument] = first as [string, unknown];
      const args = argument as unknown[];
      switch (name) {
        case 'Ref':
          return argument === 'AWS::NoValue' ? NO_VALUE : ref(argument as string);
        case 'Fn::GetAtt': {
          const [id, attribute] = Array.isArray(argument) ? argument : String(argument).split('.');
          return getAtt(id, attribute);
        }
        case 'Fn::Sub':
          return Array.isArray(argument)
            ? sub(args[0] as string, args[1] as Record<string, unknown>)
            : sub(argument as string, {});
        case 'Fn::Join':
          return (resolveValue(args[1]) as unknown[]).join(args[0] as string);
        case 'Fn::If':
          return resolveValue(condition(args[0] as string) ? args[1] : args[2]);
        case 'Fn::Equals':
          return JSON.stringify(resolveValue(args[0])) === JSON.stringify(resolveValue(args[1]));
        case 'Fn::Not':
          return !resolveValue(args[0]);
        case 'Fn::And':
          return args.every((item) => resolveValue(item));
        case 'Fn::Or':
          return args.some((item) => resolveValue(item));
        default:
          throw new Error(`${name} is not rendered`);
      }
    }
    return Object.fromEntries(
      entries
        .map(([key, item]) => [key, resolveValue(item)] as const)
        .filter(([, item]) => item !== NO_VALUE),
    );
  }

  // Like CloudFormation: a resource whose Condition is false is not created.
  const created = Object.entries(resources).filter(
    ([, resource]) => !resource.Condition || condition(resource.Condition),
  );
  return {
    ...template,
    Resources: Object.fromEntries(
      created.map(([id, resource]) => [
        id,
        { ...resource, Properties: resolveValue(resource.Properties ?? {}) },
      ]),
    ),
  };
}
