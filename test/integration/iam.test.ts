/**
 * The packaged template as a security reviewer reads it: every IAM role's statements against the table below
 * (what each function's code calls, lib/aws/*.ts; docs/SECURITY.md says the same in prose), no wildcard action,
 * Resource "*" only where AWS offers no narrower resource, iam:PassRole only for the copy policy's roles and
 * only to AWS Backup, and the state kept encrypted, recoverable and with bounded log retention.
 *
 * The template is packaged twice (without and with a customer managed key) and rendered for one account and
 * region by local/serverless-package.ts, so expectations are the ARNs a policy would really name. Whether the
 * roles allow each call the code makes, on every kind of recovery point, and deny it elsewhere, is decided by
 * IAM's own rules in validators.test.ts (@cloud-copilot/iam-simulate).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  type Json,
  packageService,
  ROOT,
  removeTemporaryDirs,
  renderTemplate,
  SDK_CLIENTS,
  sdkClientsIn,
  tempDir,
  unzipFunction,
} from '../../local/serverless-package.js';

const DEPLOYMENT = { partition: 'aws', region: 'us-east-1', accountId: '111111111111' };
const HERE = `${DEPLOYMENT.region}:${DEPLOYMENT.accountId}`;
const KMS_KEY = `arn:aws:kms:${HERE}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const PREFIX = 'backup-copy-orchestrator-dev';
const TABLE = `arn:aws:dynamodb:${HERE}:table/${PREFIX}-ledger`;
const STATE_MACHINE = `arn:aws:states:${HERE}:stateMachine:${PREFIX}-copy-recovery-point`;
const EXECUTIONS = `arn:aws:states:${HERE}:execution:${PREFIX}-copy-recovery-point:*`;

/** Recovery point ARNs IAM evaluates for backup:StartCopyJob and DescribeRecoveryPoint ("AWS Backup resource
 *  ARNs", AWS Backup Developer Guide): the ARN of the service holding the backup. */
const RECOVERY_POINTS = [
  `arn:aws:backup:${HERE}:recovery-point:*`,
  `arn:aws:ec2:${DEPLOYMENT.region}::snapshot/*`,
  `arn:aws:ec2:${DEPLOYMENT.region}::image/ami-*`,
  `arn:aws:rds:${HERE}:snapshot:awsbackup:*`,
  `arn:aws:rds:${HERE}:cluster-snapshot:awsbackup:*`,
  `arn:aws:dynamodb:${HERE}:table/*/backup/*`,
  `arn:aws:fsx:${HERE}:backup/backup-*`,
  `arn:aws:redshift:${HERE}:snapshot:*/awsbackup:*`,
  `arn:aws:redshift-serverless:${HERE}:snapshot/*`,
];

/** Resource "*" is allowed only for these actions, which have no resource type in the Service Authorization
 *  Reference (IAM then evaluates them against "*", so any narrower Resource would deny them). */
const WILDCARD_RESOURCE_ONLY: Record<string, string> = {
  'states:SendTaskSuccess': 'no resource type; the unguessable task token is the capability',
  'backup:DescribeCopyJob': 'no resource type',
  ...Object.fromEntries(
    [
      'logs:CreateLogDelivery',
      'logs:GetLogDelivery',
      'logs:UpdateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
      'logs:DescribeLogGroups',
    ].map((action) => [
      action,
      'CloudWatch Logs log delivery for the state machine (serverless-step-functions loggingConfig): no resource type',
    ]),
  ),
};

/** Each function's role: the function runs as it and nothing else does. */
const FUNCTION_ROLES: Record<string, string> = {
  normalizeInput: 'NormalizeInputRole',
  planCopies: 'PlanCopiesRole',
  copyToDestination: 'CopyToDestinationRole',
  checkCopyProgress: 'CheckCopyProgressRole',
  recordRejection: 'RecordRejectionRole',
  reconcile: 'ReconcileRole',
  copyJobEvents: 'CopyJobEventsRole',
  releaseCopySlots: 'ReleaseCopySlotsRole',
};

