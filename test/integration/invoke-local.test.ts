/**
 * Runs the bundled normalizeInput function through `serverless invoke local` (osls + serverless-esbuild: the
 * same CommonJS bundle that ships, with the environment serverless.yml gives it).
 *
 * Each invocation runs in its own temporary copy of the service (local/serverless-package.ts), because
 * serverless-esbuild builds into `<service>/.esbuild` and two invocations sharing it would race. Both invocations
 * run in parallel.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  printedJson,
  ROOT,
  type Run,
  removeTemporaryDirs,
  serverless,
} from '../../local/serverless-package.js';

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

afterAll(removeTemporaryDirs);

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
