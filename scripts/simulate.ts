import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

const USAGE = `Usage: npm run simulate -- --event <file> [--event <file> ...] [options]

Runs the whole service on this machine: the real state machine (aws-local-stepfunctions), the real
handlers, DynamoDB Local and the AWS Backup emulator. Each event (a file may hold one input or a JSON
array of them) becomes its own execution, all delivered concurrently. Events go through the intake
rule's pattern from serverless.yml; other JSON is an operator's manual input.

Options:
  --event <file>            input to deliver (repeatable)
  --policy <file>           copy policy (default copy-policy.yml)
  --json                    print one JSON object: {status, executions, copyJobs, ledger}
  --concurrency-limit <n>   copy jobs AWS Backup runs at once before LimitExceededException (default: none)
  --copy-duration <ms>      how long each copy job takes, in emulator milliseconds (default 0)
  --faults <list>           inject errors: Operation:ErrorName:count[,...]
                            e.g. StartCopyJob:ServiceUnavailableException:3; ErrorName ECONNRESET
                            drops the connection without an answer
  --fail-copy <vault-arn>   the next copy job to this destination vault ends FAILED (repeatable)
  --drop-copy-events        never deliver Copy Job State Change events (exercises the polling fallback)
  --time-scale <x>          state machine time per real time: 0.001 makes a 2 s retry wait 2 ms (default 0.001)
  --help                    this text

Exit code: 0 when every execution SUCCEEDED, 1 otherwise.`;

const { values } = parseArgs({
  options: {
    event: { type: 'string', multiple: true, default: [] },
    policy: { type: 'string', default: 'copy-policy.yml' },
    json: { type: 'boolean', default: false },
    'concurrency-limit': { type: 'string' },
    'copy-duration': { type: 'string', default: '0' },
    faults: { type: 'string' },
    'fail-copy': { type: 'string', multiple: true, default: [] },
    'drop-copy-events': { type: 'boolean', default: false },
    'time-scale': { type: 'string', default: '0.001' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help || values.event.length === 0) {
  console.log(USAGE);
  process.exit(values.help ? 0 : 2);
}

// The handlers' logger reads its level when first imported: keep the trace readable.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
const { readPolicyFile } = await import('../lib/policy-file.js');
const { LocalService } = await import('../local/local-service.js');
const { formatReport } = await import('./simulation-report.js');

function number(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`--${name} must be a non-negative number, got ${text}`);
  return value;
}

const inputs = (
  await Promise.all(values.event.map(async (file) => JSON.parse(await readFile(file, 'utf8')) as unknown))
).flatMap((content) => (Array.isArray(content) ? content : [content]));

const concurrencyLimit = number('concurrency-limit', values['concurrency-limit']);
const stack = await LocalService.start({
  policy: await readPolicyFile(values.policy),
  timeScale: number('time-scale', values['time-scale']) ?? 0.001,
  emulator: {
    copyDurationMs: number('copy-duration', values['copy-duration']) ?? 0,
    dropCopyJobEvents: values['drop-copy-events'],
    ...(concurrencyLimit !== undefined ? { concurrencyLimit } : {}),
  },
});
try {
  for (const fault of values.faults?.split(',') ?? []) {
    const [operation, error, count] = fault.split(':');
    if (!operation || !error) throw new Error(`--faults entry ${fault} is not Operation:ErrorName[:count]`);
    stack.emulator.injectFault({ operation: operation as never, error, count: number('faults', count) ?? 1 });
  }
  for (const vaultArn of values['fail-copy']) {
    stack.emulator.failCopy(
      { destinationBackupVaultArn: vaultArn },
      { state: 'FAILED', message: 'injected by --fail-copy' },
    );
  }
  for (const input of inputs) stack.seedFor(input);
  await Promise.all(inputs.map((input) => stack.deliver(input)));
  await stack.settle();
  const report = await stack.report();
  console.log(
    values.json ? JSON.stringify(report, null, 2) : formatReport(report, stack.stepFunctions.executions()),
  );
  process.exitCode = report.status === 'SUCCEEDED' ? 0 : 1;
} finally {
  await stack.close();
}
