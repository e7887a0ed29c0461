/**
 * Packages the service with the real toolchain (`serverless package`, see local/serverless-package.ts)
 * and checks the CloudFormation it would deploy. Its IAM roles and encryption are checked in iam.test.ts.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parseCopyPolicy } from '../../lib/domain/policy.js';
import { BackupEmulator } from '../../local/backup-emulator.js';
import { createLedgerTable, documentClient, localCommandEnvironment } from '../../local/dynamodb-local.js';
import { matchesPattern } from '../../local/event-pattern.js';
import { organizationPolicyDocument, SOURCE_ACCOUNT } from '../../local/factories.js';
import {
  type Json,
  packageService,
  ROOT,
  type Run,
  readJson,
  removeTemporaryDirs,
  renderTemplate,
  serverless,
  tempDir,
  unzipFunction,
} from '../../local/serverless-package.js';

const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];
const PSEUDO_PARAMETERS =
  /^AWS::(AccountId|NotificationARNs|NoValue|Partition|Region|StackId|StackName|URLSuffix)$/;

// asl-validator ships no type declarations.
const aslValidator = createRequire(import.meta.url)('asl-validator') as (
  definition: unknown,
  options?: { checkPaths: boolean; checkArn: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

const sample = (name: string) => readJson(join(ROOT, 'events', name));
const withDetail = (event: Json, detail: Json): Json => ({
  ...event,
  detail: { ...event.detail, ...detail },
});

/**
 * The policy this file packages: organization-sized (200 rules x 5 destinations, about 220 KB of JSON, where
 * Lambda's 4 KB of environment variables once held it), with a third allowed account to tell it from
 * copy-policy.yml, and a rule name with `${` in it, which osls must not read as one of its variables.
 */
const organizationPolicy = () => {
  const document = organizationPolicyDocument(200, 5);
  document.allowed.accounts.push('333333333333');
  const [first] = document.rules;
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a rule name that looks like an osls variable
  if (first) first.name = 'costs-${team}';
  return document;
};
/** The functions whose code reads the copy policy: they alone carry it. */
const POLICY_READERS = ['normalizeInput', 'planCopies', 'reconcile'];

let packageDir: string;
let template: Json;
let resources: Record<string, Json>;
let badPolicyRun: Promise<Run>;
let badPolicyDir: string;

function ofType(type: string): [string, Json][] {
  return Object.entries(resources).filter(([, resource]) => resource.Type === type);
}
function onlyOfType(type: string): [string, Json] {
  const found = ofType(type);
  expect(
    found.map(([id]) => id),
    `exactly one ${type}`,
  ).toHaveLength(1);
  return found[0] as [string, Json];
}
/** The AWS::Events::Rule with a target whose Arn deep-equals `arn`. */
function ruleTargeting(arn: unknown): [string, Json, Json] {
  for (const [id, rule] of ofType('AWS::Events::Rule')) {
    const target = (rule.Properties.Targets as Json[]).find(
      (t) => JSON.stringify(t.Arn) === JSON.stringify(arn),
    );
    if (target) return [id, rule, target];
  }
  throw new Error(`no AWS::Events::Rule targets ${JSON.stringify(arn)}`);
}

beforeAll(async () => {
  // The bad-policy run starts now, in its own service copy, and is awaited by its test.
  badPolicyDir = await tempDir('sls-bad-policy-');
  const policy = parseYaml(await readFile(join(ROOT, 'copy-policy.yml'), 'utf8'));
  policy.rules[0].destinations[0].lifecycle = { MoveToColdStorageAfterDays: 10, DeleteAfterDays: 95 };
  await writeFile(join(badPolicyDir, 'bad-policy.yml'), stringifyYaml(policy));
  badPolicyRun = serverless([
    'package',
    '--package',
    join(badPolicyDir, 'package'),
    `--param=policy=${join(badPolicyDir, 'bad-policy.yml')}`,
  ]);

  const policyDir = await tempDir('sls-organization-policy-');
  await writeFile(join(policyDir, 'policy.json'), JSON.stringify(organizationPolicy()));
  ({ dir: packageDir, template } = await packageService([
    `--param=policy=${join(policyDir, 'policy.json')}`,
  ]));
  resources = template.Resources;
});

afterAll(async () => {
  await badPolicyRun?.catch(() => undefined);
  await removeTemporaryDirs();
});

