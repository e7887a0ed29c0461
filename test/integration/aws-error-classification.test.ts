import { RedriveExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { copySlotHolder } from '../../lib/domain/keys.js';
import type { AwsFault } from '../../local/aws-faults.js';
import { DUMMY_CREDENTIALS } from '../../local/dynamodb-local.js';
import { backupJobCompleted, DR_WEST, policyFor } from '../../local/factories.js';
import { LocalService } from '../../local/local-service.js';
import { runCommand } from '../support/run-command.js';

/*
 * Every answer the SDK's own retry strategy counts as retryable, on every AWS call the state machine's tasks make,
 * run through the real state machine: each must end in one COMPLETED copy and a SUCCEEDED execution. The codes
 * are the SDK's own lists (@smithy/core keeps them out of its export map, so they are read from its file).
 */
const sdk = (await import(
  new URL(
    '../../node_modules/@smithy/core/dist-es/submodules/retry/service-error-classification/constants.js',
    import.meta.url,
  ).href
)) as Record<
  | 'THROTTLING_ERROR_CODES'
  | 'TRANSIENT_ERROR_CODES'
  | 'NODEJS_TIMEOUT_ERROR_CODES'
  | 'NODEJS_NETWORK_ERROR_CODES'
  | 'TRANSIENT_ERROR_STATUS_CODES',
  readonly (string | number)[]
>;

/** Every retryable answer: the SDK's codes, its transient statuses bare (a gateway's), any other 5xx. */
const ANSWERS = [
  ...sdk.THROTTLING_ERROR_CODES,
  ...sdk.TRANSIENT_ERROR_CODES,
  ...sdk.TRANSIENT_ERROR_STATUS_CODES,
  ...sdk.NODEJS_TIMEOUT_ERROR_CODES,
  ...sdk.NODEJS_NETWORK_ERROR_CODES,
  // Not in any list: retryable as a server error (isServerError), or by name as AWS's modelled 5xx.
  501,
  'InternalServerError',
  'ServiceUnavailableException',
].map(String);

/** The calls the state machine's tasks (and copyJobEvents, which completes them) make for every copy. */
const CALLS: Pick<AwsFault, 'service' | 'operation'>[] = [
  { service: 'Backup', operation: 'DescribeRecoveryPoint' },
  { service: 'Backup', operation: 'StartCopyJob' },
  { service: 'DynamoDB', operation: 'GetItem' },
  { service: 'DynamoDB', operation: 'UpdateItem' },
  { service: 'SFN', operation: 'SendTaskSuccess' },
];

let service: LocalService | undefined;
const maxAttempts = process.env.AWS_MAX_ATTEMPTS;

// The SDK's own retries (3 attempts on the DynamoDB and SFN clients) would absorb a single fault: without
// them every fault reaches the classification, and the state machine's Retry must absorb it.
beforeEach(() => {
  process.env.AWS_MAX_ATTEMPTS = '1';
});
afterAll(() => {
  if (maxAttempts === undefined) delete process.env.AWS_MAX_ATTEMPTS;
  else process.env.AWS_MAX_ATTEMPTS = maxAttempts;
});
afterEach(async () => {
  await service?.close();
  service = undefined;
});

async function start(options: Partial<Parameters<typeof LocalService.start>[0]> = {}) {
  service = await LocalService.start({
    policy: policyFor(),
    dynamoDbEndpoint: inject('dynamoDbEndpoint'),
    // A slot for every copy: no copy waits for another's, so each case runs at once.
    copySlots: 100,
    ...options,
  });
  return service;
}

/**
 * One recovery point per case, all delivered at once: each fault of a case is matched to its own recovery point
 * (or its copy's slot holder), `count` times, unless `shared`.
 */
async function runCases(
  s: LocalService,
  cases: Omit<AwsFault, 'match'>[][],
  { shared = false, whileRunning = async () => {} } = {},
) {
  const runs = cases.map((faults) => {
    const event = backupJobCompleted();
    const recoveryPointArn = event.resources[0] as string;
    const holder = copySlotHolder({ recoveryPointArn, destinationVaultArn: DR_WEST });
    for (const fault of faults)
      s.injectFault({ ...fault, ...(shared ? {} : { match: [recoveryPointArn, holder] }) });
    s.seedFor(event);
    return {
      event,
      recoveryPointArn,
      label: faults.map((f) => `${f.service}.${f.operation}:${f.error}`).join(),
    };
  });
  await Promise.all(runs.map(({ event }) => s.deliver(event)));
  await whileRunning();
  await s.settle();
  const report = await s.report();
  const failed = report.executions.filter((e) => e.status !== 'SUCCEEDED');
  expect(failed.map((e) => `${e.error}: ${e.cause}`)).toEqual([]);
  expect(s.deliveryErrors).toEqual([]);
  for (const { recoveryPointArn, label } of runs) {
    const jobs = report.copyJobs.filter((job) => job.recoveryPointArn === recoveryPointArn);
    expect(
      jobs.map((job) => job.state),
      label,
    ).toEqual(['COMPLETED']);
  }
  // Every fault was met by a call, so each case really exercised its answer.
  expect(s.pendingFaults()).toBe(0);
}

describe('every retryable AWS answer, on every call the state machine makes', () => {
  it(`copies once and succeeds for each of ${ANSWERS.length} answers on each of ${CALLS.length} calls`, async () => {
    const s = await start({ dynamoDbFaults: true });
    // One recovery point per answer, which meets it once on every call.
    await runCases(
      s,
      ANSWERS.map((error) => CALLS.map((call) => ({ ...call, error }))),
    );
  });

  it('copies once when DescribeCopyJob, asked after a lost copy event, meets each answer', async () => {
    // No event: the copy task times out (12 hours, 1.3 s here) and CheckCopyProgress asks DescribeCopyJob.
    const s = await start({ emulator: { dropCopyJobEvents: true }, timeScale: 0.00003 });
    // The request names only the copy job, unknown beforehand: each answer goes to whichever call comes next.
    await runCases(
      s,
      ANSWERS.map((error) => [{ service: 'Backup', operation: 'DescribeCopyJob', error }]),
      { shared: true },
    );
  });

  it('delivers a failed copy through each answer on the SendTaskSuccess that wakes its task, and a re-drive copies once', async () => {
    const s = await start({ timeScale: 0.00003 });
    const events = ANSWERS.map(() => backupJobCompleted());
    for (const event of events) {
      s.seedFor(event);
      s.emulator.failCopy(
        { recoveryPointArn: event.resources[0] },
        { state: 'FAILED', message: 'KMS key denied' },
      );
    }
    // The failed attempt wakes the waiting task (ATTEMPT_FAILED), naming only its token: each answer goes to
    // whichever call comes next.
    for (const error of ANSWERS) s.injectFault({ service: 'SFN', operation: 'SendTaskSuccess', error });
    const executionArns = await Promise.all(events.map((event) => s.deliver(event)));
    await s.settle();
    const failed = await s.report();
    expect(new Set(failed.executions.map((e) => `${e.status} ${e.error}`))).toEqual(
      new Set(['FAILED CopyJobFailedError']),
    );
    expect(s.pendingFaults()).toBe(0);

    // The operator's client, with the SDK's retries (the handlers' have none in this file).
    const operator = new SFNClient({
      endpoint: s.stepFunctions.endpoint,
      region: 'us-east-1',
      credentials: DUMMY_CREDENTIALS,
      maxAttempts: 3,
    });
    await Promise.all(
      executionArns.map((executionArn) => operator.send(new RedriveExecutionCommand({ executionArn }))),
    );
    operator.destroy();
    await s.settle();
    const report = await s.report();
    expect(report.executions.filter((e) => e.status !== 'SUCCEEDED')).toEqual([]);
    for (const event of events) {
      const jobs = report.copyJobs.filter((job) => job.recoveryPointArn === event.resources[0]);
      expect(jobs.map((job) => job.state).sort()).toEqual(['COMPLETED', 'FAILED']);
    }
  });

  it('copies once when a ledger write is throttled past the SDK retries of the deployed client', async () => {
    delete process.env.AWS_MAX_ATTEMPTS;
    const s = await start({ dynamoDbFaults: true });
    // 3 answers: the SDK's default 3 attempts all meet one, and the state machine's Retry takes over.
    await runCases(s, [
      [
        {
          service: 'DynamoDB',
          operation: 'UpdateItem',
          error: 'ProvisionedThroughputExceededException',
          count: 3,
        },
      ],
    ]);
  });
});

describe("the issue's repro", () => {
  it('copies once through simulate when StartCopyJob and DescribeRecoveryPoint are throttled', async () => {
    const result = await runCommand('simulate.ts', [
      '--event',
      'events/backup-job-completed.json',
      '--faults',
      'StartCopyJob:ThrottlingException:1,DescribeRecoveryPoint:ThrottlingException:1',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      status: string;
      copyJobs: { destinationVaultArn: string; state: string }[];
    };
    expect(report.status).toBe('SUCCEEDED');
    const destinations = report.copyJobs.map((job) => job.destinationVaultArn);
    expect(new Set(destinations).size).toBe(destinations.length);
    expect(report.copyJobs.every((job) => job.state === 'COMPLETED')).toBe(true);
  }, 120_000);
});
