/**
 * AWS's own example events (test/fixtures/aws-events/, from the AWS Backup Developer Guide's EventBridge page)
 * through the real rules (their patterns in serverless.yml) and the real handlers: only completions start
 * an execution, and a Copy Job State Change in any state AWS shows is handled without an error.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { parseCopyPolicy } from '../../lib/domain/policy.js';
import { matchesPattern } from '../../local/event-pattern.js';
import { backupJobCompleted, policyFor, recoveryPointArn } from '../../local/factories.js';
import { LocalService } from '../../local/local-service.js';
import { copyJobEventsPattern, intakePattern } from '../../local/serverless-functions.js';

type Event = {
  account: string;
  region: string;
  'detail-type': string;
  resources: string[];
  detail: Record<string, unknown>;
};
interface Sources {
  samples: Record<string, { source: string; section: string; changes: string[] }>;
}

const FIXTURES = new URL('../fixtures/aws-events/', import.meta.url);
const sources = JSON.parse(readFileSync(new URL('sources.json', FIXTURES), 'utf8')) as Sources;
const files = readdirSync(FIXTURES)
  .filter((file) => file.endsWith('.json') && file !== 'sources.json')
  .sort();
const sample = (file: string): Event => JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8'));
const samples = files.map((file) => [file, sample(file)] as const);
const ofType = (detailType: string) => samples.filter(([, event]) => event['detail-type'] === detailType);

/** The one account and region every sample is from (after the account id was cut to 12 digits). */
const SAMPLE_ACCOUNT = '112233445566';
const SAMPLE_REGION = 'us-west-2';
const COMPLETIONS = ['backup-job-state-change-completed.json', 'recovery-point-state-change-completed.json'];

/** A policy copying the completions' vaults within the samples' account, so their ARNs are in scope. */
const samplePolicy = parseCopyPolicy({
  version: 1,
  allowed: { partition: 'aws', accounts: [SAMPLE_ACCOUNT], regions: [SAMPLE_REGION, 'us-east-1'] },
  rules: [
    {
      name: 'aws-samples',
      match: {
        sourceVaults: COMPLETIONS.map((file) => sample(file).detail.backupVaultName as string),
      },
      destinations: [
        {
          vaultArn: `arn:aws:backup:us-east-1:${SAMPLE_ACCOUNT}:backup-vault:dr`,
          iamRoleArn: `arn:aws:iam::${SAMPLE_ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole`,
          lifecycle: { DeleteAfterDays: 35 },
        },
      ],
    },
  ],
});

let service: LocalService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

