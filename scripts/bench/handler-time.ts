/**
 * Handler time: each function's handler, warm, invoked one at a time against local endpoints (DynamoDB Local,
 * the Backup emulator, the local Step Functions service), with valid inputs along the path a copy takes.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { PlanCopiesOutput } from '../../lib/contracts.js';
import { backupJobCompleted, policyFor } from '../../local/factories.js';
import { serverless } from '../../local/serverless-functions.js';
import { startMeteredService } from './burst.js';

export interface HandlerTimeOptions {
  dynamoDbEndpoint: string;
  /** Timed invocations per scenario. */
  invocations: number;
  /** Untimed invocations first, per scenario. */
  warmUp: number;
  onProgress?: (message: string) => void;
}

export interface HandlerTime {
  function: string;
  scenario: string;
  invocations: number;
  medianMs: number;
  p99Ms: number;
}

export interface HandlerTimeResult {
  handlers: HandlerTime[];
  /** Functions in serverless.yml with no scenario here (not on the per-copy path). */
  notMeasured: string[];
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;

/** A token in the local service's format that no task holds: SendTaskSuccess makes its full round trip. */
const unknownTaskToken = () => `LSF1${randomBytes(48).toString('base64url')}`;
const EXECUTION_ARN = 'arn:aws:states:us-east-1:123456789012:execution:copy-recovery-point:bench';

export async function measureHandlerTime(options: HandlerTimeOptions): Promise<HandlerTimeResult> {
  const total = options.warmUp + options.invocations;
  // On the wall clock; copies run for a day, so every job is still RUNNING when it is checked.
  const { service: stack } = await startMeteredService({
    dynamoDbEndpoint: options.dynamoDbEndpoint,
    policy: policyFor(),
    copySlots: 10,
    emulator: { copyDurationMs: 86_400_000 },
  });
  const handlers: HandlerTime[] = [];
  const time = async <T>(
    name: string,
    scenario: string,
    inputs: unknown[],
    after?: (input: unknown, output: unknown) => Promise<void>,
  ): Promise<T[]> => {
    options.onProgress?.(`${name} (${scenario}): ${inputs.length} invocations`);
    const outputs: T[] = [];
    const durations: number[] = [];
    for (const input of inputs) {
      const started = performance.now();
      const output = (await stack.invoke(name, input)) as T;
      durations.push(performance.now() - started);
      outputs.push(output);
      await after?.(input, output);
    }
    const timed = durations.slice(options.warmUp).sort((a, b) => a - b);
    handlers.push({
      function: name,
      scenario,
      invocations: timed.length,
      medianMs: percentile(timed, 50),
      p99Ms: percentile(timed, 99),
    });
    return outputs;
  };
  // Each measured copy gives its slots back untimed, as its end would.
  const releaseSlot = async (input: unknown) => {
    const { copy } = input as { copy: PlanCopiesOutput['copies'][number] };
    await stack.runtime.slots?.release(copy);
  };
  try {
    const events = Array.from({ length: total }, () => backupJobCompleted());
    for (const event of events) stack.seedFor(event);
    const requests = await time('normalizeInput', 'Backup Job State Change event', events);
    const plans = await time<PlanCopiesOutput>(
      'planCopies',
      'new recovery point',
      requests.map((request) => ({ request, executionArn: EXECUTION_ARN })),
    );
    const copies = plans.map((plan) => plan.copies[0]);
    const copyInput = (copy: unknown) => ({
      copy,
      taskToken: unknownTaskToken(),
      executionArn: EXECUTION_ARN,
      redriveCount: 0,
    });
    await time('copyToDestination', 'first copy: starts the job', copies.map(copyInput), releaseSlot);
    await time(
      'checkCopyProgress',
      'copy still running',
      copies.map((copy) => ({ copy })),
      releaseSlot,
    );
    const jobs = new Map(stack.emulator.copyJobs().map((job) => [job.request.RecoveryPointArn, job]));
    await time(
      'copyJobEvents',
      'COMPLETED event: settles the copy',
      copies.map((copy) => {
        const job = jobs.get(copy?.recoveryPointArn);
        return {
          version: '0',
          id: randomBytes(16).toString('hex'),
          'detail-type': 'Copy Job State Change',
          source: 'aws.backup',
          account: '111111111111',
          time: new Date().toISOString(),
          region: 'us-east-1',
          resources: [copy?.recoveryPointArn],
          detail: {
            copyJobId: job?.copyJobId,
            state: 'COMPLETED',
            destinationBackupVaultArn: copy?.destinationVaultArn,
          },
        };
      }),
    );
    await time('copyToDestination', 'duplicate: copy already COMPLETED', copies.map(copyInput));
    await time(
      'recordRejection',
      'refused input',
      events.map((input) => ({
        input,
        error: { Error: 'InvalidInputError', Cause: 'benchmark: a refused input' },
        executionArn: EXECUTION_ARN,
      })),
    );
    const measured = new Set(handlers.map((handler) => handler.function));
    return { handlers, notMeasured: Object.keys(serverless.functions).filter((name) => !measured.has(name)) };
  } finally {
    await stack.close();
  }
}
