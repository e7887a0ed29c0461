import type { AwsFault, AwsService } from '../local/aws-faults.js';
import type { BackupOperation } from '../local/backup-emulator.js';
import {
  createProgress,
  EXIT,
  numberOption,
  onExit,
  parseCommandLine,
  readEventFiles,
  run,
  UsageError,
} from './command-line.js';
import type { SimulationDocument, Trace } from './simulation-report.js';

const USAGE = `Usage: npm run simulate -- --event <file> [--event <file> ...] [options]

Runs the whole service on this machine: the real state machine (aws-local-stepfunctions), the real
handlers, DynamoDB Local and the AWS Backup emulator. Each event (a file may hold one input or a JSON
array of them) becomes its own execution, all delivered concurrently. Events go through the intake
rule's pattern from serverless.yml (an event it ignores is reported with the reason, and fails the run);
other JSON is an operator's manual input.

Options:
  --event <file>            input to deliver (repeatable)
  --policy <file>           copy policy (default copy-policy.yml)
  --json                    print one JSON object: {status, unmatched, executions, copyJobs, ledger, metrics}
  --copy-slots <n>          copies in flight per (source account, destination Region), the service's
                            COPY_SLOTS (default 100; 0: no slots, throttling handled by retries alone)
  --copy-quotas <r,v,x>     AWS Backup's concurrent copy quotas the emulator enforces: per account and
                            destination Region, more per destination vault once that is full, per resource
                            (default 100,5,1, AWS's)
  --concurrency-limit <n>   an account-wide cap on copy jobs AWS Backup runs at once, on top of the quotas,
                            for quick experiments (default: none)
  --copy-duration <ms>      how long each copy job takes, in emulator milliseconds (default 0)
  --faults <list>           inject errors: [Service.]Operation:Error[:count][,...], Service Backup
                            (default), DynamoDB or SFN; Error an AWS error code (answered in the
                            service's wire format with AWS's status), an HTTP status (503), or a
                            Node network code (ECONNRESET drops the connection)
                            e.g. StartCopyJob:ThrottlingException,DynamoDB.UpdateItem:ProvisionedThroughputExceededException:3
  --fail-copy <vault-arn>   the next copy job to this destination vault ends FAILED (repeatable)
  --drop-copy-events        never deliver Copy Job State Change events (exercises the polling fallback)
  --coverage                after the run, print the DR coverage table (npm run coverage), in --json as
                            "coverage"
  --time-scale <x>          state machine time per real time: 0.001 makes a 2 s retry wait 2 ms (default 0.001)
  --debug                   print stack traces of errors
  --help                    this text

Exit code: 0 when every input started an execution and every execution SUCCEEDED; 1 otherwise;
2 for bad options or files.`;

/** Every operation the emulator can inject a fault into (a Record, so the compiler keeps it complete). */
const BACKUP_OPERATIONS: Record<BackupOperation, true> = {
  StartCopyJob: true,
  DescribeCopyJob: true,
  ListCopyJobs: true,
  DescribeRecoveryPoint: true,
  ListRecoveryPointsByBackupVault: true,
};

/** The operations of each service a fault can name: the emulator's, and the SDK's own commands for the others. */
async function operationsOf(service: AwsService): Promise<string[]> {
  const commands = (sdk: object) =>
    Object.keys(sdk).flatMap((name) => (/^[A-Z]\w+Command$/.test(name) ? [name.slice(0, -7)] : []));
  if (service === 'DynamoDB') return commands(await import('@aws-sdk/client-dynamodb'));
  if (service === 'SFN') return commands(await import('@aws-sdk/client-sfn'));
  return Object.keys(BACKUP_OPERATIONS);
}

const SERVICES: readonly AwsService[] = ['Backup', 'DynamoDB', 'SFN'];

/** `[Service.]Operation:Error[:count]`, comma-separated; no service means Backup. */
async function parseFaults(list: string | undefined): Promise<AwsFault[]> {
  return Promise.all(
    (list?.split(',') ?? []).map(async (fault) => {
      const [target = '', error, count, ...rest] = fault.split(':');
      if (!error || rest.length > 0) {
        throw new UsageError(
          `--faults entry ${JSON.stringify(fault)} is not [Service.]Operation:Error[:count]`,
        );
      }
      const [service, operation] = target.includes('.') ? target.split('.', 2) : ['Backup', target];
      if (!SERVICES.includes(service as AwsService)) {
        throw new UsageError(
          `--faults service ${JSON.stringify(service)} is not one of ${SERVICES.join(', ')}`,
        );
      }
      const operations = await operationsOf(service as AwsService);
      if (!operations.includes(operation ?? '')) {
        throw new UsageError(
          `--faults operation ${JSON.stringify(operation)} is not a ${service} operation` +
            (service === 'Backup' ? ` the emulator serves (${operations.join(', ')})` : ''),
        );
      }
      const times = count === undefined ? 1 : numberOption('faults count', count, { integer: true, min: 1 });
      return { service: service as AwsService, operation: operation as string, error, count: times };
    }),
  );
}

