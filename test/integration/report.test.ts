import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { CopyLedger } from '../../lib/aws/ledger.js';
import type { LedgerRecord } from '../../lib/domain/ledger-record.js';
import { buildReport, readLedgerWindow } from '../../lib/operations/report.js';
import { documentClient, localCommandEnvironment } from '../../local/dynamodb-local.js';
import {
  backupJobCompleted,
  COPY_ROLE,
  DR_ISOLATED,
  DR_WEST,
  manualInput,
  policyFor,
  recoveryPointArn,
} from '../../local/factories.js';
import { LocalService } from '../../local/local-service.js';

const NOW = new Date('2026-05-02T12:00:00.000Z');
const hoursAgo = (hours: number) => new Date(NOW.getTime() - hours * 3_600_000);
const LAST_DAY = { since: hoursAgo(24), until: NOW, now: NOW };
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:copy-recovery-point:x';

/** A ledger item updated `hoursAgoUpdated` before NOW: a COMPLETED copy to DR_WEST unless told otherwise. */
function item(hoursAgoUpdated: number, fields: Partial<LedgerRecord> = {}): LedgerRecord {
  const updatedAt = hoursAgo(hoursAgoUpdated).toISOString();
  return {
    recoveryPointArn: recoveryPointArn(),
    destinationVaultArn: DR_WEST,
    status: 'COMPLETED',
    statusRank: 3,
    attempt: 1,
    executionArn: EXECUTION,
    createdAt: updatedAt,
    updatedAt,
    ...fields,
  };
}

const plan = (hours: number, fields: Partial<LedgerRecord> = {}) =>
  item(hours, { destinationVaultArn: '*', status: 'PLANNED', ...fields });