describe("AWS's sample events, as fixtures", () => {
  it('are each listed in sources.json with the page they come from and every change made', () => {
    expect(Object.keys(sources.samples).sort()).toEqual(files);
    for (const [file, { source, changes }] of Object.entries(sources.samples)) {
      expect(source, file).toMatch(/^https:\/\/docs\.aws\.amazon\.com\/aws-backup\/latest\/devguide\//);
      expect(changes.length, file).toBeGreaterThan(0);
    }
  });

  it('cover every state the guide shows for backup and copy jobs, and a completed recovery point', () => {
    const states = (type: string) =>
      ofType(type).map(([, event]) => event.detail.state ?? event.detail.status);
    expect(states('Backup Job State Change').sort()).toEqual(
      ['ABORTED', 'COMPLETED', 'CREATED', 'EXPIRED', 'FAILED', 'PENDING', 'RUNNING'].sort(),
    );
    expect(states('Copy Job State Change').sort()).toEqual(['COMPLETED', 'CREATED', 'FAILED', 'RUNNING']);
    expect(states('Recovery Point State Change')).toEqual(['COMPLETED']);
  });

  it('carry 12-digit account ids only (the guide prints a 13-digit one)', () => {
    for (const [file, event] of samples) {
      expect(event.account, file).toBe(SAMPLE_ACCOUNT);
      expect(JSON.stringify(event), file).not.toMatch(/\d{13}/);
    }
  });

  it('keep the shapes AWS sends: {} for a destination recovery point not made yet, sizes as numbers or strings', () => {
    const copy = (state: string) =>
      ofType('Copy Job State Change').find(([, e]) => e.detail.state === state)?.[1];
    expect(copy('RUNNING')?.detail.destinationRecoveryPointArn).toEqual({});
    expect(copy('FAILED')?.detail.destinationRecoveryPointArn).toEqual({});
    expect(typeof copy('COMPLETED')?.detail.backupSizeInBytes).toBe('number');
    expect(typeof sample('backup-job-state-change-completed.json').detail.backupSizeInBytes).toBe('string');
  });
});

describe('the intake rule (serverless.yml) on the samples', () => {
  it('matches exactly the completed backup job and the completed recovery point', () => {
    const matched = samples.filter(([, event]) => matchesPattern(intakePattern, event)).map(([file]) => file);
    expect(matched).toEqual(COMPLETIONS);
  });

  it.each(['PARTIAL', 'DELETING', 'EXPIRED', 'AVAILABLE', 'STOPPED', 'CREATING'])(
    'treats a recovery point in status %s (listed by the guide without an example) as a completion only if AVAILABLE',
    (status) => {
      const event = sample('recovery-point-state-change-completed.json');
      const derived = { ...event, detail: { ...event.detail, status } };
      expect(matchesPattern(intakePattern, derived)).toBe(status === 'AVAILABLE');
    },
  );
});

describe('the samples through the running service', () => {
  const start = async (emulator: object = {}, policy = samplePolicy) => {
    service = await LocalService.start({
      policy,
      dynamoDbEndpoint: inject('dynamoDbEndpoint'),
      emulator: { region: SAMPLE_REGION, accountId: SAMPLE_ACCOUNT, ...emulator },
    });
    return service;
  };

  it('starts an execution for each completion and for nothing else', async () => {
    const s = await start();
    for (const [, event] of samples) s.seedFor(event);
    const started = new Map<string, string | undefined>();
    for (const [file, event] of samples) started.set(file, await s.deliver(event));

    const startedFor = [...started].filter(([, arn]) => arn !== undefined).map(([file]) => file);
    expect(startedFor).toEqual(COMPLETIONS);
    expect(s.stepFunctions.executions()).toHaveLength(COMPLETIONS.length);

    // Each ends with a plan item for its recovery point, whatever the plan decided for AWS's placeholder values.
    await s.settle();
    const plans = (await s.ledger.scan()).filter((item) => item.destinationVaultArn === '*');
    expect(plans.map((plan) => plan.recoveryPointArn).sort()).toEqual(
      COMPLETIONS.map((file) => sample(file).resources[0]).sort(),
    );
    for (const plan of plans) expect(['PLANNED', 'REJECTED'], plan.recoveryPointArn).toContain(plan.status);
  });

  it.each(COMPLETIONS)('normalizes %s into a request for its recovery point and vault', async (file) => {
    const s = await start();
    const event = sample(file);
    const request = await s.invoke('normalizeInput', event);
    expect(request).toEqual({
      recoveryPointArn: event.resources[0],
      sourceBackupVaultName: event.detail.backupVaultName,
      origin: event['detail-type'],
      eventId: (event as unknown as { id: string }).id,
      eventTime: (event as unknown as { time: string }).time,
    });
  });

  it.each(ofType('Copy Job State Change'))(
    'handles %s in copyJobEvents without an error (the rule delivers it only if final)',
    async (_, event) => {
      const s = await start();
      expect(matchesPattern(copyJobEventsPattern, event)).toBe(
        ['COMPLETED', 'FAILED'].includes(event.detail.state as string),
      );
      // Not a copy of ours: nothing in the ledger changes.
      await expect(s.invoke('copyJobEvents', event)).resolves.toMatchObject({ settled: false });
      expect(await s.ledger.scan()).toEqual([]);
    },
  );
});

describe("a copy of ours, reported in the shape of AWS's samples", () => {
  /** The sample `file`, about the copy job `job` of this service's copy (its IDs and ARNs, AWS's shape). */
  const reporting = (
    file: string,
    job: { copyJobId: string; recoveryPointArn: string; destinationVaultArn: string },
  ) => {
    const event = sample(file);
    return {
      ...event,
      resources: [job.recoveryPointArn],
      detail: {
        ...event.detail,
        copyJobId: job.copyJobId,
        destinationBackupVaultArn: job.destinationVaultArn,
      },
    };
  };

  /** Starts one copy with the emulator's own events dropped, and waits until the ledger holds it RUNNING. */
  const runningCopy = async () => {
    service = await LocalService.start({
      policy: policyFor(),
      dynamoDbEndpoint: inject('dynamoDbEndpoint'),
      emulator: { dropCopyJobEvents: true },
    });
    const s = service;
    const event = backupJobCompleted(recoveryPointArn());
    s.seedFor(event);
    await s.deliver(event);
    for (let waited = 0; waited < 20_000; waited += 20) {
      const [job] = (await s.report()).copyJobs;
      const copy = (await s.ledger.scan()).find((item) => item.copyJobId !== undefined);
      if (job && copy?.status === 'RUNNING') return { s, job };
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('the copy never became RUNNING');
  };

  const deliverCopyEvent = async (s: LocalService, event: unknown) => {
    if (matchesPattern(copyJobEventsPattern, event)) await s.invoke('copyJobEvents', event);
    await s.settle();
  };

  it('stays RUNNING on a RUNNING event ({} destinationRecoveryPointArn), then COMPLETES on a COMPLETED one', async () => {
    const { s, job } = await runningCopy();
    await expect(
      s.invoke('copyJobEvents', reporting('copy-job-state-change-running.json', job)),
    ).resolves.toMatchObject({ settled: true, status: 'RUNNING' });

    await deliverCopyEvent(s, reporting('copy-job-state-change-completed.json', job));
    const report = await s.report();
    expect(report.status).toBe('SUCCEEDED');
    expect(report.ledger.find((item) => item.copyJobId === job.copyJobId)?.status).toBe('COMPLETED');
  });

  it('records FAILED with AWS status message on a FAILED event ({} destinationRecoveryPointArn)', async () => {
    const { s, job } = await runningCopy();
    await deliverCopyEvent(s, reporting('copy-job-state-change-failed.json', job));
    const report = await s.report();
    expect(report.executions[0]).toMatchObject({ status: 'FAILED', error: 'CopyJobFailedError' });
    const copy = report.ledger.find((item) => item.copyJobId === job.copyJobId);
    expect(copy?.status).toBe('FAILED');
    expect(JSON.stringify(copy?.lastError)).toContain('Access denied exception while trying to list tags');
  });
});
