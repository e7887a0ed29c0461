import { BackupClient } from '@aws-sdk/client-backup';
import { createDocumentClient, createSfnClient } from '../lib/aws/clients.js';
import { CopyLedger } from '../lib/aws/ledger.js';
import { type BackfillResult, backfill } from '../lib/backfill.js';
import { RejectionError } from '../lib/errors.js';
import { readPolicyFile } from '../lib/policy-file.js';
import {
  createProgress,
  EXIT,
  escapeControl,
  failingEnvironment,
  formatTable,
  onExit,
  type Progress,
  parseCommandLine,
  requireAwsEnvironment,
  required,
  run,
  timeOption,
  UsageError,
} from './command-line.js';

const USAGE = `Usage: npm run backfill -- --vault <name> [options]

Brings existing backups under the service: starts the copy workflow for every recovery point of the vault
that the policy gives destinations and that lacks a COMPLETED copy in some of them (copies PENDING or RUNNING
are left to finish), with the manual input {recoveryPointArn, sourceBackupVaultName, destinations}. Each
execution is named from the recovery point and its missing destinations, so a second run, or one after an
interruption, starts nothing twice.

Options:
  --vault <name>       the source vault (one of the policy's source vaults)
  --since <when>       recovery points created since: ISO date or 90m, 24h, 7d (default 30d)
  --rate <n>/<unit>    executions started at most, per min or per s (default 60/min)
  --dry-run            list what would start, start nothing
  --policy <file>      the copy policy (default copy-policy.yml)
  --table <name>       the ledger table (default: env LEDGER_TABLE)
  --state-machine <arn> the copy state machine (default: env STATE_MACHINE_ARN)
  --json               print the summary as one JSON object
  --debug              print stack traces of errors
  --help               this text

Endpoints, region and credentials come from the AWS SDK's usual environment (AWS_ENDPOINT_URL_BACKUP,
AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SFN point it at the local stack).
Exit code: 0 when every execution needed was started (or exists already); 2 for bad options or environment.`;

/** `60/min` or `2/s` as executions per minute. */
function parseRate(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\/(min|s)$/.exec(text);
  const value = Number(match?.[1]);
  if (!match || !(value > 0))
    throw new UsageError(`--rate must be like 60/min or 2/s (greater than 0), got ${JSON.stringify(text)}`);
  return match[2] === 's' ? value * 60 : value;
}

function formatSummary(result: BackfillResult): string {
  const verb = result.dryRun ? 'would start' : 'started';
  const lines = [
    escapeControl(`Backfill of vault ${result.vault}, recovery points created since ${result.since}`),
    formatTable(
      [
        ['listed', result.listed],
        ['not copyable', result.notCopyable],
        ['no destination in the policy', result.notMatched],
        ['copied everywhere already', result.complete],
        ['copies under way', result.inProgress],
        [`lacking a copy (${verb})`, result.toStart.length],
        ['  execution existed already', result.alreadyStarted],
        ['  started now', result.started],
      ] as const,
      [
        { header: 'RECOVERY POINTS', value: (row) => row[0] },
        { header: 'COUNT', value: (row) => row[1] },
      ],
    ),
  ];
  if (result.toStart.length > 0) {
    lines.push(
      formatTable(result.toStart, [
        { header: 'RECOVERY POINT', value: (s) => s.recoveryPointArn },
        { header: 'MISSING IN', value: (s) => s.destinations.join(', '), maxWidth: 120 },
        { header: 'EXECUTION', value: (s) => s.executionName },
      ]),
    );
  }
  return lines.join('\n\n');
}

async function main(): Promise<number> {
  const { values } = parseCommandLine(USAGE, {
    vault: { type: 'string' },
    since: { type: 'string', default: '30d' },
    rate: { type: 'string', default: '60/min' },
    'dry-run': { type: 'boolean', default: false },
    policy: { type: 'string', default: 'copy-policy.yml' },
    table: { type: 'string' },
    'state-machine': { type: 'string' },
  });
  if (!values.vault) throw new UsageError('--vault <name> is required (see --help)');
  const vault = values.vault;
  const table = required('table', values.table, 'LEDGER_TABLE');
  const stateMachineArn = required('state-machine', values['state-machine'], 'STATE_MACHINE_ARN');
  const perMinute = parseRate(values.rate);
  const now = new Date();
  const since = timeOption('since', values.since, now);
  const policy = await readPolicyFile(values.policy).catch((error: unknown) => {
    if (!(error instanceof RejectionError)) throw error;
    throw new UsageError(`--policy ${values.policy}: invalid (npm run policy:check explains)`, [], {
      cause: error,
    });
  });
  const sourceVaults = new Set(policy.rules.flatMap((rule) => rule.match.sourceVaults));
  if (!sourceVaults.has(vault)) {
    throw new UsageError(
      `--vault ${vault} is not a source vault of the policy (${[...sourceVaults].join(', ')})`,
    );
  }

  const documents = createDocumentClient();
  const backup = new BackupClient({});
  const sfn = createSfnClient();
  onExit(() => {
    for (const client of [documents, backup, sfn]) client.destroy();
  });
  await requireAwsEnvironment(documents);
  const ledger = new CopyLedger(documents, table);
  // One read first, so a missing table is named as such and not mistaken for a missing vault.
  await ledger
    .get({ recoveryPointArn: '#backfill-probe', destinationVaultArn: '*' })
    .catch(failingEnvironment({ service: 'DynamoDB', endpointVariable: 'AWS_ENDPOINT_URL_DYNAMODB', table }));
  let bar: Progress | undefined;
  const result = await backfill(
    { backup, ledger, sfn, policy, stateMachineArn, now: () => new Date() },
    {
      vault,
      since,
      perMinute,
      dryRun: values['dry-run'],
      onProgress: (done, total) => {
        bar ??= createProgress(process.stderr, 'recovery points', total);
        bar.update(done);
      },
    },
  )
    .catch(failingEnvironment({ service: 'AWS Backup', endpointVariable: 'AWS_ENDPOINT_URL_BACKUP' }))
    .catch(failingEnvironment({ service: 'Step Functions', endpointVariable: 'AWS_ENDPOINT_URL_SFN' }));
  bar?.end();
  console.log(values.json ? JSON.stringify(result, null, 2) : formatSummary(result));
  return EXIT.ok;
}

run(main);