/** The state machine's Lambda tasks (statemachines/copy-recovery-point.asl.yml). */
const STATE_MACHINE_FUNCTIONS = [
  'normalizeInput',
  'planCopies',
  'copyToDestination',
  'checkCopyProgress',
  'recordRejection',
];

interface Statement {
  actions: string[];
  resources: string[];
  condition?: Json;
}
interface Role {
  trustedBy: string;
  statements: Statement[];
}

const functionArn = (name: string) => `arn:aws:lambda:${HERE}:function:${PREFIX}-${name}`;
const writeItsLogs = (name: string): Statement => ({
  actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  resources: [`arn:aws:logs:${HERE}:log-group:/aws/lambda/${PREFIX}-${name}:*`],
});
const keepTheLedger: Statement = {
  actions: [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:Query',
  ],
  resources: [TABLE, `${TABLE}/index/copy-slot-queue`],
};
const completeTasks: Statement = {
  actions: ['states:SendTaskSuccess'],
  resources: ['*'],
};

/** Every role the template should have, with exactly the statements it should allow. */
function expectedRoles(policy: CopyPolicyFile, kmsKey?: string): Record<string, Role> {
  const useLedgerKey: Statement[] = kmsKey
    ? [
        {
          actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
          resources: [kmsKey],
          condition: { StringEquals: { 'kms:ViaService': `dynamodb.${DEPLOYMENT.region}.amazonaws.com` } },
        },
      ]
    : [];
  const lambda = 'lambda.amazonaws.com';
  return {
    NormalizeInputRole: { trustedBy: lambda, statements: [writeItsLogs('normalizeInput')] },
    PlanCopiesRole: {
      trustedBy: lambda,
      statements: [
        writeItsLogs('planCopies'),
        { actions: ['backup:DescribeRecoveryPoint'], resources: RECOVERY_POINTS },
        { actions: ['backup:DescribeRecoveryPoint'], resources: sourceVaultArns(policy) },
        { actions: ['dynamodb:UpdateItem'], resources: [TABLE] },
        ...useLedgerKey,
      ],
    },
    CopyToDestinationRole: {
      trustedBy: lambda,
      statements: [
        writeItsLogs('copyToDestination'),
        keepTheLedger,
        ...useLedgerKey,
        { actions: ['backup:StartCopyJob'], resources: RECOVERY_POINTS },
        {
          actions: ['iam:PassRole'],
          resources: copyRoleArns(policy),
          condition: { StringEquals: { 'iam:PassedToService': 'backup.amazonaws.com' } },
        },
        completeTasks,
      ],
    },
    CheckCopyProgressRole: {
      trustedBy: lambda,
      statements: [
        writeItsLogs('checkCopyProgress'),
        keepTheLedger,
        ...useLedgerKey,
        { actions: ['backup:DescribeCopyJob'], resources: ['*'] },
        completeTasks,
      ],
    },
    RecordRejectionRole: {
      trustedBy: lambda,
      statements: [
        writeItsLogs('recordRejection'),
        { actions: ['dynamodb:UpdateItem'], resources: [TABLE] },
        ...useLedgerKey,
      ],
    },
    CopyJobEventsRole: {
      trustedBy: lambda,
      statements: [writeItsLogs('copyJobEvents'), keepTheLedger, ...useLedgerKey, completeTasks],
    },
    ReleaseCopySlotsRole: {
      trustedBy: lambda,
      statements: [writeItsLogs('releaseCopySlots'), keepTheLedger, ...useLedgerKey, completeTasks],
    },
    ReconcileRole: {
      trustedBy: lambda,
      statements: [
        writeItsLogs('reconcile'),
        { actions: ['backup:ListRecoveryPointsByBackupVault'], resources: sourceVaultArns(policy) },
        keepTheLedger,
        ...useLedgerKey,
        completeTasks,
        // Coverage's queries of the ledger's resource index (lib/aws/resource-index.ts).
        { actions: ['dynamodb:Query'], resources: [`${TABLE}/index/byResource`] },
        { actions: ['states:StartExecution'], resources: [STATE_MACHINE] },
        // Resuming the copies an ended execution left behind (lib/aws/executions.ts).
        { actions: ['states:DescribeExecution', 'states:RedriveExecution'], resources: [EXECUTIONS] },
      ],
    },
    // Generated by serverless-step-functions from the definition's Lambda tasks and loggingConfig.
    CopyRecoveryPointStateMachineRole: {
      trustedBy: `states.${DEPLOYMENT.region}.amazonaws.com`,
      statements: [
        {
          actions: ['lambda:InvokeFunction'],
          resources: STATE_MACHINE_FUNCTIONS.flatMap((name) => [functionArn(name), `${functionArn(name)}:*`]),
        },
        {
          actions: Object.keys(WILDCARD_RESOURCE_ONLY).filter((action) => action.startsWith('logs:')),
          resources: ['*'],
        },
      ],
    },
    // The intake rule's role (serverless-step-functions): starts this state machine only.
    CopyRecoveryPointEventToStepFunctionsRole: {
      trustedBy: 'events.amazonaws.com',
      statements: [{ actions: ['states:StartExecution'], resources: [STATE_MACHINE] }],
    },
  };
}