describe('buildReport', () => {
  it('counts copies by status and by destination and status, and plans by status', () => {
    const report = buildReport(
      [
        item(1),
        item(2),
        item(3, { status: 'FAILED' }),
        item(4, { destinationVaultArn: DR_ISOLATED, status: 'RUNNING' }),
        item(5, { destinationVaultArn: DR_ISOLATED }),
        item(6, { destinationVaultArn: DR_ISOLATED, status: 'REJECTED', attempt: 0 }),
        plan(1),
        plan(2),
        plan(3, { status: 'REJECTED' }),
      ],
      LAST_DAY,
    );

    expect(report.copies.total).toBe(6);
    expect(report.copies.byStatus).toEqual({
      PLANNED: 0,
      QUEUED: 0,
      PENDING: 0,
      RUNNING: 1,
      COMPLETED: 3,
      FAILED: 1,
      REJECTED: 1,
    });
    expect(report.copies.byDestination).toEqual([
      {
        destinationVaultArn: DR_WEST,
        total: 3,
        byStatus: { PLANNED: 0, QUEUED: 0, PENDING: 0, RUNNING: 0, COMPLETED: 2, FAILED: 1, REJECTED: 0 },
      },
      {
        destinationVaultArn: DR_ISOLATED,
        total: 3,
        byStatus: { PLANNED: 0, QUEUED: 0, PENDING: 0, RUNNING: 1, COMPLETED: 1, FAILED: 0, REJECTED: 1 },
      },
    ]);
    expect(report.plans).toEqual({ total: 3, byStatus: { PLANNED: 2, REJECTED: 1 } });
    // A refused destination is a failure to look at, next to the failed copy and the refused plan.
    expect(report.failures.map((f) => [f.destinationVaultArn, f.status])).toEqual([
      [DR_WEST, 'FAILED'],
      ['*', 'REJECTED'],
      [DR_ISOLATED, 'REJECTED'],
    ]);
  });

  it('counts only items last updated within the window', () => {
    const window = { since: hoursAgo(24), until: hoursAgo(2), now: NOW };
    const report = buildReport(
      [item(25), item(23), item(1), item(25, { status: 'FAILED' }), item(1, { status: 'FAILED' }), plan(30)],
      window,
    );

    expect(report.copies.byStatus).toEqual({
      PLANNED: 0,
      QUEUED: 0,
      PENDING: 0,
      RUNNING: 0,
      COMPLETED: 1,
      FAILED: 0,
      REJECTED: 0,
    });
    expect(report.failures).toEqual([]);
    expect(report.plans.total).toBe(0);
    expect(report).toMatchObject({ since: window.since.toISOString(), until: window.until.toISOString() });
  });

  it('lists failed copies and refused plans with their errors, newest first', () => {
    const boom = { name: 'CopyJobFailedError', message: 'copy job 1 ended FAILED: boom' };
    const refused = { name: 'InvalidInputError', message: 'input refused' };
    const failed = item(5, { status: 'FAILED', attempt: 2, lastError: boom });
    const rejected = plan(1, { status: 'REJECTED', lastError: refused });

    const report = buildReport([failed, item(2), rejected], LAST_DAY);

    expect(report.failures).toEqual([
      {
        recoveryPointArn: rejected.recoveryPointArn,
        destinationVaultArn: '*',
        status: 'REJECTED',
        attempt: 1,
        executionArn: EXECUTION,
        updatedAt: rejected.updatedAt,
        error: refused,
      },
      expect.objectContaining({
        recoveryPointArn: failed.recoveryPointArn,
        status: 'FAILED',
        attempt: 2,
        error: boom,
      }),
    ]);
  });

  it('lists the longest in-progress copies first, however long ago they started, up to the number asked', () => {
    const runningLongest = item(1, {
      status: 'RUNNING',
      startedAt: hoursAgo(50).toISOString(),
      copyJobId: 'j1',
    });
    const pendingSinceBeforeWindow = item(30, { status: 'PENDING' });
    const runningRecently = item(0.5, { status: 'RUNNING', startedAt: hoursAgo(2).toISOString() });

    const report = buildReport([runningRecently, item(1), pendingSinceBeforeWindow, runningLongest], {
      ...LAST_DAY,
      oldest: 2,
    });

    expect(report.oldestInProgress).toEqual([
      expect.objectContaining({
        recoveryPointArn: runningLongest.recoveryPointArn,
        status: 'RUNNING',
        copyJobId: 'j1',
        inProgressSince: hoursAgo(50).toISOString(),
        ageSeconds: 50 * 3600,
      }),
      expect.objectContaining({
        recoveryPointArn: pendingSinceBeforeWindow.recoveryPointArn,
        status: 'PENDING',
        ageSeconds: 30 * 3600,
      }),
    ]);
  });
});

describe('buildReport: copies waiting for a copy slot', () => {
  it('lists each queued copy with its place in its slot queue and how long it has waited', () => {
    const queued = (hours: number, slot: string) =>
      item(0.1, { status: 'QUEUED', slotQueue: slot, queuedAt: hoursAgo(hours).toISOString() });
    const region = 'region#111111111111#us-west-2';
    const resource = 'resource#arn:aws:elasticfilesystem:us-east-1:111111111111:file-system/fs-1';
    const [second, first, only] = [queued(1, region), queued(3, region), queued(2, resource)];

    const report = buildReport([item(1), second, only, first], LAST_DAY);

    expect(report.queued).toEqual([
      expect.objectContaining({
        recoveryPointArn: first.recoveryPointArn,
        slot: region,
        place: 1,
        ageSeconds: 3 * 3600,
      }),
      expect.objectContaining({
        recoveryPointArn: second.recoveryPointArn,
        slot: region,
        place: 2,
        ageSeconds: 3600,
      }),
      expect.objectContaining({ recoveryPointArn: only.recoveryPointArn, slot: resource, place: 1 }),
    ]);
    expect(report.copies.byStatus.QUEUED).toBe(3);
  });
});

