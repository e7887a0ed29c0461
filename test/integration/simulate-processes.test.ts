import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { localCommandEnvironment } from '../../local/dynamodb-local.js';
import { ROOT, scriptArguments } from '../support/run-command.js';

interface ProcessInfo {
  pid: number;
  ppid: number;
  state: string;
  command: string;
}

/** Every process on the machine, from /proc/<pid>/stat (`pid (comm) state ppid ...`). */
function processes(): ProcessInfo[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        const [state = '', ppid = ''] = stat.slice(close + 2).split(' ');
        return [
          {
            pid: Number(entry),
            ppid: Number(ppid),
            state,
            command: stat.slice(stat.indexOf('(') + 1, close),
          },
        ];
      } catch {
        return []; // ended while we looked
      }
    });
}

function descendants(root: number): ProcessInfo[] {
  const all = processes();
  const found: ProcessInfo[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const child of all.filter((p) => p.ppid === parent)) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** A Java process, alive and not a zombie waiting for its new parent to reap it. */
const isRunning = (pid: number) =>
  processes().some((p) => p.pid === pid && p.command === 'java' && p.state !== 'Z');

/** Java processes the runs started, so that a failing test does not leave them running either. */
const seen: Set<number>[] = [];
afterEach(() => {
  for (const pid of seen.splice(0).flatMap((pids) => [...pids])) if (isRunning(pid)) process.kill(pid);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs node with `nodeArguments`, records every Java process it starts, sends `signal` once `sendWhen` says so
 * (given the Java pids seen so far and the ms elapsed), and resolves with the exit code and those pids.
 */
async function runNode(
  nodeArguments: string[],
  options: { signal?: NodeJS.Signals; sendWhen?: (java: Set<number>, elapsedMs: number) => boolean } = {},
) {
  const child = spawn(process.execPath, nodeArguments, {
    cwd: ROOT,
    env: localCommandEnvironment({}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const java = new Set<number>();
  seen.push(java);
  const startedAt = Date.now();
  let signalled = false;
  while (!done) {
    for (const p of descendants(child.pid ?? -1)) if (p.command === 'java') java.add(p.pid);
    if (options.signal && !signalled && options.sendWhen?.(java, Date.now() - startedAt)) {
      child.kill(options.signal);
      signalled = true;
    }
    await sleep(50);
  }
  return { code: await exited, java, stderr, signalled };
}

const runSimulate = (args: string[], options: Parameters<typeof runNode>[1] = {}) =>
  runNode(scriptArguments('simulate.ts', args), options);

async function expectAllStopped(pids: Set<number>) {
  const deadline = Date.now() + 15_000;
  while ([...pids].some(isRunning) && Date.now() < deadline) await sleep(100);
  expect([...pids].filter(isRunning)).toEqual([]);
}

describe('simulate leaves no process of its own behind', () => {
  it('stops DynamoDB Local when SIGTERM arrives while it starts', async () => {
    const run = await runSimulate(['--event', 'events/backup-job-completed.json'], {
      signal: 'SIGTERM',
      sendWhen: (java) => java.size > 0,
    });
    expect(run.signalled).toBe(true);
    expect(run.code).toBe(143);
    expect(run.java.size).toBeGreaterThan(0);
    await expectAllStopped(run.java);
  });

  it('stops DynamoDB Local and exits 130 on SIGINT while executions run', async () => {
    const run = await runSimulate(
      ['--event', 'events/backup-job-completed.json', '--copy-duration', '600000', '--time-scale', '1'],
      { signal: 'SIGINT', sendWhen: (java, elapsed) => java.size > 0 && elapsed > 8_000 },
    );
    expect(run.signalled).toBe(true);
    expect(run.code).toBe(130);
    expect(run.stderr).toContain('SIGINT: stopping');
    await expectAllStopped(run.java);
  });

  it('stops DynamoDB Local when the process that started it dies of an uncaught exception', async () => {
    const crash = `import { startDynamoDbLocal } from './local/dynamodb-local.ts';
      await startDynamoDbLocal();
      throw new Error('crash after start-up');`;
    const run = await runNode(['--no-warnings', '--import', 'tsx', '--input-type=module', '--eval', crash]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('crash after start-up');
    expect(run.java.size).toBeGreaterThan(0);
    await expectAllStopped(run.java);
  });

  it('starts no Java at all for a start-up error (--time-scale 0), and exits 2', async () => {
    const run = await runSimulate(['--event', 'events/backup-job-completed.json', '--time-scale', '0']);
    expect(run.code).toBe(2);
    expect(run.java.size).toBe(0);
  });
});