interface CopyPolicyFile {
  rules: { match: { sourceVaults: string[] }; destinations: { iamRoleArn: string }[] }[];
}
const distinct = (values: string[]) => [...new Set(values)].sort();
const copyRoleArns = (policy: CopyPolicyFile) =>
  distinct(policy.rules.flatMap((rule) => rule.destinations.map((d) => d.iamRoleArn)));
const sourceVaultArns = (policy: CopyPolicyFile) =>
  distinct(policy.rules.flatMap((rule) => rule.match.sourceVaults)).map(
    (vault) => `arn:aws:backup:${HERE}:backup-vault:${vault}`,
  );

const list = (value: unknown): string[] => (value === undefined ? [] : ([value].flat() as string[]));
const sorted = (values: string[]) => [...values].sort();

/** A statement in a comparable form: Allow only (anything else is reported as is), lists sorted, no Sid. */
function normalize(statement: Json): Statement | Json {
  const { Sid: _, Effect, Action, Resource, Condition, ...rest } = statement;
  if (Effect !== 'Allow' || Object.keys(rest).length > 0) return statement;
  return {
    actions: sorted(list(Action)),
    resources: sorted(list(Resource)),
    ...(Condition ? { condition: Condition } : {}),
  };
}
const byJson = (a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b));
const normalized = (statements: (Statement | Json)[]) =>
  statements
    .map((s) =>
      'actions' in s ? { ...s, actions: sorted(s.actions), resources: sorted(s.resources) } : normalize(s),
    )
    .sort(byJson);

/** Role logical id → its inline policies' statements, as rendered. */
function roleStatements(resources: Record<string, Json>): Record<string, Json[]> {
  return Object.fromEntries(
    Object.entries(resources)
      .filter(([, resource]) => resource.Type === 'AWS::IAM::Role')
      .map(([id, role]) => [
        id,
        ((role.Properties.Policies ?? []) as Json[]).flatMap((p) => [p.PolicyDocument.Statement].flat()),
      ]),
  );
}

let policy: CopyPolicyFile;
let functionNames: string[];
let logRetentionDays: number;
/** Packaged with AWS's keys (the default) and with a customer managed key, each raw and rendered. */
let raw: Json;
let packageDir: string;
let rendered: Record<string, Json>;
let renderedWithKey: Record<string, Json>;
let statementsByRole: Record<string, Json[]>;