/** Resource names a value refers to through Ref, Fn::GetAtt or Fn::Sub (not the Sub's own variables). */
function references(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) references(item, found);
  else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'Ref' && typeof item === 'string') found.add(item);
      else if (key === 'Fn::GetAtt') found.add(Array.isArray(item) ? item[0] : String(item).split('.')[0]);
      else if (key === 'Fn::Sub') {
        const [text, variables = {}] = Array.isArray(item) ? item : [item];
        for (const match of String(text).matchAll(/\$\{([^!}][^}]*)\}/g)) {
          const name = match[1] as string;
          if (!(name in variables)) found.add(name.split('.')[0] as string);
        }
        references(variables, found);
      } else references(item, found);
    }
  }
  return found;
}

describe('the template as a whole', () => {
  it('refers only to resources, parameters and pseudo parameters it has', () => {
    const known = new Set([...Object.keys(resources), ...Object.keys(template.Parameters ?? {})]);
    const dangling = Object.entries(resources).flatMap(([id, resource]) =>
      [...references(resource), ...[resource.DependsOn ?? []].flat()]
        .filter((name) => !known.has(name) && !PSEUDO_PARAMETERS.test(name))
        .map((name) => `${id} -> ${name}`),
    );
    expect(dangling).toEqual([]);
  });

  it('has no circular dependency between resources (CloudFormation refuses one)', () => {
    const edges = new Map(
      Object.entries(resources).map(([id, resource]) => [
        id,
        [...references(resource.Properties), ...[resource.DependsOn ?? []].flat()].filter(
          (n) => n in resources,
        ),
      ]),
    );
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (id: string, path: string[]) => {
      state.set(id, 'visiting');
      for (const next of edges.get(id) ?? []) {
        const chain = [...path, id];
        if (state.get(next) === 'visiting')
          cycles.push([...chain.slice(chain.indexOf(next)), next].join(' -> '));
        else if (!state.has(next)) visit(next, chain);
      }
      state.set(id, 'done');
    };
    for (const id of edges.keys()) if (!state.has(id)) visit(id, []);
    expect(cycles).toEqual([]);
  });
});

describe('the intake rule (recovery points into the state machine)', () => {
  const rule = () => ruleTargeting({ Ref: onlyOfType('AWS::StepFunctions::StateMachine')[0] });
  const pattern = () => rule()[1].Properties.EventPattern;

  it.each(['backup-job-completed.json', 'recovery-point-completed.json'])('matches %s', async (file) => {
    expect(matchesPattern(pattern(), await sample(file))).toBe(true);
  });

  it.each([
    ['backup-job-completed.json', 'state'],
    ['recovery-point-completed.json', 'status'],
  ])('does not match %s whose %s is RUNNING, FAILED or CREATED', async (file, field) => {
    const event = await sample(file);
    for (const value of ['RUNNING', 'FAILED', 'CREATED']) {
      expect(matchesPattern(pattern(), withDetail(event, { [field]: value })), value).toBe(false);
    }
  });

  it.each<[string, (event: Json) => Promise<Json> | Json]>([
    ['a Copy Job State Change', () => sample('copy-job-completed.json')],
    ['an event from another source', (event) => ({ ...event, source: 'aws.ec2' })],
    ['a Backup Vault State Change', (event) => ({ ...event, 'detail-type': 'Backup Vault State Change' })],
  ])('does not match %s', async (_, make) => {
    expect(matchesPattern(pattern(), await make(await sample('backup-job-completed.json')))).toBe(false);
  });

  it('retries delivery, then dead-letters into an SQS queue', () => {
    const target = rule()[2];
    expect(target.RetryPolicy).toMatchObject({
      MaximumRetryAttempts: expect.any(Number),
      MaximumEventAgeInSeconds: expect.any(Number),
    });
    expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
    const [queueId] = onlyOfType('AWS::SQS::Queue');
    expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } });
  });

  it('lets EventBridge send to the dead-letter queue for this rule only', () => {
    const [ruleId] = rule();
    const [queueId] = onlyOfType('AWS::SQS::Queue');
    const policies = ofType('AWS::SQS::QueuePolicy').filter(([, p]) =>
      (p.Properties.Queues as unknown[]).some((q) => JSON.stringify(q) === JSON.stringify({ Ref: queueId })),
    );
    const statements = policies.flatMap(([, p]) => [p.Properties.PolicyDocument.Statement].flat() as Json[]);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } },
      }),
    );
  });
});

