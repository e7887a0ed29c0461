/**
 * DR coverage against the local stack: the real state machine and handlers, DynamoDB Local with the ledger's
 * resource index as resources/state.yml declares it, and the AWS Backup emulator listing the source vault.
 */

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmfOutput } from '@aws-lambda-powertools/metrics/types';
import { BackupClient } from '@aws-sdk/client-backup';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { backfill } from '../../lib/backfill.js';
import { measureCoverage } from '../../lib/coverage.js';
import type { CopyPolicy } from '../../lib/domain/policy.js';
import { collectMetrics } from '../../lib/metrics.js';
import { reconcile } from '../../lib/reconcile.js';
import { DUMMY_CREDENTIALS, localCommandEnvironment } from '../../local/dynamodb-local.js';
import {
  DR_ACCOUNT,
  DR_ISOLATED,
  DR_WEST,
  manualInput,
  policyFor,
  recoveryPointArn,
} from '../../local/factories.js';
import { LocalService } from '../../local/local-service.js';
import { runCommand, usageLine } from '../support/run-command.js';

const HOUR_MS = 3_600_000;
const VOLUME = 'arn:aws:ec2:us-east-1:111111111111:volume/vol-0123456789abcdef0';

let stack: LocalService | undefined;
const clients: { destroy(): void }[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await stack?.close();
  stack = undefined;
});

async function startStack(policy: CopyPolicy) {
  stack = await LocalService.start({ policy, dynamoDbEndpoint: inject('dynamoDbEndpoint') });
  const backup = new BackupClient({
    region: 'us-east-1',
    credentials: DUMMY_CREDENTIALS,
    endpoint: stack.emulator.endpoint,
    maxAttempts: 1,
  });
  clients.push(backup);
  return { stack, backup };
}

/** A backup of VOLUME in `primary` that completed at `completedAt`; its event is never sent. */
function seedBackup(s: LocalService, completedAt: Date, resourceArn = VOLUME) {
  return s.emulator.seedRecoveryPoint({
    RecoveryPointArn: recoveryPointArn(),
    BackupVaultName: 'primary',
    ResourceArn: resourceArn,
    ResourceType: 'EBS',
    CreationDate: new Date(completedAt.getTime() - 10 * 60_000),
    CompletionDate: completedAt,
  }).RecoveryPointArn;
}

describe('coverage', () => {
  it('shows a resource OK, then LATE once the clock passes rpoHours, then OK again after a backfill', async () => {
    const policy = policyFor([{ rpoHours: 6 }]);
    const { stack: s, backup } = await startStack(policy);
    const start = Date.now();
    const at = (hours: number) => new Date(start + hours * HOUR_MS);
    const since = at(-24);
    const coverageAt = (now: Date) => measureCoverage({ backup, ledger: s.ledger, policy, now }, { since });

    // A backup an hour ago, copied by the workflow as its event would have it.
    const first = seedBackup(s, at(-1));
    await s.deliver(manualInput(first));
    await s.settle();
    const ok = await coverageAt(at(0));
    expect(ok.rows).toMatchObject([
      { resourceArn: VOLUME, destinationVaultArn: DR_WEST, status: 'OK', rpoHours: 6, outsideRpo: false },
    ]);
    expect(ok.rows[0]?.newestCopy).toMatchObject({ recoveryPointArn: first, ageHours: 1 });

    // Seven hours on, a new backup exists whose event was lost: the newest copy holds 8-hour-old data.
    const second = seedBackup(s, at(6.5));
    const late = await coverageAt(at(7));
    expect(late.rows).toMatchObject([
      { status: 'LATE', outsideRpo: true, newestCopy: { recoveryPointArn: first } },
    ]);
    expect(late.summary.byStatus).toEqual({ OK: 0, LATE: 1, NEVER: 0, REFUSED: 0 });

    // The hourly reconciler (looking back 24 h, but 36 h past the backups) counts it outside its RPO.
    const emitted: EmfOutput[] = [];
    collectMetrics((emf) => emitted.push(emf));
    await reconcile(
      {
        backup,
        ledger: s.ledger,
        sfn: s.sfn,
        policy,
        stateMachineArn: s.stepFunctions.stateMachineArn,
        now: at(36),
      },
      { lookbackHours: 1, graceMinutes: 15, measureCoverage: true },
    );
    const perDestination = emitted.find((emf) => emf.destination === DR_WEST);
    expect(perDestination).toMatchObject({ ResourcesOutsideRpo: 1, service: 'backup-copy-orchestrator' });
    expect(perDestination?.OldestCopyAgeHours).toBeGreaterThan(36);

    // The backfill starts the one recovery point lacking a copy; the row is OK again.
    const backfillAt = (now: Date) =>
      backfill(
        {
          backup,
          ledger: s.ledger,
          sfn: s.sfn,
          policy,
          stateMachineArn: s.stepFunctions.stateMachineArn,
          now: () => now,
        },
        { vault: 'primary', since, perMinute: 600, dryRun: false },
      );
    // Two at once, as a run and its re-run after an interruption might: one execution, one copy job.
    const [filled] = await Promise.all([backfillAt(at(7)), backfillAt(at(7))]);
    expect(filled).toMatchObject({ listed: 2, complete: 1, started: 1, alreadyStarted: 0 });
    expect(filled?.toStart).toMatchObject([{ recoveryPointArn: second, destinations: [DR_WEST] }]);
    await s.settle();
    const backfills = s.stepFunctions.executions().filter((e) => e.name.startsWith('backfill-'));
    expect(backfills.map((e) => e.status)).toEqual(['SUCCEEDED']);
    const again = await coverageAt(at(7));
    expect(again.rows).toMatchObject([
      { status: 'OK', newestCopy: { recoveryPointArn: second, ageHours: 0.5 } },
    ]);

    // A second backfill finds nothing missing and starts nothing.
    expect(await backfillAt(at(7))).toMatchObject({ listed: 2, complete: 2, started: 0, toStart: [] });
    expect(s.emulator.copyJobs()).toHaveLength(2);
  });

  it('lists a resource never copied as NEVER, and one AWS failed to copy with the reason', async () => {
    const policy = policyFor([{}, { vaultArn: DR_ISOLATED, rpoHours: 2 }]);
    const { stack: s, backup } = await startStack(policy);
    const now = new Date();
    seedBackup(s, new Date(now.getTime() - 3 * HOUR_MS));
    const failing = 'arn:aws:ec2:us-east-1:111111111111:volume/vol-0fffffffffffffff0';
    s.failNextCopyTo([DR_ISOLATED]);
    await s.deliver(manualInput(seedBackup(s, new Date(now.getTime() - HOUR_MS), failing)));
    await s.settle();

    const coverage = await measureCoverage(
      { backup, ledger: s.ledger, policy, now },
      { since: new Date(now.getTime() - 24 * HOUR_MS) },
    );
    const rows = coverage.rows.map((r) => [r.resourceArn, r.destinationVaultArn, r.status, r.outsideRpo]);
    expect(rows).toEqual([
      [VOLUME, DR_WEST, 'NEVER', false],
      [VOLUME, DR_ISOLATED, 'NEVER', true],
      [failing, DR_WEST, 'OK', false],
      [failing, DR_ISOLATED, 'NEVER', false],
    ]);
    expect(coverage.rows[3]?.lastFailure?.reason).toContain('injected by --fail-copy');
    // Two Limit-1 queries per row, each one eventually consistent read unit or less.
    expect(coverage.ledgerReads.queries).toBe(8);
    expect(coverage.ledgerReads.readUnits).toBeGreaterThan(0);
    expect(coverage.ledgerReads.readUnits).toBeLessThanOrEqual(8);
  });

  it('lists a destination the planner refused as REFUSED, with the rule it broke', async () => {
    const policy = policyFor([
      { vaultArn: DR_ISOLATED, iamRoleArn: `arn:aws:iam::${DR_ACCOUNT}:role/copy` },
      {},
    ]);
    const { stack: s, backup } = await startStack(policy);
    const now = new Date();
    await s.deliver(manualInput(seedBackup(s, new Date(now.getTime() - HOUR_MS))));
    await s.settle();

    const coverage = await measureCoverage(
      { backup, ledger: s.ledger, policy, now },
      { since: new Date(now.getTime() - 24 * HOUR_MS) },
    );
    const rows = coverage.rows.map((r) => [r.destinationVaultArn, r.status]);
    expect(rows).toEqual([
      [DR_WEST, 'OK'],
      [DR_ISOLATED, 'REFUSED'],
    ]);
    expect(coverage.rows[1]?.lastFailure?.reason).toContain('must be in the source account');
  });
});