beforeAll(async () => {
  const config = parseYaml(await readFile(join(ROOT, 'serverless.yml'), 'utf8'));
  functionNames = Object.keys(config.functions);
  logRetentionDays = config.params.default.logRetentionDays;
  policy = parseYaml(await readFile(join(ROOT, 'copy-policy.yml'), 'utf8'));
  const [plain, withKey] = await Promise.all([
    packageService(),
    packageService([`--param=ledgerKmsKeyArn=${KMS_KEY}`]),
  ]);
  raw = plain.template;
  packageDir = plain.dir;
  rendered = renderTemplate(plain.template, DEPLOYMENT).Resources;
  renderedWithKey = renderTemplate(withKey.template, DEPLOYMENT).Resources;
  statementsByRole = roleStatements(rendered);
});

afterAll(removeTemporaryDirs);

const ofType = (resources: Record<string, Json>, type: string) =>
  Object.entries(resources).filter(([, resource]) => resource.Type === type);
function onlyOfType(resources: Record<string, Json>, type: string): Json {
  const found = ofType(resources, type);
  expect(
    found.map(([id]) => id),
    `exactly one ${type}`,
  ).toHaveLength(1);
  return (found[0] as [string, Json])[1];
}
const allStatements = () =>
  [rendered, renderedWithKey].flatMap((resources) =>
    Object.entries(roleStatements(resources)).flatMap(([role, statements]) =>
      statements.map((statement) => [role, statement] as const),
    ),
  );

describe('IAM roles', () => {
  it('are one per function, the state machine role and the intake rule role, and no other', () => {
    expect(Object.keys(statementsByRole).sort()).toEqual(Object.keys(expectedRoles(policy)).sort());
    expect(Object.keys(FUNCTION_ROLES).sort(), 'a role for every function in serverless.yml').toEqual(
      [...functionNames].sort(),
    );
  });

  it.each(Object.keys(FUNCTION_ROLES).map((name) => FUNCTION_ROLES[name] as string))(
    '%s allows exactly what its function calls',
    (roleId) => {
      const expected = expectedRoles(policy)[roleId] as Role;
      expect(normalized(statementsByRole[roleId] ?? [])).toEqual(normalized(expected.statements));
    },
  );

  it.each(['CopyRecoveryPointStateMachineRole', 'CopyRecoveryPointEventToStepFunctionsRole'])(
    '%s allows exactly its expected statements',
    (roleId) => {
      const expected = expectedRoles(policy)[roleId] as Role;
      expect(normalized(statementsByRole[roleId] ?? [])).toEqual(normalized(expected.statements));
    },
  );

  it('with a customer managed key, let the ledger roles use that key through DynamoDB only', () => {
    const actual = Object.fromEntries(
      Object.entries(roleStatements(renderedWithKey)).map(([id, statements]) => [id, normalized(statements)]),
    );
    const expected = Object.fromEntries(
      Object.entries(expectedRoles(policy, KMS_KEY)).map(([id, role]) => [id, normalized(role.statements)]),
    );
    expect(actual).toEqual(expected);
  });

  it('can each be assumed only by the service that runs it', () => {
    for (const [id, role] of Object.entries(expectedRoles(policy))) {
      const trust = [rendered[id]?.Properties.AssumeRolePolicyDocument.Statement].flat() as Json[];
      expect(
        trust.map((s) => ({ ...s, Action: list(s.Action) })),
        id,
      ).toEqual([{ Effect: 'Allow', Principal: { Service: role.trustedBy }, Action: ['sts:AssumeRole'] }]);
    }
  });

  it('grant permissions only through their own inline policies', () => {
    const elsewhere = ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::User', 'AWS::IAM::Group'];
    expect(Object.values(rendered).filter((resource) => elsewhere.includes(resource.Type))).toEqual([]);
    for (const [id, role] of ofType(rendered, 'AWS::IAM::Role')) {
      expect(role.Properties.ManagedPolicyArns, id).toBeUndefined();
    }
  });

  it('name no action with a wildcard, and use neither NotAction nor NotResource', () => {
    const offending = allStatements().filter(
      ([, s]) =>
        list(s.Action).some((action) => action.includes('*')) || 'NotAction' in s || 'NotResource' in s,
    );
    expect(offending).toEqual([]);
  });

  it('use Resource "*" only for actions that have no resource type', () => {
    const offending = allStatements().filter(
      ([, s]) =>
        list(s.Resource).includes('*') &&
        list(s.Action).some((action) => !(action in WILDCARD_RESOURCE_ONLY)),
    );
    expect(offending).toEqual([]);
  });

  it('pin every other resource to its partition, service, region and account', () => {
    const loose = allStatements()
      .flatMap(([role, s]) => list(s.Resource).map((resource) => [role, resource] as const))
      .filter(([, resource]) => {
        if (resource === '*') return false;
        const [arn, partition, service, region, account] = resource.split(':');
        return (
          arn !== 'arn' ||
          partition !== DEPLOYMENT.partition ||
          [service, region, account].some((segment) => segment === undefined || segment.includes('*')) ||
          !['', DEPLOYMENT.region].includes(region as string)
        );
      });
    expect(loose).toEqual([]);
  });

  it('let iam:PassRole pass only the copy policy roles, and only to AWS Backup', () => {
    const passing = allStatements().filter(([, s]) => list(s.Action).includes('iam:PassRole'));
    expect(passing.length).toBeGreaterThan(0);
    for (const [role, statement] of passing) {
      expect(role).toBe('CopyToDestinationRole');
      expect(list(statement.Action)).toEqual(['iam:PassRole']);
      expect(sorted(list(statement.Resource))).toEqual(copyRoleArns(policy));
      expect(statement.Condition).toEqual({
        StringEquals: { 'iam:PassedToService': 'backup.amazonaws.com' },
      });
    }
  });
});

