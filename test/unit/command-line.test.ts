import { describe, expect, it } from 'vitest';
import type { CopyPolicy, CopyRule } from '../../lib/domain/policy.js';
import { documentHints, policyWarnings } from '../../lib/domain/policy-warnings.js';
import { escapeControl, formatTable } from '../../lib/operations/table.js';
import { backupJobCompleted, COPY_ROLE, DR_ISOLATED, DR_WEST, manualInput } from '../../local/factories.js';
import { whyIntakeIgnores } from '../../local/intake-rule.js';
import { MetricsSummary } from '../../local/metrics-summary.js';
import { numberOption, timeWindow, UsageError } from '../../scripts/command-line.js';

describe('escapeControl', () => {
  it.each([
    ['ESC[2J', '\u001b[2J', '\\u001b[2J'],
    ['a bell and a NUL', 'a\u0007b\u0000', 'a\\u0007b\\u0000'],
    ['DEL and a C1 CSI', '\u007f\u009b', '\\u007f\\u009b'],
    ['a right-to-left override', 'abc\u202edcba', 'abc\\u202edcba'],
    [
      'plain text, unchanged',
      'arn:aws:backup:us-east-1:1:backup-vault:dr → é',
      'arn:aws:backup:us-east-1:1:backup-vault:dr → é',
    ],
  ])('writes %s as visible text', (_, text, escaped) => {
    expect(escapeControl(text)).toBe(escaped);
  });

  it('is applied to every table cell, after whitespace runs become one space', () => {
    const table = formatTable([{ arn: 'x\u001b[2J\n\ty' }], [{ header: 'ARN', value: (r) => r.arn }]);
    expect(table).toBe('ARN\nx\\u001b[2J y');
  });
});

describe('option parsers', () => {
  it.each([
    ['abc', { integer: true, min: 1 }, '--n must be a whole number at least 1, got "abc"'],
    ['', {}, '--n must be a number at least 0, got ""'],
    ['1.5', { integer: true }, '--n must be a whole number at least 0, got "1.5"'],
    ['0', { exclusiveMin: true }, '--n must be a number greater than 0, got "0"'],
    ['Infinity', {}, '--n must be a number at least 0, got "Infinity"'],
  ])('refuses %j for %j naming the option', (text, options, message) => {
    expect(() => numberOption('n', text, options)).toThrow(new UsageError(message));
  });

  it('accepts a number within bounds', () => {
    expect(numberOption('n', '0.001', { exclusiveMin: true })).toBe(0.001);
  });

  it('refuses a window whose --since is not before --until', () => {
    const now = new Date('2026-05-02T12:00:00Z');
    expect(() => timeWindow('1h', '2h', now)).toThrow(
      /^--since \(2026-05-02T11:00:00\.000Z\) must be before --until/,
    );
    expect(timeWindow('2h', '1h', now)).toEqual({
      since: new Date('2026-05-02T10:00:00Z'),
      until: new Date('2026-05-02T11:00:00Z'),
    });
  });
});

describe('whyIntakeIgnores', () => {
  it('says nothing for inputs the intake rule starts an execution for, and for manual input', () => {
    expect(whyIntakeIgnores(backupJobCompleted())).toBeUndefined();
    expect(whyIntakeIgnores(manualInput())).toBeUndefined();
  });

  it('names the field, its value and what the rule wants', () => {
    expect(whyIntakeIgnores({ ...backupJobCompleted(), 'detail-type': 'Restore Job State Change' })).toBe(
      'detail-type is "Restore Job State Change", the rule wants "Backup Job State Change" or "Recovery Point State Change"',
    );
    expect(whyIntakeIgnores(backupJobCompleted(undefined, { state: 'ABORTED' }))).toBe(
      'neither detail.state "COMPLETED" (it is "ABORTED") nor detail.status "COMPLETED" or "AVAILABLE" (it is missing)',
    );
  });

  it('names every field that fails', () => {
    const event = { ...backupJobCompleted(), source: 'aws.ec2', 'detail-type': 'EBS Snapshot Notification' };
    expect(whyIntakeIgnores(event)?.split('; ')).toEqual([
      'source is "aws.ec2", the rule wants "aws.backup"',
      expect.stringMatching(/^detail-type is "EBS Snapshot Notification"/),
    ]);
  });
});

