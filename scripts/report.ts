import { createDocumentClient } from '../lib/aws/clients.js';
import { PLAN_KEY } from '../lib/domain/ledger-record.js';
import { buildReport, type LedgerReport, readLedgerWindow } from '../lib/operations/report.js';
import {
  type Column,
  EXIT,
  escapeControl,
  failingEnvironment,
  formatAge,
  formatTable,
  numberOption,
  onExit,
  parseCommandLine,
  requireAwsEnvironment,
  required,
  run,
  timeWindow,
} from './command-line.js';

const USAGE = `Usage: npm run report -- [options]

Summarizes the copy ledger for a time window (items by their last update): copies by status and by
destination, plans by status, every FAILED or REJECTED copy and REJECTED plan with its reason, and the
copies still PENDING or RUNNING, oldest first (whenever they started).

Options:
  --table <name>   the ledger table (default: env LEDGER_TABLE)
  --since <when>   ISO date or a span back from now: 90m, 24h, 7d (default 24h)
  --until <when>   same forms (default: now)
  --oldest <n>     how many in-progress copies to list (default 10)
  --json           print the report as one JSON object
  --debug          print stack traces of errors
  --help           this text

Endpoint, region and credentials come from the AWS SDK's usual environment
(AWS_ENDPOINT_URL_DYNAMODB points it at DynamoDB Local).
Exit code: 0 when the report was printed; 2 for bad options or environment (no table, region or
credentials, an unreachable endpoint, a table that does not exist).`;

/** The part of an ARN after its last colon: the recovery point's id. */
const resourceId = (arn: string) => arn.slice(arn.lastIndexOf(':') + 1);
const destination = (arn: string) => (arn === PLAN_KEY ? '(plan)' : arn);

const listOf = <T>(rows: readonly T[], columns: Column<T>[]) =>
  rows.length === 0 ? '  none' : formatTable(rows, columns);

function formatReport(table: string, r: LedgerReport): string {
  const statuses = Object.keys(r.copies.byStatus) as (keyof typeof r.copies.byStatus)[];
  const sections = [
    escapeControl(`Ledger ${table}: items updated ${r.since} → ${r.until}`),
    `Copies: ${r.copies.total} (${statuses.map((s) => `${r.copies.byStatus[s]} ${s}`).join(', ')})` +
      `\nPlans: ${r.plans.total} (${Object.entries(r.plans.byStatus)
        .map(([status, count]) => `${count} ${status}`)
        .join(', ')})`,
    formatTable(r.copies.byDestination, [
      { header: 'DESTINATION', value: (d) => d.destinationVaultArn },
      ...statuses.map((s) => ({
        header: s,
        value: (d: (typeof r.copies.byDestination)[number]) => d.byStatus[s],
      })),
      { header: 'TOTAL', value: (d) => d.total },
    ]),
    `Failures (${r.failures.length})\n${listOf(r.failures, [
      { header: 'RECOVERY POINT', value: (f) => resourceId(f.recoveryPointArn), maxWidth: 40 },
      { header: 'DESTINATION', value: (f) => destination(f.destinationVaultArn) },
      { header: 'STATUS', value: (f) => f.status },
      { header: 'ATTEMPT', value: (f) => f.attempt },
      { header: 'UPDATED', value: (f) => f.updatedAt },
      {
        header: 'ERROR',
        value: (f) => (f.error ? `${f.error.name}: ${f.error.message}` : ''),
        maxWidth: 100,
      },
    ])}`,
    `Oldest in progress (${r.oldestInProgress.length})\n${listOf(r.oldestInProgress, [
      { header: 'RECOVERY POINT', value: (c) => resourceId(c.recoveryPointArn), maxWidth: 40 },
      { header: 'DESTINATION', value: (c) => c.destinationVaultArn },
      { header: 'STATUS', value: (c) => c.status },
      { header: 'ATTEMPT', value: (c) => c.attempt },
      { header: 'COPY JOB', value: (c) => c.copyJobId ?? '' },
      { header: 'SINCE', value: (c) => c.inProgressSince },
      { header: 'AGE', value: (c) => formatAge(c.ageSeconds) },
    ])}`,
    `Waiting for a copy slot (${r.queued.length})\n${listOf(r.queued, [
      { header: 'SLOT', value: (q) => q.slot, maxWidth: 60 },
      { header: 'PLACE', value: (q) => q.place },
      { header: 'RECOVERY POINT', value: (q) => resourceId(q.recoveryPointArn), maxWidth: 40 },
      { header: 'DESTINATION', value: (q) => destination(q.destinationVaultArn) },
      { header: 'QUEUED', value: (q) => q.queuedAt },
      { header: 'AGE', value: (q) => formatAge(q.ageSeconds) },
    ])}`,
  ];
  return sections.join('\n\n');
}

async function main(): Promise<number> {
  const { values } = parseCommandLine(USAGE, {
    table: { type: 'string' },
    since: { type: 'string', default: '24h' },
    until: { type: 'string' },
    oldest: { type: 'string', default: '10' },
  });
  const table = required('table', values.table, 'LEDGER_TABLE');
  const oldest = numberOption('oldest', values.oldest, { integer: true });
  const now = new Date();
  const window = timeWindow(values.since, values.until, now);

  const documents = createDocumentClient();
  onExit(() => documents.destroy());
  await requireAwsEnvironment(documents);
  // Scan pages come without a total: show the running count on a terminal only.
  const scanned = process.stderr.isTTY
    ? (count: number) => process.stderr.write(`\rscanned ${count} items`)
    : undefined;
  const items = await readLedgerWindow(documents, table, window, scanned).catch(
    failingEnvironment({ service: 'DynamoDB', endpointVariable: 'AWS_ENDPOINT_URL_DYNAMODB', table }),
  );
  if (scanned) process.stderr.write('\n');
  const report = buildReport(items, { ...window, now, oldest });
  console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(table, report));
  return EXIT.ok;
}

run(main);
