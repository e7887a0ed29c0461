import { numberOption, onExit, parseCommandLine, readEventFiles, run, UsageError } from './command-line.js';

const USAGE = `Usage: npm run local -- [options]

Runs the whole service on this machine until Ctrl-C, on fixed 127.0.0.1 ports: DynamoDB Local with the ledger
table, the AWS Backup emulator, and the local Step Functions service running the real state machine with the
real handlers in-process (copy job events reach copyJobEvents as the EventBridge rule would deliver them).
Prints the variables that point the AWS SDK at it, as export lines: \`serverless invoke local\`, \`npm run report\`
and \`npm run redrive\` then run against it.

The emulator knows the recovery points of every --event file. Any other recovery point in a vault that exists
(the policy's source vaults, and those of the events) is described as a completed EBS backup, so a function can
be tried on any ARN; give an event for another resource type.

Options:
  --policy <file>         the copy policy (default copy-policy.yml; serverless invoke local reads the same
                          file: pass it --param policy=<file> for another)
  --event <file>          seeds the recovery point of each event or manual input in the file (a JSON object
                          or array); repeatable
  --copy-duration <ms>    how long each copy job runs (default 0: done at once)
  --fail-copy <vault ARN> the first copy job to this destination vault fails (repeatable): an execution to
                          try npm run redrive on
  --dynamodb-port <port>  DynamoDB Local (default 8000)
  --backup-port <port>    the AWS Backup emulator (default 8001)
  --sfn-port <port>       the Step Functions service (default 8083)
  --json                  print the variables as one JSON object instead
  --debug                 print the stack trace of a start-up failure
  --help                  this text

Exit codes: 0 stopped by Ctrl-C (SIGINT) or SIGTERM; 2 bad usage or it could not start (a port in use, no Java).`;

function port(name: string, text: string): number {
  const value = numberOption(name, text, { min: 1, integer: true });
  if (value > 65_535) throw new UsageError(`--${name} must be a port number (1-65535), got ${text}`);
  return value;
}

/** A start-up failure is the environment's (a port in use, no Java): one line naming what, exit 2. */
const cannotStart = (what: string) => (error: unknown) => {
  throw new UsageError(`${what}: ${(error as Error).message ?? error}`, [], { cause: error });
};

async function main(): Promise<number> {
  const { values } = parseCommandLine(USAGE, {
    policy: { type: 'string', default: 'copy-policy.yml' },
    event: { type: 'string', multiple: true, default: [] },
    'copy-duration': { type: 'string', default: '0' },
    'fail-copy': { type: 'string', multiple: true, default: [] },
    'dynamodb-port': { type: 'string', default: '8000' },
    'backup-port': { type: 'string', default: '8001' },
    'sfn-port': { type: 'string', default: '8083' },
  });
  const ports = {
    dynamoDb: port('dynamodb-port', values['dynamodb-port']),
    backup: port('backup-port', values['backup-port']),
    sfn: port('sfn-port', values['sfn-port']),
  };
  const copyDurationMs = numberOption('copy-duration', values['copy-duration']);
  const inputs = (await readEventFiles(values.event)).inputs.map((input) => input.value);

  // Handlers log and emit metrics to stdout, which carries only the variables: quiet unless asked for.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const { readPolicyFile } = await import('../lib/policy-file.js');
  const { DUMMY_CREDENTIALS, ensurePortFree, startDynamoDbLocal } = await import(
    '../local/dynamodb-local.js'
  );
  const { LocalService } = await import('../local/local-service.js');
  const { stageName } = await import('../local/serverless-functions.js');

  const policy = await readPolicyFile(values.policy).catch(cannotStart(`--policy ${values.policy}`));
  for (const [option, number] of [
    ['--dynamodb-port', ports.dynamoDb],
    ['--backup-port', ports.backup],
    ['--sfn-port', ports.sfn],
  ] as const) {
    await ensurePortFree(number).catch(cannotStart(option));
  }

  const dynamo = await startDynamoDbLocal({ port: ports.dynamoDb }).catch(cannotStart('DynamoDB Local'));
  onExit(() => dynamo.stop());
  // The names serverless.yml gives the dev stage: invoke local's own LEDGER_TABLE is then already right.
  const ledgerTable = stageName('ledgerTableName');
  const service = await LocalService.start({
    policy,
    dynamoDbEndpoint: dynamo.endpoint,
    ledgerTable,
    emulator: { port: ports.backup, copyDurationMs, describeUnseededRecoveryPoints: true },
    stepFunctions: { port: ports.sfn, stateMachineName: stageName('stateMachineName') },
  }).catch(cannotStart('the local service'));
  onExit(() => service.close());
  const seeded = inputs.filter((input) => service.seedFor(input) !== undefined).length;
  service.failNextCopyTo(values['fail-copy']);

  const variables = {
    AWS_REGION: 'us-east-1',
    // The account `serverless invoke local` runs in (it gives no invokedFunctionArn): the emulator's.
    AWS_ACCOUNT_ID: service.emulator.options.accountId,
    AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_BACKUP: service.emulator.endpoint,
    AWS_ENDPOINT_URL_SFN: service.stepFunctions.endpoint,
    LEDGER_TABLE: ledgerTable,
    STATE_MACHINE_ARN: service.stepFunctions.stateMachineArn,
  };
  console.log(
    values.json
      ? JSON.stringify(variables)
      : Object.entries(variables)
          .map(([name, value]) => `export ${name}=${value}`)
          .join('\n'),
  );
  console.error(
    `Running: DynamoDB Local ${dynamo.endpoint}, AWS Backup emulator ${service.emulator.endpoint}, ` +
      `Step Functions ${service.stepFunctions.endpoint}; ${seeded} recovery points seeded. Ctrl-C stops it.`,
  );
  // Runs until a signal: for this command, Ctrl-C is how a run ends well.
  return new Promise<number>(() => {});
}

run(main, { signalsEndNormally: true });