describe('MetricsSummary', () => {
  it('adds up the EMF documents of a run per metric', () => {
    const summary = new MetricsSummary();
    const emf = (metrics: Record<string, number | number[]>, unit = 'Count') => ({
      _aws: {
        Timestamp: 0,
        CloudWatchMetrics: [
          {
            Namespace: 'n',
            Dimensions: [['service']] as [string[]],
            Metrics: Object.keys(metrics).map((Name) => ({ Name, Unit: unit as never })),
          },
        ],
      },
      ...metrics,
    });
    summary.add(emf({ CopiesStarted: [1, 1] }));
    summary.add(emf({ CopiesStarted: 1 }));
    summary.add(emf({ CopyDurationSeconds: [2.5, 0.5] }, 'Seconds'));
    expect(summary.toJSON()).toEqual({
      CopiesStarted: { unit: 'Count', samples: 3, sum: 3, max: 1 },
      CopyDurationSeconds: { unit: 'Seconds', samples: 2, sum: 3, max: 2.5 },
    });
  });
});

describe('policyWarnings', () => {
  const destination = (vaultArn: string, lifecycle?: CopyRule['destinations'][number]['lifecycle']) => ({
    vaultArn,
    iamRoleArn: COPY_ROLE,
    ...(lifecycle ? { lifecycle } : {}),
  });
  const rule = (
    name: string,
    match: Partial<CopyRule['match']>,
    ...destinations: CopyRule['destinations']
  ) => ({
    name,
    match: { sourceVaults: ['primary'], ...match },
    destinations,
  });
  const policy = (...rules: CopyRule[]): CopyPolicy => ({
    version: 1,
    allowed: { partition: 'aws', accounts: [], regions: [] },
    rules,
  });

  it('says nothing about rules that cannot match the same recovery point', () => {
    expect(
      policyWarnings(
        policy(
          rule('a', { sourceVaults: ['primary'] }, destination(DR_WEST, { DeleteAfterDays: 35 })),
          rule('b', { sourceVaults: ['other'] }, destination(DR_WEST, { DeleteAfterDays: 70 })),
          rule('c', { resourceTypes: ['EFS'], resourceArnPattern: 'arn:aws:x' }, destination(DR_ISOLATED)),
          rule(
            'd',
            { resourceTypes: ['EFS'], resourceArnPattern: 'arn:aws:y' },
            destination(DR_ISOLATED, 'inherit'),
          ),
        ),
      ),
    ).toEqual([]);
  });

  it('warns about a later destination losing only for the recovery points both rules match', () => {
    const warnings = policyWarnings(
      policy(
        rule('efs', { resourceTypes: ['EFS'] }, destination(DR_WEST, { DeleteAfterDays: 35 })),
        rule('all', {}, destination(DR_WEST, { DeleteAfterDays: 70 }), destination(DR_ISOLATED)),
      ),
    );
    expect(warnings).toEqual([
      {
        field: 'rules[1].destinations[0]',
        message: expect.stringContaining('lose to earlier rule efs for recovery points both rules match'),
      },
    ]);
  });

  it('does not call a rule shadowed when one of its vaults is new', () => {
    const warnings = policyWarnings(
      policy(
        rule('all', {}, destination(DR_WEST)),
        rule('ebs', { resourceTypes: ['EBS'] }, destination(DR_WEST), destination(DR_ISOLATED)),
      ),
    );
    expect(warnings).toEqual([]);
  });

  it('leaves cold storage alone where AWS honours it', () => {
    const cold = { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 365 };
    expect(
      policyWarnings(policy(rule('efs', { resourceTypes: ['EFS', 'DynamoDB'] }, destination(DR_WEST, cold)))),
    ).toEqual([]);
  });
});

describe('documentHints', () => {
  it('says nothing about quoted account ids and inherit', () => {
    expect(
      documentHints({ allowed: { accounts: ['111111111111'] }, rules: [{ lifecycle: 'inherit' }] }),
    ).toEqual([]);
  });
});
