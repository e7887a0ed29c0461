import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import type { LedgerRecord } from '../../lib/domain/ledger-record.js';
import { escapeControl } from '../../lib/operations/table.js';
import { createLedgerTable, documentClient, localCommandEnvironment } from '../../local/dynamodb-local.js';
import { DR_WEST } from '../../local/factories.js';
import { runCommand, usageLine } from '../support/run-command.js';

const ESC = '\u001b[2J';
const dir = mkdtempSync(join(tmpdir(), 'command-line-'));
/** Writes `content` to a file in a temporary directory and returns its path. */
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}
const sample = (name: string) => JSON.parse(readFileSync(`events/${name}`, 'utf8'));
const BACKUP_JOB = 'events/backup-job-completed.json';

/** The environment report and redrive get, short of what each case leaves out. */
const operatorEnvironment = (variables: Record<string, string> = {}) =>
  localCommandEnvironment({
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoDbEndpoint'),
    AWS_ENDPOINT_URL_SFN: 'http://127.0.0.1:1',
    LEDGER_TABLE: 'ledger',
    STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:copy',
    ...variables,
  });
const without = (env: NodeJS.ProcessEnv, ...names: string[]) =>
  Object.fromEntries(Object.entries(env).filter(([name]) => !names.includes(name)));

const COMMANDS = [
  ['simulate', 'simulate.ts'],
  ['policy:check', 'policy-check.ts'],
  ['report', 'report.ts'],
  ['redrive', 'redrive.ts'],
  ['local', 'local.ts'],
  ['bench', 'bench/index.ts'],
  ['coverage', 'coverage.ts'],
  ['backfill', 'backfill.ts'],
] as const;