describe('npm run coverage and npm run backfill', () => {
  it('exit 1 while a resource was never copied, backfill it, then exit 0 with the row OK', async () => {
    const policy = policyFor([{ rpoHours: 6 }]);
    const { stack: s } = await startStack(policy);
    const dir = await mkdtemp(join(tmpdir(), 'coverage-command-'));
    try {
      const policyFile = join(dir, 'policy.json');
      await writeFile(policyFile, JSON.stringify(policy));
      const env = localCommandEnvironment({
        AWS_ENDPOINT_URL_BACKUP: s.emulator.endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoDbEndpoint'),
        AWS_ENDPOINT_URL_SFN: s.stepFunctions.endpoint,
        LEDGER_TABLE: s.ledger.tableName,
        STATE_MACHINE_ARN: s.stepFunctions.stateMachineArn,
      });
      const arn = seedBackup(s, new Date(Date.now() - 2 * HOUR_MS));

      const never = await runCommand('coverage.ts', ['--policy', policyFile, '--json'], env);
      expect(never.code).toBe(1);
      expect(JSON.parse(never.stdout).rows).toMatchObject([{ resourceArn: VOLUME, status: 'NEVER' }]);

      const dryRun = await runCommand(
        'backfill.ts',
        ['--vault', 'primary', '--policy', policyFile, '--dry-run', '--json'],
        env,
      );
      expect(dryRun.code).toBe(0);
      expect(JSON.parse(dryRun.stdout)).toMatchObject({ started: 0, toStart: [{ recoveryPointArn: arn }] });
      const filled = await runCommand(
        'backfill.ts',
        ['--vault', 'primary', '--policy', policyFile, '--json'],
        env,
      );
      expect(JSON.parse(filled.stdout)).toMatchObject({ started: 1, toStart: [{ recoveryPointArn: arn }] });
      await s.settle();

      const page = join(dir, 'coverage.html');
      const ok = await runCommand('coverage.ts', ['--policy', policyFile, '--html', page], env);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/OK\s+2h \d+m\s+6h/);
      expect(ok.stdout).toContain(
        '1 rows (1 resources × their destinations): 1 OK, 0 LATE, 0 NEVER, 0 REFUSED',
      );
      expect(await readFile(page, 'utf8')).toContain('<svg id="copies-per-day"');

      const noTable = await runCommand('coverage.ts', ['--policy', policyFile], { ...env, LEDGER_TABLE: '' });
      expect(noTable.code).toBe(2);
      expect(usageLine(noTable)).toBe('--table (or env LEDGER_TABLE) is required');
      const otherVault = await runCommand(
        'backfill.ts',
        ['--vault', 'elsewhere', '--policy', policyFile],
        env,
      );
      expect(otherVault.code).toBe(2);
      expect(usageLine(otherVault)).toContain('--vault elsewhere is not a source vault of the policy');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