describe('each function', () => {
  const functionsByName = () =>
    functionNames.map((name) => {
      const id = `${name[0]?.toUpperCase()}${name.slice(1)}LambdaFunction`;
      return [name, raw.Resources[id] as Json] as const;
    });

  it('bundles the SDK clients of exactly the services its role allows, and no other', async () => {
    const services = new Set<string>(Object.values(SDK_CLIENTS));
    for (const name of functionNames) {
      const bundle = await unzipFunction(packageDir, name, await tempDir(`bundle-${name}-`));
      const allowed = new Set(
        (statementsByRole[FUNCTION_ROLES[name] as string] ?? [])
          .flatMap((statement) => list(statement.Action))
          .map((action) => action.split(':')[0] as string)
          .filter((service) => services.has(service)),
      );
      const clients = sdkClientsIn(await readFile(bundle, 'utf8'));
      expect(clients.map((client) => SDK_CLIENTS[client]).sort(), name).toEqual([...allowed].sort());
    }
  });

  it('runs as a role of its own', () => {
    const roles = functionsByName().map(([name, fn]) => {
      const roleId = fn.Properties.Role['Fn::GetAtt']?.[0];
      expect(roleId, name).toBe(FUNCTION_ROLES[name]);
      return roleId;
    });
    expect(new Set(roles).size).toBe(functionNames.length);
    const others = Object.entries(raw.Resources as Record<string, Json>).filter(
      ([, resource]) =>
        resource.Type !== 'AWS::Lambda::Function' &&
        roles.some((roleId) => JSON.stringify(resource).includes(`"Fn::GetAtt":["${roleId}","Arn"]`)),
    );
    expect(
      others.map(([id]) => id),
      'nothing else uses a function role',
    ).toEqual([]);
  });

  it('writes only to its own log group, which keeps logs logRetentionDays', () => {
    for (const [name, fn] of functionsByName()) {
      const logGroupName = `/aws/lambda/${fn.Properties.FunctionName}`;
      const [logGroupId, logGroup] = ofType(rendered, 'AWS::Logs::LogGroup').find(
        ([, group]) => group.Properties.LogGroupName === logGroupName,
      ) ?? [name, undefined];
      expect(logGroup?.Properties.RetentionInDays, logGroupId).toBe(logRetentionDays);
      const logging = (statementsByRole[FUNCTION_ROLES[name] as string] ?? []).filter((s) =>
        list(s.Action).some((action) => action.startsWith('logs:')),
      );
      expect(logging.flatMap((s) => list(s.Resource))).toEqual([
        `arn:aws:logs:${HERE}:log-group:${logGroupName}:*`,
      ]);
    }
  });
});