describe('the ledger report against DynamoDB Local', () => {
  let stack: LocalService | undefined;

  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('summarizes a mixed run (one copy, one refusal, one failed copy) in process and as a command', async () => {
    const s = await LocalService.start({ policy: policyFor(), dynamoDbEndpoint: inject('dynamoDbEndpoint') });
    stack = s;
    s.emulator.failCopy({ destinationBackupVaultArn: DR_WEST }, { state: 'FAILED', message: 'boom' });
    const inputs = [
      backupJobCompleted(),
      backupJobCompleted(),
      manualInput('arn:aws:backup:eu-west-1:999999999999:recovery-point:x'),
    ];
    for (const input of inputs) s.seedFor(input);
    await Promise.all(inputs.map((input) => s.deliver(input)));
    await s.settle();
    // A copy claimed two days ago and never started: outside the window, yet listed as in progress.
    const documents = documentClient(inject('dynamoDbEndpoint'));
    const twoDaysAgo = new Date(Date.now() - 48 * 3_600_000);
    const stuck = recoveryPointArn();
    await new CopyLedger(documents, s.ledger.tableName, () => twoDaysAgo).claim(
      {
        recoveryPointArn: stuck,
        sourceBackupVaultName: 'primary',
        destinationVaultArn: DR_WEST,
        iamRoleArn: COPY_ROLE,
        lifecycleSource: 'none',
        resourceType: 'EFS',
        isParent: false,
        rule: 'primary-to-dr',
      },
      1,
      'token',
      `${EXECUTION}#0`,
      EXECUTION,
    );
    const now = new Date();
    const window = { since: new Date(now.getTime() - 3_600_000), until: now };

    const report = buildReport(await readLedgerWindow(documents, s.ledger.tableName, window), {
      ...window,
      now,
    });

    expect(report.copies.byStatus).toEqual({
      PLANNED: 0,
      QUEUED: 0,
      PENDING: 0,
      RUNNING: 0,
      COMPLETED: 1,
      FAILED: 1,
      REJECTED: 0,
    });
    expect(report.copies.byDestination).toEqual([
      {
        destinationVaultArn: DR_WEST,
        total: 2,
        byStatus: { PLANNED: 0, QUEUED: 0, PENDING: 0, RUNNING: 0, COMPLETED: 1, FAILED: 1, REJECTED: 0 },
      },
    ]);
    expect(report.plans.byStatus).toMatchObject({ PLANNED: 2, REJECTED: 1 });
    expect(report.failures.map((f) => [f.status, f.error?.name])).toEqual(
      expect.arrayContaining([
        ['FAILED', 'CopyJobFailedError'],
        ['REJECTED', 'InvalidInputError'],
      ]),
    );
    expect(report.failures).toHaveLength(2);
    expect(report.failures.find((f) => f.status === 'FAILED')?.error?.message).toContain('boom');
    expect(report.oldestInProgress).toEqual([
      expect.objectContaining({
        recoveryPointArn: stuck,
        status: 'PENDING',
        inProgressSince: twoDaysAgo.toISOString(),
      }),
    ]);

    const env = localCommandEnvironment({
      AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoDbEndpoint'),
      LEDGER_TABLE: s.ledger.tableName,
    });
    const { stdout } = await runScript(['--json', '--since', window.since.toISOString()], env);
    const printed = JSON.parse(stdout);
    expect(printed).toMatchObject({ copies: report.copies, plans: report.plans, failures: report.failures });
    expect(printed.oldestInProgress.map((c: { recoveryPointArn: string }) => c.recoveryPointArn)).toEqual([
      stuck,
    ]);
    expect((await runScript(['--help'], env)).stdout).toContain('Usage: npm run report');
  });
});

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;

function runScript(args: string[], env: Record<string, string | undefined>) {
  return run('node', ['--no-warnings', '--import', 'tsx', 'scripts/report.ts', ...args], { cwd: root, env });
}