/** One input with where it came from: `file`, or `file[i]` for an element of a file's array. */
async function main(): Promise<number> {
  const { values } = parseCommandLine(USAGE, {
    event: { type: 'string', multiple: true, default: [] },
    policy: { type: 'string', default: 'copy-policy.yml' },
    'copy-slots': { type: 'string', default: '100' },
    'copy-quotas': { type: 'string', default: '100,5,1' },
    'concurrency-limit': { type: 'string' },
    'copy-duration': { type: 'string', default: '0' },
    faults: { type: 'string' },
    'fail-copy': { type: 'string', multiple: true, default: [] },
    'drop-copy-events': { type: 'boolean', default: false },
    coverage: { type: 'boolean', default: false },
    'time-scale': { type: 'string', default: '0.001' },
  });
  if (values.event.length === 0) throw new UsageError('--event <file> is required (see --help)');
  const copySlots = numberOption('copy-slots', values['copy-slots'], { integer: true, min: 0 });
  const concurrencyLimit =
    values['concurrency-limit'] === undefined
      ? undefined
      : numberOption('concurrency-limit', values['concurrency-limit'], { integer: true, min: 1 });
  const quotas = values['copy-quotas'].split(',');
  if (quotas.length !== 3)
    throw new UsageError(
      `--copy-quotas must be three numbers r,v,x, got ${JSON.stringify(values['copy-quotas'])}`,
    );
  const [perRegion, perVaultOverflow, perResource] = quotas.map((quota, i) =>
    numberOption(`copy-quotas (${['per Region', 'per vault', 'per resource'][i]})`, quota, {
      integer: true,
      min: 1,
    }),
  ) as [number, number, number];
  const copyDurationMs = numberOption('copy-duration', values['copy-duration']);
  const timeScale = numberOption('time-scale', values['time-scale'], { exclusiveMin: true });
  const faults = await parseFaults(values.faults);

  // The handlers' logger reads its level when first imported: keep the trace readable.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const { RejectionError } = await import('../lib/errors.js');
  const { collectMetrics } = await import('../lib/metrics.js');
  const { readPolicyFile } = await import('../lib/policy-file.js');
  const { whyIntakeIgnores } = await import('../local/intake-rule.js');
  const { MetricsSummary } = await import('../local/metrics-summary.js');
  const { formatReport } = await import('./simulation-report.js');

  const { inputs, emptyFiles } = await readEventFiles(values.event);
  const policy = await readPolicyFile(values.policy).catch((error: unknown) => {
    if (!(error instanceof RejectionError)) throw error;
    throw new UsageError(
      `--policy ${values.policy}: ${error.violations.length} problem${error.violations.length === 1 ? '' : 's'} (npm run policy:check explains)`,
      error.violations.map((v) => `  ${v.field} = ${JSON.stringify(v.value) ?? 'missing'}: ${v.rule}`),
      { cause: error },
    );
  });

  const verdicts = inputs.map((input) => ({ ...input, ignoredBecause: whyIntakeIgnores(input.value) }));
  const unmatched = [
    ...emptyFiles.map((file) => ({ source: file, reason: 'an empty array: no input to deliver' })),
    ...verdicts.flatMap(({ source, ignoredBecause }) =>
      ignoredBecause === undefined
        ? []
        : [{ source, reason: `the intake rule ignores it: ${ignoredBecause}` }],
    ),
  ];
  const delivered = verdicts.filter(({ ignoredBecause }) => ignoredBecause === undefined);

  const metrics = new MetricsSummary();
  collectMetrics((emf) => metrics.add(emf));
  // Nothing to deliver: no need to start the local service to say so.
  let report: SimulationDocument = {
    status: 'FAILED',
    unmatched,
    executions: [],
    copyJobs: [],
    ledger: [],
    metrics: metrics.toJSON(),
  };
  let trace: Trace = { executions: [], sources: new Map() };

  if (delivered.length > 0) {
    const { LocalService } = await import('../local/local-service.js');
    const { DynamoDbLocalError } = await import('../local/dynamodb-local.js');
    const stack = await LocalService.start({
      policy,
      timeScale,
      copySlots,
      faults,
      emulator: {
        copyDurationMs,
        copyQuotas: { perRegion, perVaultOverflow, perResource },
        dropCopyJobEvents: values['drop-copy-events'],
        ...(concurrencyLimit !== undefined ? { concurrencyLimit } : {}),
      },
    }).catch((error: unknown) => {
      // No Java is this machine's environment, not the run's outcome.
      throw error instanceof DynamoDbLocalError ? new UsageError(error.message, [], { cause: error }) : error;
    });
    onExit(() => stack.close());
    stack.failNextCopyTo(values['fail-copy']);
    for (const { value } of delivered) stack.seedFor(value);

    const sources = new Map<string, string>();
    await Promise.all(
      delivered.map(async ({ source, value }) => {
        const executionArn = await stack.deliver(value);
        if (executionArn) sources.set(executionArn, source);
      }),
    );
    const progress = createProgress(process.stderr, 'executions ended', delivered.length);
    const showProgress = () =>
      progress.update(stack.stepFunctions.executions().filter((e) => e.status !== 'RUNNING').length);
    const ticker = setInterval(showProgress, 500);
    try {
      await stack.settle();
    } finally {
      clearInterval(ticker);
      showProgress();
      progress.end();
    }
    const local = await stack.report();
    report = {
      ...report,
      ...local,
      status: local.status === 'SUCCEEDED' && unmatched.length === 0 ? 'SUCCEEDED' : 'FAILED',
      metrics: metrics.toJSON(),
    };
    if (values.coverage) {
      const { defaultCoverageWindowHours, measureCoverage } = await import('../lib/coverage.js');
      const now = new Date();
      const since = new Date(now.getTime() - defaultCoverageWindowHours(policy) * 3_600_000);
      report.coverage = await measureCoverage(
        { backup: stack.runtime.backup, ledger: stack.ledger, policy, now },
        { since },
      );
    }
    trace = { executions: stack.stepFunctions.executions(), sources };
  }

  console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report, trace));
  return report.status === 'SUCCEEDED' ? EXIT.ok : EXIT.failure;
}

run(main);
