/**
 * Runs the bundled normalizeInput function through `serverless invoke local` (osls + serverless-esbuild: the
 * same CommonJS bundle that ships, with the environment serverless.yml gives it).
 *
 * Each invocation runs in its own temporary service directory (the repository's top-level entries symlinked,
 * serverless.yml copied: osls refuses a symlinked one), because serverless-esbuild builds into
 * `<service>/.esbuild` and two invocations sharing it would race. Both invocations run in parallel.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const NOT_LINKED = new Set(['.git', '.esbuild', '.serverless', 'coverage', '.sim', 'serverless.yml']);
const ENV = {
  ...process.env,
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  SLS_DEPRECATION_DISABLE: '*',
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const temporary: string[] = [];

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}

async function serviceCopy(): Promise<string> {
  const dir = await tempDir('sls-invoke-');
  for (const entry of await readdir(ROOT)) {
    if (!NOT_LINKED.has(entry)) await symlink(join(ROOT, entry), join(dir, entry));
  }
  await copyFile(join(ROOT, 'serverless.yml'), join(dir, 'serverless.yml'));
  return dir;
}

/** Runs `npx serverless <args>` in a fresh service copy, with its own TMPDIR; never rejects. */
async function serverless(args: string[]): Promise<Run> {
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
function printedJson(run: Run): Record<string, any> {
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

const invoke = (...input: string[]) => serverless(['invoke', 'local', '-f', 'normalizeInput', ...input]);

let event: { resources: string[] };
let good: Run;
let bad: Run;

beforeAll(async () => {
  event = JSON.parse(await readFile(join(ROOT, 'events/backup-job-completed.json'), 'utf8'));
  [good, bad] = await Promise.all([
    invoke('--path', 'events/backup-job-completed.json'),
    invoke('--data', JSON.stringify({ recoveryPointArn: 'nope', sourceBackupVaultName: 'x' })),
  ]);
});

afterAll(async () => {
  await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('serverless invoke local -f normalizeInput', () => {
  it('turns a Backup Job State Change into a copy request', () => {
    expect(good.code, `${good.stdout}\n${good.stderr}`).toBe(0);
    expect(printedJson(good)).toMatchObject({
      recoveryPointArn: event.resources[0],
      sourceBackupVaultName: 'primary',
      origin: 'Backup Job State Change',
    });
  });

  it('refuses a bad input with an InvalidInputError naming the field', () => {
    expect(bad.code, `${bad.stdout}\n${bad.stderr}`).not.toBe(0);
    const error = printedJson(bad);
    // Lambda reports `error.name` as the errorType (what the state machine's Catch matches); invoke local prints
    // `constructor.name` instead, which the minified bundle renames, so the name is read from the stack trace.
    expect(error.stackTrace?.[0]).toMatch(/^InvalidInputError: /);
    expect(error.errorMessage).toMatch(/recoveryPointArn \("nope"\)/);
    expect(error.errorMessage).toMatch(/sourceBackupVaultName \("x"\)/);
  });
});
