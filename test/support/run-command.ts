import { execFile } from 'node:child_process';
import { localCommandEnvironment } from '../../local/dynamodb-local.js';

export const ROOT = new URL('../../', import.meta.url).pathname;

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The node arguments that run one of scripts/ as `npm run` does. */
export const scriptArguments = (script: string, args: readonly string[]) => [
  '--no-warnings',
  '--import',
  'tsx',
  `scripts/${script}`,
  ...args,
];

/**
 * Runs scripts/<script> as a child process and resolves with its exit code and output, whatever the code.
 * Asynchronous on purpose: local services answering the command may run in the test's process.
 */
export function runCommand(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = localCommandEnvironment({}),
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      scriptArguments(script, args),
      { cwd: ROOT, env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (error as { code?: unknown }).code : 0;
        if (typeof code !== 'number') reject(error);
        else resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A usage error as the contract wants it: one line on stderr, no stack trace. */
export function usageLine(result: CommandResult): string {
  const lines = result.stderr.trim().split('\n');
  if (lines.length !== 1 || /^\s+at /m.test(result.stderr))
    throw new Error(`expected one line on stderr, got:\n${result.stderr}`);
  return lines[0] ?? '';
}
