import { createDocumentClient, createSfnClient } from '../lib/aws/clients.js';
import { CopyLedger } from '../lib/aws/ledger.js';
import {
  findRedrivable,
  type RedriveAction,
  type RedriveResult,
  redriveAll,
} from '../lib/operations/redrive.js';
import {
  createProgress,
  EXIT,
  escapeControl,
  failingEnvironment,
  formatTable,
  numberOption,
  onExit,
  parseCommandLine,
  requireAwsEnvironment,
  required,
  run,
  timeOption,
} from './command-line.js';

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
  --debug                    print stack traces of errors
  --help                     this text

Endpoints, region and credentials come from the AWS SDK's usual environment
(AWS_ENDPOINT_URL_SFN and AWS_ENDPOINT_URL_DYNAMODB point it at local services).
Exit code: 0 when nothing failed, 1 when some execution could not be handled, 2 for bad options or
environment (no state machine, table, region or credentials; an unreachable endpoint).`;

async function main(): Promise<number> {
  const { values } = parseCommandLine(USAGE, {
    'state-machine-arn': { type: 'string' },
    table: { type: 'string' },
    since: { type: 'string', default: '24h' },
    limit: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    'include-rejected': { type: 'boolean', default: false },
  });
  const stateMachineArn = required('state-machine-arn', values['state-machine-arn'], 'STATE_MACHINE_ARN');
  const table = required('table', values.table, 'LEDGER_TABLE');
  const limit =
    values.limit === undefined ? undefined : numberOption('limit', values.limit, { integer: true, min: 1 });
  const since = timeOption('since', values.since, new Date());

  const sfn = createSfnClient();
  const documents = createDocumentClient();
  onExit(() => {
    sfn.destroy();
    documents.destroy();
  });
  await requireAwsEnvironment(sfn);
  const ledger = new CopyLedger(documents, table);
  // The ledger explains every execution: a missing or unreachable table is the environment's fault, said up front.
  await ledger
    .get({ recoveryPointArn: 'redrive-probe', destinationVaultArn: '*' })
    .catch(failingEnvironment({ service: 'DynamoDB', endpointVariable: 'AWS_ENDPOINT_URL_DYNAMODB', table }));
  const deps = { sfn, ledger, stateMachineArn };
  const executions = await findRedrivable({ sfn, stateMachineArn, since, ...(limit ? { limit } : {}) }).catch(
    failingEnvironment({ service: 'Step Functions', endpointVariable: 'AWS_ENDPOINT_URL_SFN' }),
  );
  console.error(
    `${executions.length} unsuccessful executions not yet re-driven since ${since.toISOString()}`,
  );

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
      escapeControl(
        `\n${Object.entries(counts)
          .map(([action, count]) => `${count} ${action}`)
          .join(', ')}`,
      ),
    );
  }
  return counts.failed > 0 ? EXIT.failure : EXIT.ok;
}

run(main);
