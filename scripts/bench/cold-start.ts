/**
 * Cold start and size of each function as `serverless package` bundles it: the zip's size, and the module-init
 * time (requiring the handler bundle in a fresh Node process, which is what Lambda's init phase does) against
 * two floors — a bare handler, and a bundle that only constructs the AWS SDK clients the function's code
 * constructs (found in its tree-shaken bundle; test/integration/iam.test.ts holds them to its IAM role).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { serverless } from '../../local/serverless-functions.js';
import {
  packageService,
  ROOT,
  removeTemporaryDirs,
  type SdkClient,
  sdkClientsIn,
  unzipFunction,
} from '../../local/serverless-package.js';

/** The product's own factory (lib/aws/clients.ts) for each client, so the floor builds them as a function does. */
const FACTORIES: Record<SdkClient, string> = {
  BackupClient: 'createBackupClient',
  DynamoDBClient: 'createDocumentClient',
  SFNClient: 'createSfnClient',
};

export interface ColdStartOptions {
  /** Fresh processes per module. */
  samples: number;
  onProgress?: (message: string) => void;
}

export interface FunctionColdStart {
  name: string;
  zipBytes: number;
  initMs: number;
  /** The SDK clients the function's code constructs. */
  sdkClients: SdkClient[];
  /** Median init of a bundle that only constructs those clients. */
  floorWithSdkMs: number;
  ratio: number;
}

export interface ColdStartResult {
  samples: number;
  nodeVersion: string;
  floorMs: number;
  functions: FunctionColdStart[];
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** A bundle constructing only `clients`, bundled the way serverless.yml's esbuild settings bundle a function. */
async function sdkFloor(work: string, clients: SdkClient[]): Promise<string> {
  const name = `sdk-${clients.join('-') || 'none'}`;
  const entry = join(work, `${name}.ts`);
  const outfile = join(work, name, 'handler.cjs');
  const factories = clients.map((client) => FACTORIES[client]);
  await writeFile(
    entry,
    `import { ${factories.join(', ')} } from ${JSON.stringify(join(ROOT, 'lib/aws/clients.ts'))};
export const clients = [${factories.map((factory) => `${factory}()`).join(', ')}];
export const handler = async () => ({});\n`,
  );
  const { esbuild } = serverless.custom;
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    minify: esbuild.minify,
    keepNames: esbuild.keepNames,
    target: esbuild.target,
    mainFields: esbuild.mainFields,
    nodePaths: [join(ROOT, 'node_modules')],
    logLevel: 'silent',
  });
  const built = sdkClientsIn(await readFile(outfile, 'utf8'));
  if (built.join() !== clients.join()) throw new Error(`the floor for ${clients} bundles ${built}`);
  return outfile;
}

/** Milliseconds `require(file)` takes in a fresh Node process, with the function's environment. */
function initTime(file: string, env: NodeJS.ProcessEnv): number {
  const script = `const t = process.hrtime.bigint(); require(${JSON.stringify(file)});
process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;
  const run = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`requiring ${file} failed:\n${run.stderr}`);
  return Number(run.stdout);
}

export async function measureColdStart(options: ColdStartOptions): Promise<ColdStartResult> {
  const work = await mkdtemp(join(tmpdir(), 'bench-cold-start-'));
  try {
    options.onProgress?.('packaging with serverless package');
    const { dir: packageDir } = await packageService();

    const lambdaEnv = (name: string): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_LAMBDA_FUNCTION_NAME: name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(serverless.provider.memorySize),
      LEDGER_TABLE: 'backup-copy-orchestrator-dev-ledger',
      POWERTOOLS_SERVICE_NAME: 'backup-copy-orchestrator',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });

    const floor = join(work, 'floor', 'handler.cjs');
    await mkdir(join(work, 'floor'));
    await writeFile(floor, 'exports.handler = async () => ({});\n');

    const subjects: { key: string; file: string; env: NodeJS.ProcessEnv }[] = [
      { key: 'floor', file: floor, env: lambdaEnv('floor') },
    ];
    const functions: Omit<FunctionColdStart, 'initMs' | 'floorWithSdkMs' | 'ratio'>[] = [];
    for (const name of Object.keys(serverless.functions)) {
      const file = await unzipFunction(packageDir, name, join(work, 'functions', name));
      const sdkClients = sdkClientsIn(await readFile(file, 'utf8'));
      functions.push({ name, zipBytes: (await stat(join(packageDir, `${name}.zip`))).size, sdkClients });
      subjects.push({ key: name, file, env: lambdaEnv(name) });
      const floorKey = `sdk:${sdkClients.join(',')}`;
      if (!subjects.some((subject) => subject.key === floorKey)) {
        subjects.push({ key: floorKey, file: await sdkFloor(work, sdkClients), env: lambdaEnv('floor') });
      }
    }

    // Round-robin, so drift in the machine's load spreads over every subject alike.
    const times = new Map<string, number[]>(subjects.map((subject) => [subject.key, []]));
    for (let round = 0; round < options.samples; round++) {
      options.onProgress?.(
        `init time: fresh process ${round + 1}/${options.samples} for each of ${subjects.length} modules`,
      );
      for (const subject of subjects) times.get(subject.key)?.push(initTime(subject.file, subject.env));
    }
    const medianOf = (key: string) => median(times.get(key) ?? []);
    return {
      samples: options.samples,
      nodeVersion: process.version,
      floorMs: medianOf('floor'),
      functions: functions.map((fn) => {
        const initMs = medianOf(fn.name);
        const floorWithSdkMs = medianOf(`sdk:${fn.sdkClients.join(',')}`);
        return { ...fn, initMs, floorWithSdkMs, ratio: initMs / floorWithSdkMs };
      }),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
    await removeTemporaryDirs();
  }
}