describe('the copy-job-events rule', () => {
  const pattern = () =>
    ruleTargeting({ 'Fn::GetAtt': ['CopyJobEventsLambdaFunction', 'Arn'] })[1].Properties.EventPattern;

  it.each([
    ['COMPLETED', true],
    ['FAILED', true],
    ['RUNNING', false],
    ['CREATED', false],
  ])('a Copy Job State Change in state %s: %s', async (state, expected) => {
    const event = withDetail(await sample('copy-job-completed.json'), { state });
    expect(matchesPattern(pattern(), event)).toBe(expected);
  });
});

describe('the ledger table', () => {
  it('is on demand, keyed by recovery point and destination, recoverable, encrypted and kept', () => {
    const [, table] = onlyOfType('AWS::DynamoDB::Table');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'recoveryPointArn', KeyType: 'HASH' },
        { AttributeName: 'destinationVaultArn', KeyType: 'RANGE' },
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionProtectionEnabled: true,
    });
  });
});

describe('the state machine', () => {
  const fakeArn = (logicalId: string) => `arn:aws:lambda:us-east-1:123456789012:function:${logicalId}`;
  let definition: Json;
  let machine: Json;

  beforeAll(() => {
    [, machine] = onlyOfType('AWS::StepFunctions::StateMachine');
    const sub = machine.Properties.DefinitionString['Fn::Sub'];
    expect(Array.isArray(sub), 'DefinitionString is {"Fn::Sub": [json, variables]}').toBe(true);
    const [text, variables] = sub as [string, Record<string, Json>];
    const json = text.replace(/\$\{([^}]*)\}/g, (placeholder, name: string) => {
      const getAtt = variables[name]?.['Fn::GetAtt'];
      if (!getAtt || resources[getAtt[0]]?.Type !== 'AWS::Lambda::Function') {
        throw new Error(`${placeholder} is not a Lambda function of this template`);
      }
      return fakeArn(getAtt[0]);
    });
    definition = JSON.parse(json);
  });

  /** Every state, nested ones included, by name. */
  const allStates = (states: Json = definition.States): [string, Json][] =>
    Object.entries(states).flatMap(([name, state]: [string, Json]) => [
      [name, state] as [string, Json],
      ...[state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])]
        .filter(Boolean)
        .flatMap((inner: Json) => allStates(inner.States)),
    ]);
  const state = (name: string) => new Map(allStates()).get(name) as Json;

  it('is a Standard workflow', () => {
    expect(machine.Properties.StateMachineType ?? 'STANDARD').toBe('STANDARD');
  });

  it('passes asl-validator', () => {
    const result = aslValidator(structuredClone(definition), { checkPaths: true, checkArn: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('has the expected states', () => {
    expect(Object.keys(definition.States)).toEqual(
      expect.arrayContaining([
        'NormalizeInput',
        'PlanCopies',
        'CopyToDestinations',
        'RecordRejection',
        'Rejected',
      ]),
    );
    expect(definition.StartAt).toBe('NormalizeInput');
    expect(state('CopyToDestinations').Type).toBe('Map');
    expect(state('RecordRejection')).toMatchObject({ Type: 'Task', Next: 'Rejected' });
    expect(state('Rejected').Type).toBe('Fail');
    const copy = definition.States.CopyToDestinations.ItemProcessor.States.CopyToDestination;
    expect(copy).toMatchObject({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: {
        FunctionName: fakeArn('CopyToDestinationLambdaFunction'),
        Payload: { 'taskToken.$': '$$.Task.Token' },
      },
    });
    expect(copy.TimeoutSeconds).toBeGreaterThan(0);
  });

  it('backs off AWS Backup throttling with full jitter, a cap and a growing interval', () => {
    const throttled = allStates().flatMap(([name, s]) =>
      ((s.Retry ?? []) as Json[])
        .filter((r) =>
          ['ServiceUnavailableException', 'LimitExceededException'].some((e) => r.ErrorEquals.includes(e)),
        )
        .map((r) => [name, r] as const),
    );
    expect(throttled.map(([name]) => name)).toEqual(
      expect.arrayContaining(['PlanCopies', 'CopyToDestination', 'CheckCopyProgress']),
    );
    for (const [name, retrier] of throttled) {
      expect(retrier, name).toMatchObject({ JitterStrategy: 'FULL', MaxDelaySeconds: expect.any(Number) });
      expect(retrier.ErrorEquals, name).toEqual(
        expect.arrayContaining(['ServiceUnavailableException', 'LimitExceededException']),
      );
      expect(retrier.BackoffRate, name).toBeGreaterThan(1);
    }
  });

  it('retries the Lambda service errors in every Lambda task', () => {
    const lambdaTasks = allStates().filter(
      ([, s]) =>
        s.Type === 'Task' &&
        (String(s.Resource).startsWith('arn:aws:lambda:') ||
          String(s.Resource).startsWith('arn:aws:states:::lambda:')),
    );
    expect(lambdaTasks.length).toBeGreaterThanOrEqual(5);
    for (const [name, task] of lambdaTasks) {
      const retried = ((task.Retry ?? []) as Json[]).flatMap((r) => r.ErrorEquals as string[]);
      expect(retried, name).toEqual(expect.arrayContaining(LAMBDA_SERVICE_ERRORS));
    }
  });
});

/** Runs `bundle`'s handler on `event` in a fresh Node process, as Lambda's init and first invoke do. */
function invokeBundle(bundle: string, event: unknown, variables: Record<string, string>) {
  const script = `const { handler } = require(${JSON.stringify(bundle)});
const context = { functionName: 'f', awsRequestId: 'r', getRemainingTimeInMillis: () => 30000 };
const started = process.hrtime.bigint();
handler(JSON.parse(process.env.EVENT), context).then(
  (output) => ({ output }),
  (error) => ({ error: { name: error.name, message: error.message } }),
).then((result) => console.log(JSON.stringify({ ...result, ms: Number(process.hrtime.bigint() - started) / 1e6 })));`;
  const env = localCommandEnvironment({
    LEDGER_TABLE: 'backup-copy-orchestrator-dev-ledger',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    EVENT: JSON.stringify(event),
    ...variables,
  });
  return new Promise<{ output?: Json; error?: { name: string; message: string }; ms: number }>((done, fail) =>
    execFile(process.execPath, ['-e', script], { env }, (error, stdout, stderr) =>
      error
        ? fail(new Error(`${error.message}\n${stderr}`))
        : done(JSON.parse(stdout.trim().split('\n').pop() ?? '')),
    ),
  );
}

describe('the functions', () => {
  let names: string[];
  const bundles: Record<string, string> = {};
  const policy = parseCopyPolicy(organizationPolicy());
  beforeAll(async () => {
    names = Object.keys(parseYaml(await readFile(join(ROOT, 'serverless.yml'), 'utf8')).functions);
    const unzipped = await tempDir('sls-unzipped-');
    for (const name of names) bundles[name] = await unzipFunction(packageDir, name, join(unzipped, name));
  });
  const functionsByName = () =>
    names.map((name) => {
      const id = `${name[0]?.toUpperCase()}${name.slice(1)}LambdaFunction`;
      return [name, resources[id]] as [string, Json | undefined];
    });

  it('are all in the template, and nothing else is', () => {
    expect(ofType('AWS::Lambda::Function').length).toBe(names.length);
    for (const [name, fn] of functionsByName()) expect(fn?.Type, name).toBe('AWS::Lambda::Function');
  });

  it("run on nodejs22.x with the ledger table, within Lambda's 4 KB of environment variables", () => {
    const [, table] = onlyOfType('AWS::DynamoDB::Table');
    const rendered: Record<string, Json> = renderTemplate(template, {
      partition: 'aws',
      region: 'us-east-1',
      accountId: SOURCE_ACCOUNT,
    }).Resources;
    for (const [name, fn] of functionsByName()) {
      const variables = fn?.Properties.Environment?.Variables ?? {};
      expect(fn?.Properties.Runtime, name).toBe('nodejs22.x');
      expect(variables.LEDGER_TABLE, name).toBe(table.Properties.TableName);
      expect(Object.keys(variables), name).not.toContain('COPY_POLICY');
      // "The total size of all environment variables doesn't exceed 4 KB" (Lambda quotas): names and values.
      const id = `${name[0]?.toUpperCase()}${name.slice(1)}LambdaFunction`;
      const renderedVariables: Record<string, string> = rendered[id]?.Properties.Environment.Variables;
      const size = Object.entries(renderedVariables).reduce(
        (sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(String(value)),
        0,
      );
      expect(size, name).toBeLessThan(4096);
    }
  });

  it('carry the 200-rule, 5-destination policy in the bundles that read it, and no other bundle does', async () => {
    const carrying: string[] = [];
    for (const name of names) {
      const text = await readFile(bundles[name] as string, 'utf8');
      if (text.includes('backup-vault:dr-199-4')) carrying.push(name);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the rule name, kept as written
      if (POLICY_READERS.includes(name)) expect(text, name).toContain('"name":"costs-${team}"');
    }
    expect(carrying.sort()).toEqual([...POLICY_READERS].sort());
  });

  it("keep each role's inline policies within IAM's 10,240 characters, with 200 rules over 10 source vaults", () => {
    // IAM quotas: "Role policy size cannot exceed 10,240 characters" (all inline policies of a role, no whitespace).
    const rendered: Record<string, Json> = renderTemplate(template, {
      partition: 'aws',
      region: 'us-east-1',
      accountId: SOURCE_ACCOUNT,
    }).Resources;
    const roles = ofType('AWS::IAM::Role');
    expect(roles.length).toBeGreaterThanOrEqual(names.length);
    for (const [id] of roles) {
      const policies: Json[] = rendered[id]?.Properties.Policies ?? [];
      const size = policies.reduce((sum, p) => sum + JSON.stringify(p.PolicyDocument).length, 0);
      expect(size, id).toBeLessThanOrEqual(10_240);
    }
  });

  it('are packaged individually, one zip each', async () => {
    const zips = (await readdir(packageDir)).filter((file) => file.endsWith('.zip'));
    expect(zips.sort()).toEqual(names.map((name) => `${name}.zip`).sort());
    const sizes: Record<string, string> = {};
    for (const zip of zips) {
      const { size } = await stat(join(packageDir, zip));
      expect(size, zip).toBeGreaterThan(0);
      sizes[zip] = `${(size / 1024).toFixed(0)} KiB (${size} bytes)`;
    }
    console.info('package sizes with the 200-rule policy:', sizes);
  });

  it('normalizeInput, as packaged, loads the bundled policy and applies its allowed accounts', async () => {
    const event = await sample('backup-job-completed.json');
    const accepted = await invokeBundle(bundles.normalizeInput as string, event, {});
    expect(accepted.error).toBeUndefined();
    expect(accepted.output).toMatchObject({
      recoveryPointArn: event.resources[0],
      sourceBackupVaultName: 'primary',
    });

    const refused = await invokeBundle(
      bundles.normalizeInput as string,
      { ...event, account: '999999999999' },
      {},
    );
    expect(refused.error?.name).toBe('InvalidInputError');
    // The third account is the bundled policy's alone (copy-policy.yml allows two).
    expect(refused.error?.message).toContain(
      'must be an allowed account (111111111111, 222222222222, 333333333333)',
    );
    console.info(
      `normalizeInput cold start with the 200-rule policy: ${accepted.ms.toFixed(0)} ms to its first answer`,
    );
  });

  it("planCopies, as packaged, plans the destinations of the bundled policy's rule 137", async () => {
    const emulator = await BackupEmulator.start({ accountId: SOURCE_ACCOUNT, vaults: ['source-7'] });
    const dynamoDbEndpoint = inject('dynamoDbEndpoint');
    const ledgerTable = `ledger-package-${Date.now()}`;
    await createLedgerTable(dynamoDbEndpoint, ledgerTable);
    try {
      const recoveryPoint = emulator.seedRecoveryPoint({
        BackupVaultName: 'source-7',
        ResourceType: 'EBS',
        ResourceArn: `arn:aws:ec2:us-east-1:${SOURCE_ACCOUNT}:volume/vol-r137-0a1b2c3d`,
      });
      const executionArn = 'arn:aws:states:us-east-1:111111111111:execution:copy-recovery-point:package-test';
      const planned = await invokeBundle(
        bundles.planCopies as string,
        {
          request: {
            recoveryPointArn: recoveryPoint.RecoveryPointArn,
            sourceBackupVaultName: 'source-7',
            origin: 'manual',
          },
          executionArn,
        },
        {
          LEDGER_TABLE: ledgerTable,
          AWS_ENDPOINT_URL_BACKUP: emulator.endpoint,
          AWS_ENDPOINT_URL_DYNAMODB: dynamoDbEndpoint,
          // Outside Lambda no invokedFunctionArn says where this runs: the source account's us-east-1.
          AWS_REGION: 'us-east-1',
          AWS_ACCOUNT_ID: SOURCE_ACCOUNT,
        },
      );
      expect(planned.error).toBeUndefined();
      const rule = policy.rules.find((r) => r.name === 'rule-137');
      expect(planned.output?.copies.map((copy: Json) => copy.destinationVaultArn)).toEqual(
        rule?.destinations.map((destination) => destination.vaultArn),
      );
      const documents = documentClient(dynamoDbEndpoint);
      const plan = await documents.send(
        new GetCommand({
          TableName: ledgerTable,
          Key: { recoveryPointArn: recoveryPoint.RecoveryPointArn, destinationVaultArn: '*' },
        }),
      );
      documents.destroy();
      expect(plan.Item).toMatchObject({ status: 'PLANNED', executionArn });
      console.info(
        `planCopies cold start with the 200-rule policy: ${planned.ms.toFixed(0)} ms to its first answer`,
      );
    } finally {
      await emulator.close();
    }
  });
});

describe('the reconciler', () => {
  const deployment = { partition: 'aws', region: 'us-east-1', accountId: '111111111111' };

  it("runs every hour and starts executions of this service's state machine", () => {
    const rendered: Record<string, Json> = renderTemplate(template, deployment).Resources;
    const [ruleId, rule] = ruleTargeting({ 'Fn::GetAtt': ['ReconcileLambdaFunction', 'Arn'] });
    expect(rule.Properties).toMatchObject({ ScheduleExpression: 'rate(1 hour)', State: 'ENABLED' });
    expect(ofType('AWS::Lambda::Permission').map(([, permission]) => permission.Properties)).toContainEqual(
      expect.objectContaining({
        FunctionName: { 'Fn::GetAtt': ['ReconcileLambdaFunction', 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
      }),
    );
    const [machineId] = onlyOfType('AWS::StepFunctions::StateMachine');
    const machineArn = `arn:aws:states:us-east-1:111111111111:stateMachine:${rendered[machineId]?.Properties.StateMachineName}`;
    expect(rendered.ReconcileLambdaFunction?.Properties.Environment.Variables.STATE_MACHINE_ARN).toBe(
      machineArn,
    );
  });
});

describe('the alarms', () => {
  const deployment = { partition: 'aws', region: 'us-east-1', accountId: '111111111111' };
  const alarm = (id: string) => {
    const found = resources[id];
    expect(found?.Type, id).toBe('AWS::CloudWatch::Alarm');
    expect(found?.Properties.AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
    return found?.Properties;
  };

  it('page on failed, timed-out or aborted executions of this state machine', () => {
    const [machineId] = onlyOfType('AWS::StepFunctions::StateMachine');
    const properties = alarm('FailedExecutionsAlarm');
    const metrics = properties.Metrics.filter((m: Json) => m.MetricStat).map(
      (m: Json) => m.MetricStat.Metric,
    );
    expect(metrics.map((m: Json) => m.MetricName).sort()).toEqual([
      'ExecutionsAborted',
      'ExecutionsFailed',
      'ExecutionsTimedOut',
    ]);
    for (const metric of metrics) {
      expect(metric.Dimensions).toEqual([{ Name: 'StateMachineArn', Value: { Ref: machineId } }]);
    }
  });

  it('page on any message in the intake dead-letter queue', () => {
    expect(alarm('IntakeDeadLetterAlarm')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['IntakeDeadLetterQueue', 'QueueName'] } }],
      Threshold: 1,
    });
  });

  it('page when the reconciler rescues a recovery point, on the metric the code emits', async () => {
    const { Metric } = await import('../../lib/metrics.js');
    expect(alarm('ReconcilerFindsAlarm')).toMatchObject({
      Namespace: 'BackupCopyOrchestrator',
      MetricName: Metric.RecoveryPointsReconciled,
      Dimensions: [{ Name: 'service', Value: 'backup-copy-orchestrator' }],
    });
  });

  it('email nobody unless alarmEmail is set', () => {
    expect(renderTemplate(template, deployment).Resources.AlarmEmailSubscription).toBeUndefined();
  });
});

describe('the dashboard', () => {
  const deployment = { partition: 'aws', region: 'us-east-1', accountId: '111111111111' };

  /** [namespace, metric name, dimensions] of every metric a widget names, SEARCH expressions included. */
  function metricsOf(widget: Json): [string, string, Record<string, string>][] {
    return (widget.properties.metrics as unknown[][]).flatMap((entry) => {
      const [first] = entry;
      if (typeof first === 'object' && first !== null) {
        const search = /^SEARCH\('\{([^}]*)\} MetricName="([^"]+)"'/.exec((first as Json).expression);
        if (!search) throw new Error(`unexpected expression ${(first as Json).expression}`);
        const [namespace = '', ...dimensions] = (search[1] ?? '').split(',');
        return [[namespace, search[2] ?? '', Object.fromEntries(dimensions.map((d) => [d, '*']))]];
      }
      const [namespace, name, ...rest] = entry.filter((item) => typeof item === 'string') as string[];
      const dimensions: Record<string, string> = {};
      for (let i = 0; i + 1 < rest.length; i += 2) dimensions[rest[i] as string] = rest[i + 1] as string;
      return [[namespace ?? '', name ?? '', dimensions]];
    });
  }

  it('names only metrics the code emits, or AWS metrics of resources in this stack', async () => {
    const { Metric } = await import('../../lib/metrics.js');
    const rendered: Record<string, Json> = renderTemplate(template, deployment).Resources;
    const [dashboardId] = onlyOfType('AWS::CloudWatch::Dashboard');
    const body = JSON.parse(rendered[dashboardId]?.Properties.DashboardBody);
    const [machineId] = onlyOfType('AWS::StepFunctions::StateMachine');
    const machineArn = `arn:aws:states:us-east-1:111111111111:stateMachine:${rendered[machineId]?.Properties.StateMachineName}`;
    const named = (body.widgets as Json[]).flatMap(metricsOf);
    const emitted = new Set<string>(Object.values(Metric));
    for (const [namespace, name, dimensions] of named) {
      if (namespace === 'BackupCopyOrchestrator') {
        expect(emitted, name).toContain(name);
        expect(dimensions.service ?? '*', name).toMatch(/^(backup-copy-orchestrator|\*)$/);
      } else if (namespace === 'AWS/SQS') {
        expect(dimensions).toEqual({ QueueName: 'IntakeDeadLetterQueue' });
      } else {
        expect(namespace).toBe('AWS/States');
        expect(dimensions).toEqual({ StateMachineArn: machineArn });
      }
    }
    // What the issue asks the dashboard to show.
    expect(named.map(([, name]) => name)).toEqual(
      expect.arrayContaining([
        Metric.CopiesStarted,
        Metric.CopiesCompleted,
        Metric.CopiesFailed,
        Metric.ThrottledAnswers,
        Metric.ResourcesOutsideRpo,
        Metric.CopiesWaitingForSlot,
        Metric.OldestSlotWaitMinutes,
        'ApproximateNumberOfMessagesVisible',
        'ExecutionsFailed',
      ]),
    );
  });

  it('alarms on any resource outside its RPO, on the metric the reconciler emits', async () => {
    const { Metric } = await import('../../lib/metrics.js');
    expect(resources.ResourcesOutsideRpoAlarm?.Properties).toMatchObject({
      Namespace: 'BackupCopyOrchestrator',
      MetricName: Metric.ResourcesOutsideRpo,
      Dimensions: [{ Name: 'service', Value: 'backup-copy-orchestrator' }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: 'AlarmTopic' }],
    });
  });
});

describe("the ledger's resource index", () => {
  it('is a sparse GSI keyed by resource, then destination, outcome and time, queryable by the reconciler', () => {
    const [, table] = onlyOfType('AWS::DynamoDB::Table');
    expect(table.Properties.GlobalSecondaryIndexes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          IndexName: 'byResource',
          KeySchema: [
            { AttributeName: 'resourceArn', KeyType: 'HASH' },
            { AttributeName: 'resourceOutcome', KeyType: 'RANGE' },
          ],
        }),
      ]),
    );
    const statements = resources.ReconcileRole?.Properties.Policies[0].PolicyDocument.Statement as Json[];
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'dynamodb:Query',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['LedgerTable', 'Arn'] }, '/index/byResource']] },
      }),
    );
  });
});

describe('a bad copy policy', () => {
  it('fails packaging, naming the field and the 90-day rule', async () => {
    const run = await badPolicyRun;
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.code, output).not.toBe(0);
    expect(output, 'the refusal names the lifecycle field (not another failure)').toMatch(/DeleteAfterDays/);
    expect(output).toMatch(/MoveToColdStorageAfterDays \+ 90|90 days/);
    await expect(
      stat(join(badPolicyDir, 'package', 'cloudformation-template-update-stack.json')),
    ).rejects.toThrow();
  });
});
