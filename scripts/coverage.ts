import { writeFile } from 'node:fs/promises';
import { BackupClient } from '@aws-sdk/client-backup';
import { createDocumentClient } from '../lib/aws/clients.js';
import { CopyLedger } from '../lib/aws/ledger.js';
import { defaultCoverageWindowHours, measureCoverage } from '../lib/coverage.js';
import { coverageFails } from '../lib/domain/coverage.js';
import { RejectionError } from '../lib/errors.js';
import { coveragePage, formatCoverage } from '../lib/operations/coverage-output.js';
import { readPolicyFile } from '../lib/policy-file.js';
import {
  createProgress,
  EXIT,
  failingEnvironment,
  onExit,
  type Progress,
  parseCommandLine,
  requireAwsEnvironment,
  required,
  run,
  timeOption,
  UsageError,
} from './command-line.js';

const USAGE = `Usage: npm run coverage -- [options]

DR coverage: every resource with a recovery point in the policy's source vaults (ListRecoveryPointsByBackupVault)
times every destination the policy gives it, with the age of its newest COMPLETED copy there (from the
ledger's resource index) and a status: OK, LATE (older than the destination's rpoHours), NEVER (no copy), or
REFUSED (the policy or AWS refused the copy); the last failure's reason; then the counts.

Options:
  --table <name>    the ledger table (default: env LEDGER_TABLE)
  --policy <file>   the copy policy (default copy-policy.yml)
  --since <when>    resources with a recovery point created since: ISO date or 90m, 24h, 7d
                    (default 7d, or twice the policy's longest rpoHours)
  --html <file>     also write a self-contained page: the table and a chart of copies per day per destination
  --json            print the coverage as one JSON object
  --debug           print stack traces of errors
  --help            this text

Endpoints, region and credentials come from the AWS SDK's usual environment (AWS_ENDPOINT_URL_BACKUP,
AWS_ENDPOINT_URL_DYNAMODB point it at the emulator and DynamoDB Local).
Exit code: 0 when every row is OK or REFUSED; 1 when any row is LATE or NEVER; 2 for bad options or
environment.`;

async function main(): Promise<number> {
  const { values } = parseCommandLine(USAGE, {
    table: { type: 'string' },
    policy: { type: 'string', default: 'copy-policy.yml' },
    since: { type: 'string' },
    html: { type: 'string' },
  });
  const table = required('table', values.table, 'LEDGER_TABLE');
  const policy = await readPolicyFile(values.policy).catch((error: unknown) => {
    if (!(error instanceof RejectionError)) throw error;
    throw new UsageError(`--policy ${values.policy}: invalid (npm run policy:check explains)`, [], {
      cause: error,
    });
  });
  const now = new Date();
  const since = timeOption('since', values.since ?? `${defaultCoverageWindowHours(policy)}h`, now);
  if (since >= now) throw new UsageError(`--since (${since.toISOString()}) must be in the past`);

  const documents = createDocumentClient();
  const backup = new BackupClient({});
  onExit(() => {
    documents.destroy();
    backup.destroy();
  });
  await requireAwsEnvironment(documents);
  const ledger = new CopyLedger(documents, table);
  // One read first, so a missing table is named as such and not mistaken for a missing vault.
  await ledger
    .get({ recoveryPointArn: '#coverage-probe', destinationVaultArn: '*' })
    .catch(failingEnvironment({ service: 'DynamoDB', endpointVariable: 'AWS_ENDPOINT_URL_DYNAMODB', table }));
  let bar: Progress | undefined;
  const report = await measureCoverage(
    { backup, ledger, policy, now },
    {
      since,
      history: values.html !== undefined,
      onProgress: (done, total) => {
        bar ??= createProgress(process.stderr, 'rows', total);
        bar.update(done);
      },
    },
  ).catch(failingEnvironment({ service: 'AWS Backup', endpointVariable: 'AWS_ENDPOINT_URL_BACKUP' }));
  bar?.end();
  if (values.html !== undefined) {
    const file = values.html;
    await writeFile(file, coveragePage(report)).catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`--html ${file}: cannot write it (${error.code})`, [], { cause: error });
    });
  }
  console.log(values.json ? JSON.stringify(report, null, 2) : formatCoverage(report));
  return coverageFails(report) ? EXIT.failure : EXIT.ok;
}

run(main);