describe('the state machine', () => {
  it('may invoke only the functions its definition names', () => {
    const machine = onlyOfType(raw.Resources, 'AWS::StepFunctions::StateMachine');
    const roleId = machine.Properties.RoleArn['Fn::GetAtt'][0];
    const [, variables] = machine.Properties.DefinitionString['Fn::Sub'] as [string, Record<string, Json>];
    const named = Object.values(variables).map((v) => v['Fn::GetAtt'][0] as string);
    expect(named.every((id) => raw.Resources[id]?.Type === 'AWS::Lambda::Function')).toBe(true);
    const invoking = (statementsByRole[roleId] ?? []).filter((s) =>
      list(s.Action).some((a) => a.startsWith('lambda:')),
    );
    const arnOf = (id: string) => `arn:aws:lambda:${HERE}:function:${rendered[id]?.Properties.FunctionName}`;
    expect(sorted(invoking.flatMap((s) => list(s.Resource)))).toEqual(
      sorted([...new Set(named)].flatMap((id) => [arnOf(id), `${arnOf(id)}:*`])),
    );
    expect(invoking.flatMap((s) => list(s.Action))).toEqual(['lambda:InvokeFunction']);
  });

  it('logs errors without execution data, to a log group that keeps them logRetentionDays', () => {
    const logging = onlyOfType(rendered, 'AWS::StepFunctions::StateMachine').Properties.LoggingConfiguration;
    expect(logging).toMatchObject({ Level: 'ERROR', IncludeExecutionData: false });
    const destinations = (logging.Destinations as Json[]).map((d) => d.CloudWatchLogsLogGroup.LogGroupArn);
    expect(destinations).toHaveLength(1);
    const [, logGroup] =
      ofType(rendered, 'AWS::Logs::LogGroup').find(
        ([, group]) =>
          `arn:aws:logs:${HERE}:log-group:${group.Properties.LogGroupName}:*` === destinations[0],
      ) ?? [];
    expect(logGroup?.Properties.RetentionInDays).toBe(logRetentionDays);
  });
});

describe('the ledger table', () => {
  const table = (resources: Record<string, Json>) => onlyOfType(resources, 'AWS::DynamoDB::Table');

  it('is recoverable to any point, protected from deletion and kept when removed from the stack', () => {
    const ledger = table(rendered);
    expect(ledger).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(ledger?.Properties).toMatchObject({
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
  });

  it('is encrypted with the AWS managed DynamoDB key by default', () => {
    expect(table(rendered)?.Properties.SSESpecification).toEqual({ SSEEnabled: true });
  });

  it('is encrypted with the customer managed key when ledgerKmsKeyArn names one', () => {
    expect(table(renderedWithKey)?.Properties.SSESpecification).toEqual({
      SSEEnabled: true,
      SSEType: 'KMS',
      KMSMasterKeyId: KMS_KEY,
    });
  });
});

describe('the intake dead-letter queue', () => {
  const queue = (resources: Record<string, Json>) => onlyOfType(resources, 'AWS::SQS::Queue').Properties;

  it('keeps undelivered events 14 days, encrypted with SQS managed keys by default', () => {
    expect(queue(rendered)).toEqual({ MessageRetentionPeriod: 1_209_600, SqsManagedSseEnabled: true });
  });

  it('is encrypted with the customer managed key when ledgerKmsKeyArn names one', () => {
    expect(queue(renderedWithKey)).toEqual({ MessageRetentionPeriod: 1_209_600, KmsMasterKeyId: KMS_KEY });
  });
});

describe('log groups', () => {
  it('all keep their logs logRetentionDays', () => {
    const groups = ofType(rendered, 'AWS::Logs::LogGroup');
    expect(groups.length).toBe(functionNames.length + 1);
    for (const [id, group] of groups) expect(group.Properties.RetentionInDays, id).toBe(logRetentionDays);
  });
});