describe('every command', () => {
  it.each(COMMANDS)('%s --help prints its usage and exits 0', async (name, script) => {
    const result = await runCommand(script, ['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: npm run ${name}`);
  });

  it.each(COMMANDS)('%s refuses an unknown flag with exit 2 and one line naming it', async (_, script) => {
    const result = await runCommand(script, ['--no-such-flag'], operatorEnvironment());
    expect(result.code).toBe(2);
    expect(usageLine(result)).toBe("Unknown option '--no-such-flag' (see --help)");
  });

  it('prints a stack trace for a usage error only with --debug', async () => {
    const result = await runCommand('simulate.ts', ['--time-scale', '0', '--event', BACKUP_JOB, '--debug']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/UsageError: --time-scale must be a number greater than 0.*\n\s+at /);
  });
});

describe('bench', () => {
  it.each([
    [
      ['--sections', 'burst,speed'],
      '--sections: unknown section speed (known: burst, cost, cold-start, handler-time)',
    ],
    [
      ['--cells', 'full-size,huge'],
      '--cells: unknown cell huge (known: full-size, global-10, retry-only, outage)',
    ],
    [['--recovery-points', '1.5'], '--recovery-points must be a whole number greater than 0, got "1.5"'],
    [['--copy-minutes', '0'], '--copy-minutes must be a number greater than 0, got "0"'],
  ])('refuses %j with exit 2 and one line, before measuring anything', async (args, line) => {
    const result = await runCommand('bench/index.ts', [...args, '--quick']);
    expect(result.code).toBe(2);
    expect(usageLine(result)).toBe(line);
  });
});

describe('simulate', () => {
  it.each([
    [['--concurrency-limit', 'abc'], '--concurrency-limit must be a whole number at least 1, got "abc"'],
    [['--copy-slots=-1'], '--copy-slots must be a whole number at least 0, got "-1"'],
    [['--time-scale', '0'], '--time-scale must be a number greater than 0, got "0"'],
    [['--faults', 'StartCopyJob'], '--faults entry "StartCopyJob" is not [Service.]Operation:Error[:count]'],
    [['--faults', 'S3.GetObject:SlowDown'], '--faults service "S3" is not one of Backup, DynamoDB, SFN'],
    [
      ['--faults', 'DynamoDB.UpdateItems:Throttling'],
      '--faults operation "UpdateItems" is not a DynamoDB operation',
    ],
  ])('refuses %j with exit 2 before starting anything', async (args, message) => {
    const result = await runCommand('simulate.ts', ['--event', BACKUP_JOB, ...args]);
    expect(result.code).toBe(2);
    expect(usageLine(result)).toBe(message);
  });

  it.each([
    ['an empty --event file', 'empty.json', '', 'the file is empty, expected JSON'],
    ['a non-JSON --event file', 'broken.json', '{"detail-type":', 'not JSON'],
  ])('refuses %s with exit 2 naming the file', async (_, name, content, message) => {
    const path = file(name, content);
    const result = await runCommand('simulate.ts', ['--event', path]);
    expect(result.code).toBe(2);
    expect(usageLine(result)).toContain(`--event ${path}: ${message}`);
  });

  it('exits 2 with one line when there is no Java to run DynamoDB Local', async () => {
    const result = await runCommand(
      'simulate.ts',
      ['--event', BACKUP_JOB],
      localCommandEnvironment({ PATH: dir }),
    );
    expect(result.code).toBe(2);
    expect(usageLine(result)).toBe('DynamoDB Local needs Java 17+ on PATH: cannot run java (ENOENT)');
  });

  it('refuses an invalid --policy with exit 2, one line per problem', async () => {
    const policy = file('two-problems.yml', 'version: 2\nrules: []\n');
    const result = await runCommand('simulate.ts', ['--event', BACKUP_JOB, '--policy', policy]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      `--policy ${policy}: 3 problems (npm run policy:check explains)`,
      expect.stringMatching(/^ {2}version = 2: /),
      expect.stringMatching(/^ {2}allowed = missing: /),
      expect.stringMatching(/^ {2}rules = \[\]: /),
    ]);
  });

  it.each([
    [
      'a Copy Job State Change (events/copy-job-completed.json)',
      () => 'events/copy-job-completed.json',
      'events/copy-job-completed.json: no execution, the intake rule ignores it: detail-type is "Copy Job State Change", the rule wants "Backup Job State Change" or "Recovery Point State Change"',
    ],
    [
      'a backup job that FAILED',
      () =>
        file(
          'failed.json',
          JSON.stringify({ ...sample('backup-job-completed.json'), detail: { state: 'FAILED' } }),
        ),
      'failed.json: no execution, the intake rule ignores it: neither detail.state "COMPLETED" (it is "FAILED") nor detail.status "COMPLETED" or "AVAILABLE" (it is missing)',
    ],
    [
      'an event from another source, second in its file',
      () =>
        file(
          'other-source.json',
          JSON.stringify([
            sample('copy-job-completed.json'),
            { ...sample('backup-job-completed.json'), source: 'my.app' },
          ]),
        ),
      'other-source.json[1]: no execution, the intake rule ignores it: source is "my.app", the rule wants "aws.backup"',
    ],
    [
      'an empty array',
      () => file('nothing.json', '[]'),
      'nothing.json: no execution, an empty array: no input to deliver',
    ],
  ])('says which input matched no intake rule and why, and exits 1: %s', async (_, path, reason) => {
    const result = await runCommand('simulate.ts', ['--event', path()]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(reason);
    expect(result.stdout).toContain('Result: FAILED');
  });

  it('lists unmatched inputs in its --json document', async () => {
    const result = await runCommand('simulate.ts', ['--event', 'events/copy-job-completed.json', '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      status: 'FAILED',
      unmatched: [
        { source: 'events/copy-job-completed.json', reason: expect.stringContaining('detail-type') },
      ],
      executions: [],
    });
  });

  it('prints exactly one JSON document under --json, metrics summed inside it', async () => {
    const result = await runCommand('simulate.ts', ['--event', BACKUP_JOB, '--json']);
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document).toMatchObject({ status: 'SUCCEEDED', unmatched: [] });
    expect(document.copyJobs).toHaveLength(3);
    expect(document.metrics.CopiesStarted).toMatchObject({ unit: 'Count', sum: 3 });
    expect(result.stdout).not.toContain('"_aws"');
  });

  it('puts the coverage after the run in the --json document with --coverage', async () => {
    const result = await runCommand('simulate.ts', ['--event', BACKUP_JOB, '--coverage', '--json']);
    expect(result.code).toBe(0);
    const { coverage } = JSON.parse(result.stdout);
    // The sample event's resource, copied to each of copy-policy.yml's destinations for it.
    expect(coverage.summary).toMatchObject({ rows: 3, resources: 1, byStatus: { OK: 3, LATE: 0, NEVER: 0 } });
  });

  it('prints the coverage table after the run, a row per line', async () => {
    const result = await runCommand('simulate.ts', ['--event', BACKUP_JOB, '--coverage']);
    expect(result.code).toBe(0);
    const table = result.stdout.slice(result.stdout.indexOf('Coverage (npm run coverage):')).split('\n');
    expect(table[1]).toMatch(/^RESOURCE +TYPE +DESTINATION +STATUS/);
    expect(table.filter((line) => / OK /.test(line))).toHaveLength(3);
    expect(result.stdout).not.toContain('\\u000a');
  });

  it('escapes control characters of an ARN in its trace, and ties Map states to their destination', async () => {
    const arn = `arn:aws:backup:us-east-1:111111111111:recovery-point:${ESC}evil`;
    const input = file(
      'escape.json',
      JSON.stringify({ recoveryPointArn: arn, sourceBackupVaultName: 'primary' }),
    );
    const result = await runCommand('simulate.ts', ['--event', input, '--event', BACKUP_JOB]);
    expect(result.stdout).not.toContain('\u001b');
    expect(result.stdout).toContain(escapeControl(ESC));
    // Copies of one resource take turns (one job per resource), so a destination may have waited for its slot,
    // more than once when its WaitForCopySlot joined while a granter had it out of the queue and found the slot
    // still busy (the task then goes back to the copy task, which queues the copy again).
    const waited = '(WaitForCopySlot → CopyToDestination → CopyEnded → )*';
    expect(result.stdout).toMatch(
      new RegExp(`      ${DR_WEST}\n        CopyToDestination → CopyEnded → ${waited}CopyDone  ⇒ COMPLETED`),
    );
  });
});

describe('policy:check', () => {
  const VALID = 'copy-policy.yml';
  const policy = (rules: string, accounts = "  accounts: ['111111111111']\n") =>
    `version: 1\nallowed:\n  partition: aws\n${accounts}  regions: [us-east-1, us-west-2]\nrules:\n${rules}`;
  const destination = (vault: string, lifecycle = '') =>
    `      - vaultArn: arn:aws:backup:us-west-2:111111111111:backup-vault:${vault}\n        iamRoleArn: arn:aws:iam::111111111111:role/copy\n${lifecycle}`;
  const rule = (name: string, match: string, ...destinations: string[]) =>
    `  - name: ${name}\n    match:\n      sourceVaults: [primary]\n${match}    destinations:\n${destinations.join('')}`;
  const COLD = '        lifecycle: {MoveToColdStorageAfterDays: 30, DeleteAfterDays: 365}\n';

  it('checks every file given and exits 1 when any is invalid', async () => {
    const invalid = file('invalid.yml', 'version: 1\nrules: []\n');
    const result = await runCommand('policy-check.ts', [VALID, invalid, VALID]);
    expect(result.code).toBe(1);
    expect(result.stdout.match(/copy-policy\.yml: valid/g)).toHaveLength(2);
    expect(result.stderr).toContain(`${invalid}: invalid, 2 problems`);
    expect(result.stderr).toContain('  allowed = missing: ');
  });

  it('exits 0 when every file given is valid, and reports each in --json', async () => {
    const other = file('other-valid.yml', policy(rule('r', '', destination('dr'))));
    const result = await runCommand('policy-check.ts', [VALID, other, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      valid: true,
      files: [
        { file: VALID, valid: true },
        { file: other, valid: true },
      ],
    });
  });

  it('refuses a destination equal to a source vault of its rule in the deployment Region, and only there', async () => {
    const sameVault =
      '      - vaultArn: arn:aws:backup:us-east-1:111111111111:backup-vault:primary\n        iamRoleArn: arn:aws:iam::111111111111:role/copy\n';
    const policyFile = file('same-vault.yml', policy(rule('r', '', sameVault)));
    const refused = await runCommand('policy-check.ts', [policyFile, '--region', 'us-east-1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      '  rules[0].destinations[0].vaultArn = "arn:aws:backup:us-east-1:111111111111:backup-vault:primary": must not be a source vault of its rule',
    );
    const elsewhere = await runCommand('policy-check.ts', [policyFile, '--region', 'us-west-2']);
    expect(elsewhere.code).toBe(0);
    const withoutRegion = await runCommand('policy-check.ts', [policyFile], { PATH: process.env.PATH });
    expect(withoutRegion.code).toBe(0);
    expect(withoutRegion.stdout).toContain('warning: (deployment): no --region (or AWS_REGION)');
  });

  it('exits 2 naming a file it cannot read', async () => {
    const result = await runCommand('policy-check.ts', [VALID, 'no-such-policy.yml']);
    expect(result.code).toBe(2);
    expect(usageLine(result)).toBe('no-such-policy.yml: cannot read it (ENOENT)');
  });

  it.each([
    [
      'cold storage on a resource type without it',
      policy(rule('ebs-cold', '      resourceTypes: [EBS]\n', destination('dr', COLD))),
      'warning: rules[0].destinations[0].lifecycle.MoveToColdStorageAfterDays: ignored by AWS Backup for EBS: EBS does not support cold storage unless OptInToArchiveForSupportedResources is true',
    ],
    [
      'cold storage on a rule matching every resource type',
      policy(rule('all-cold', '', destination('dr', COLD))),
      'warning: rules[0].destinations[0].lifecycle.MoveToColdStorageAfterDays: rule all-cold matches every resource type; AWS Backup ignores cold storage for all but DynamoDB, EFS, SAP HANA on Amazon EC2, Timestream, VirtualMachine',
    ],
    [
      'a destination whose settings lose to an earlier rule',
      policy(
        rule('everything', '', destination('dr', '        lifecycle: {DeleteAfterDays: 35}\n')) +
          rule('file-systems', '      resourceTypes: [EFS]\n', destination('dr', COLD)),
      ),
      "warning: rules[1].destinations[0]: rule file-systems's settings for arn:aws:backup:us-west-2:111111111111:backup-vault:dr lose to earlier rule everything for every recovery point it matches",
    ],
    [
      'a rule shadowed by an earlier one',
      policy(
        rule('everything', '', destination('dr')) +
          rule('ec2', '      resourceTypes: [EC2]\n', destination('dr')),
      ),
      'warning: rules[1]: rule ec2 is shadowed: earlier rules match every recovery point it matches and already copy to all its vaults',
    ],
    [
      'a resource type that is not an API ResourceType value',
      policy(rule('typo', '      resourceTypes: [EFSX]\n', destination('dr'))),
      'warning: rules[0].match.resourceTypes[0]: "EFSX" is not an AWS Backup ResourceType value, so this never matches; did you mean EFS?',
    ],
  ])('warns, and still exits 0, about %s', async (_, content, warning) => {
    const result = await runCommand('policy-check.ts', [file('warned.yml', content)]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(warning);
  });

  it('hints at an unquoted account id and at Inherit for inherit', async () => {
    const content = policy(
      rule('r', '', destination('dr', '        lifecycle: Inherit\n')),
      '  accounts: [111111111111, 012345678901]\n',
    );
    const result = await runCommand('policy-check.ts', [file('slips.yml', content)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "hint: allowed.accounts[0]: YAML read 111111111111 as a number: quote account ids ('111111111111')",
    );
    expect(result.stderr).toContain(
      "hint: allowed.accounts[1]: YAML read 12345678901 as a number: quote account ids ('012345678901')",
    );
    expect(result.stderr).toContain(
      'hint: rules[0].destinations[0].lifecycle: "Inherit" is case-sensitive: write inherit',
    );
  });

  it('prints nothing but the policy under --emit, and problems on stderr', async () => {
    const ok = await runCommand('policy-check.ts', [VALID, '--emit']);
    expect(JSON.parse(ok.stdout)).toMatchObject({ version: 1 });
    const refused = await runCommand('policy-check.ts', [file('emit-invalid.yml', 'version: 3\n'), '--emit']);
    expect(refused).toMatchObject({ code: 1, stdout: '' });
  });
});

describe.each([
  ['report', 'report.ts'],
  ['redrive', 'redrive.ts'],
])('%s', (name, script) => {
  it.each([
    ['no table', without(operatorEnvironment(), 'LEDGER_TABLE'), '--table (or env LEDGER_TABLE) is required'],
    [
      'no region',
      without(operatorEnvironment(), 'AWS_REGION'),
      'no AWS region: set AWS_REGION (or a profile with a region)',
    ],
    [
      'no credentials',
      { ...without(operatorEnvironment(), 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'), HOME: dir },
      'no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE',
    ],
  ])('exits 2 with one line for %s', async (_, env, message) => {
    const result = await runCommand(script, [], { ...env, HOME: dir });
    expect(result.code).toBe(2);
    expect(usageLine(result)).toBe(message);
  });

  it('exits 2 naming the endpoint variable when the ledger does not answer', async () => {
    const variable = 'AWS_ENDPOINT_URL_DYNAMODB';
    const result = await runCommand(script, [], operatorEnvironment({ [variable]: 'http://127.0.0.1:1' }));
    expect(result.code).toBe(2);
    expect(usageLine(result)).toMatch(
      new RegExp(`^cannot reach .* at http://127\\.0\\.0\\.1:1 \\(${variable}\\): `),
    );
  });

  it('exits 2 naming a table that does not exist', async () => {
    const result = await runCommand(script, [], operatorEnvironment({ LEDGER_TABLE: 'no-such-table' }));
    expect(result.code).toBe(2);
    expect(usageLine(result)).toBe(
      'table no-such-table (--table or env LEDGER_TABLE) does not exist at DynamoDB',
    );
  });

  it.runIf(name === 'redrive')(
    'exits 2 naming AWS_ENDPOINT_URL_SFN when Step Functions does not answer',
    async () => {
      const table = `ledger-redrive-${Date.now()}`;
      await createLedgerTable(inject('dynamoDbEndpoint'), table);
      const result = await runCommand(script, [], operatorEnvironment({ LEDGER_TABLE: table }));
      expect(result.code).toBe(2);
      expect(usageLine(result)).toMatch(
        /^cannot reach .* at http:\/\/127\.0\.0\.1:1 \(AWS_ENDPOINT_URL_SFN\): /,
      );
    },
  );

  it('exits 2 for a --since it cannot read', async () => {
    const result = await runCommand(script, ['--since', 'yesterday'], operatorEnvironment());
    expect(result.code).toBe(2);
    expect(usageLine(result)).toMatch(/^--since must be an ISO date/);
  });
});

describe('report', () => {
  it('exits 2 when --since is after --until', async () => {
    const result = await runCommand('report.ts', ['--since', '1h', '--until', '2h'], operatorEnvironment());
    expect(result.code).toBe(2);
    expect(usageLine(result)).toMatch(/^--since \(.*\) must be before --until \(.*\)$/);
  });

  it('prints an ESC sequence from the ledger escaped', async () => {
    const endpoint = inject('dynamoDbEndpoint');
    const table = `ledger-escape-${Date.now()}`;
    await createLedgerTable(endpoint, table);
    const now = new Date().toISOString();
    const item: LedgerRecord = {
      recoveryPointArn: `arn:aws:backup:us-east-1:111111111111:recovery-point:${ESC}x`,
      destinationVaultArn: `${DR_WEST}${ESC}`,
      status: 'FAILED',
      statusRank: 3,
      attempt: 1,
      executionArn: 'arn:aws:states:us-east-1:111111111111:execution:copy:x',
      createdAt: now,
      updatedAt: now,
      lastError: { name: 'CopyJobFailedError', message: `vault said ${ESC}no` },
    };
    const documents = documentClient(endpoint);
    await documents.send(new PutCommand({ TableName: table, Item: item }));
    documents.destroy();

    const result = await runCommand('report.ts', [], operatorEnvironment({ LEDGER_TABLE: table }));

    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('\u001b');
    expect(result.stdout).toContain(`${DR_WEST}\\u001b[2J`);
    expect(result.stdout).toContain('vault said \\u001b[2Jno');
  });
});
