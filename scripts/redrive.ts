import { SFNClient } from '@aws-sdk/client-sfn';
import { createDocumentClient } from '../lib/aws/clients.js';
import { CopyLedger } from '../lib/aws/ledger.js';
import {
  findRedrivable,
  type RedriveAction,
  type RedriveResult,
  redriveAll,
} from '../lib/operations/redrive.js';
import { createProgress, formatTable, parseTime } from '../lib/operations/table.js';
import { commandLine, exitWithUsage } from './command-line.js';

const USAGE = `Usage: npm run redrive -- [options]

Finds the copy workflow's executions that FAILED, TIMED_OUT or were ABORTED in a time window and were never
re-driven, says why each failed (the execution's error and history, and the ledger), and re-drives them.
An execution Step Functions will not re-drive (older than 14 days, say) is started anew with the same input
as <name>-rerun-<n>. Executions whose input was refused (InputRejected) are listed but left alone unless
--include-rejected, which starts them anew (after the policy was fixed, say).

Options:
  --state-machine-arn <arn>  the copy state machine (default: env STATE_MACHINE_ARN)
  --table <name>             the ledger table (default: env LEDGER_TABLE)
  --since <when>             executions that stopped since: ISO date or 90m, 24h, 7d (default 24h)
  --limit <n>                at most n executions, oldest first
  --dry-run                  explain and say what would be done; change nothing
  --include-rejected         start executions whose input was refused anew too
  --json                     print one JSON object: {stateMachineArn, since, dryRun, counts, results}
  --help                     this text

Endpoints, region and credentials come from the AWS SDK's usual environment
(AWS_ENDPOINT_URL_SFN and AWS_ENDPOINT_URL_DYNAMODB point it at local services).
Exit code: 0 when nothing failed, 1 when some execution could not be handled, 2 for bad options.`;

const values = commandLine(USAGE, {
  'state-machine-arn': { type: 'string' },
  table: { type: 'string' },
  since: { type: 'string', default: '24h' },
  limit: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  'include-rejected': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
});
function usageError(message: string): never {
  return exitWithUsage(USAGE, message);
}

const stateMachineArn = values['state-machine-arn'] ?? process.env.STATE_MACHINE_ARN;
const table = values.table ?? process.env.LEDGER_TABLE;
if (!stateMachineArn) usageError('--state-machine-arn (or env STATE_MACHINE_ARN) is required');
if (!table) usageError('--table (or env LEDGER_TABLE) is required');
const limit = values.limit === undefined ? undefined : Number(values.limit);
if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
  usageError('--limit must be a positive integer');
let since: Date;
try {
  since = parseTime('since', values.since, new Date());
} catch (error) {
  usageError((error as Error).message);
}

const sfn = new SFNClient({});
const documents = createDocumentClient();
const deps = { sfn, ledger: new CopyLedger(documents, table), stateMachineArn };
const executions = await findRedrivable({ sfn, stateMachineArn, since, ...(limit ? { limit } : {}) });
console.error(`${executions.length} unsuccessful executions not yet re-driven since ${since.toISOString()}`);

const progress = createProgress(
  process.stderr,
  values['dry-run'] ? 'explaining' : 're-driving',
  executions.length,
);
const options = { dryRun: values['dry-run'], includeRejected: values['include-rejected'] };
const results = await redriveAll(deps, executions, options, (_, done) => progress.update(done));
progress.end();

const counts: Record<RedriveAction, number> = { redriven: 0, restarted: 0, skipped: 0, failed: 0 };
for (const result of results) counts[result.action] += 1;

if (values.json) {
  const summary = { stateMachineArn, since: since.toISOString(), dryRun: options.dryRun, counts, results };
  console.log(JSON.stringify(summary, null, 2));
} else if (results.length === 0) {
  console.log('Nothing to re-drive.');
} else {
  console.log(
    formatTable<RedriveResult>(results, [
      { header: 'EXECUTION', value: (r) => r.name, maxWidth: 40 },
      { header: 'STATUS', value: (r) => r.status },
      { header: 'ERROR', value: (r) => r.error, maxWidth: 30 },
      { header: 'ACTION', value: (r) => r.action },
      { header: 'DETAIL', value: (r) => r.detail, maxWidth: 60 },
      { header: 'REASON', value: (r) => r.reason, maxWidth: 80 },
    ]),
  );
  console.log(
    `\n${Object.entries(counts)
      .map(([action, count]) => `${count} ${action}`)
      .join(', ')}`,
  );
}
sfn.destroy();
documents.destroy();
process.exitCode = counts.failed > 0 ? 1 : 0;
