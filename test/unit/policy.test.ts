import { describe, expect, it } from 'vitest';
import type { Lifecycle } from '../../lib/domain/lifecycle.js';
import { type CopyPolicy, PlannedCopySchema, parseCopyPolicy, planCopies } from '../../lib/domain/policy.js';
import type { RecoveryPoint } from '../../lib/domain/recovery-point.js';
import { InvalidInputError, InvalidLifecycleError, InvalidPolicyError } from '../../lib/errors.js';
import {
  DR_ACCOUNT,
  fieldsOf,
  OTHER_ACCOUNT,
  ROLE_ARN,
  recoveryPoint,
  SOURCE_VAULT_ARN,
  samplePolicyDocument,
  thrown,
  vaultArn,
} from './factories.js';

const DR_WEST = vaultArn('dr-west');
const DR_ISOLATED = vaultArn('dr-isolated', 'us-west-2', DR_ACCOUNT);
const DR_ARCHIVE = vaultArn('dr-archive', 'us-west-2', DR_ACCOUNT);
const DR_DB = vaultArn('dr-db', 'us-east-1', DR_ACCOUNT);

type Doc = Record<string, unknown>;

const destination = (vault: string, lifecycle?: Lifecycle | 'inherit', extra: Doc = {}): Doc => ({
  vaultArn: vault,
  iamRoleArn: ROLE_ARN,
  ...(lifecycle === undefined ? {} : { lifecycle }),
  ...extra,
});

const rule = (name: string, destinations: Doc[], match: Doc = {}, extra: Doc = {}): Doc => ({
  name,
  match: { sourceVaults: ['primary'], ...match },
  destinations,
  ...extra,
});

const policyDoc = (rules: Doc[], extra: Doc = {}): Doc => ({
  version: 1,
  allowed: { partition: 'aws', accounts: ['111111111111', DR_ACCOUNT], regions: ['us-east-1', 'us-west-2'] },
  rules,
  ...extra,
});

const policyRefusal = (document: unknown) => {
  const error = thrown(() => parseCopyPolicy(document));
  expect(error).toBeInstanceOf(InvalidPolicyError);
  expect(error.name).toBe('InvalidPolicyError');
  return error as InvalidPolicyError;
};

const ruleAt = (error: InvalidPolicyError, field: string) =>
  error.violations
    .filter((v) => v.field === field)
    .map((v) => v.rule)
    .join(' | ');

describe('parseCopyPolicy: the sample policy', () => {
  it('accepts copy-policy.yml as parsed by the yaml package', () => {
    const policy = parseCopyPolicy(samplePolicyDocument());
    expect(policy.allowed).toEqual({
      partition: 'aws',
      accounts: ['111111111111', '222222222222'],
      regions: ['us-east-1', 'us-west-2'],
    });
    expect(policy.rules.map((r) => r.name)).toEqual(['production-to-dr', 'file-systems-to-cold']);
    expect(policy.rules[0]?.destinations.map((d) => [d.vaultArn, d.lifecycle])).toEqual([
      [DR_WEST, 'inherit'],
      [DR_ISOLATED, { DeleteAfterDays: 35 }],
    ]);
    expect(policy.rules[1]?.match).toEqual({ sourceVaults: ['primary'], resourceTypes: ['EFS'] });
    expect(policy.rules[1]?.destinations[0]?.lifecycle).toEqual({
      MoveToColdStorageAfterDays: 30,
      DeleteAfterDays: 365,
    });
  });

  it('fills in the allowed scope when it is left out: partition aws, any account and region', () => {
    const { allowed, ...withoutScope } = policyDoc([rule('r', [destination(DR_WEST)])]);
    expect(allowed).toBeDefined();
    expect(parseCopyPolicy(withoutScope).allowed).toEqual({ partition: 'aws', accounts: [], regions: [] });
  });
});

describe('parseCopyPolicy: refusals name the field by path', () => {
  it.each([
    [
      'an unknown top-level key',
      policyDoc([rule('r', [destination(DR_WEST)])], { extra: 1 }),
      'extra',
      'not a known field',
    ],
    [
      'an unknown rule key',
      policyDoc([rule('r', [destination(DR_WEST)], {}, { priority: 1 })]),
      'rules[0].priority',
      'not a known field',
    ],
    [
      'an unknown match key',
      policyDoc([rule('r', [destination(DR_WEST)], { tags: { env: 'prod' } })]),
      'rules[0].match.tags',
      'not a known field',
    ],
    [
      'an unknown destination key',
      policyDoc([rule('r', [destination(DR_WEST, undefined, { kmsKeyArn: 'k' })])]),
      'rules[0].destinations[0].kmsKeyArn',
      'not a known field',
    ],
    [
      'an unknown lifecycle key (DeleteAfterEvent is not valid input)',
      policyDoc([
        rule('r', [destination(DR_WEST, { DeleteAfterEvent: 'DELETE_AFTER_COPY' } as unknown as Lifecycle)]),
      ]),
      'rules[0].destinations[0].lifecycle.DeleteAfterEvent',
      'not a known field',
    ],
    [
      'an unknown allowed key',
      { ...policyDoc([rule('r', [destination(DR_WEST)])]), allowed: { partition: 'aws', kms: true } },
      'allowed.kms',
      'not a known field',
    ],
    ['version 2', policyDoc([rule('r', [destination(DR_WEST)])], { version: 2 }), 'version', ''],
    ['no rules', policyDoc([]), 'rules', ''],
    ['a rule without destinations', policyDoc([rule('r', [])]), 'rules[0].destinations', ''],
    [
      'a rule without source vaults',
      policyDoc([rule('r', [destination(DR_WEST)], { sourceVaults: [] })]),
      'rules[0].match.sourceVaults',
      '',
    ],
    ['an empty rule name', policyDoc([rule('', [destination(DR_WEST)])]), 'rules[0].name', ''],
    [
      'an unknown partition',
      { ...policyDoc([rule('r', [destination(DR_WEST)])]), allowed: { partition: 'aws-iso' } },
      'allowed.partition',
      '',
    ],
    [
      'a bad account id',
      { ...policyDoc([rule('r', [destination(DR_WEST)])]), allowed: { accounts: ['111111111111', '1234'] } },
      'allowed.accounts[1]',
      'must be a 12-digit account id',
    ],
    [
      'a bad region',
      { ...policyDoc([rule('r', [destination(DR_WEST)])]), allowed: { regions: ['us-east-1', 'mars'] } },
      'allowed.regions[1]',
      'must be a region name',
    ],
    [
      'a bad source vault name',
      policyDoc([rule('r', [destination(DR_WEST)], { sourceVaults: ['primary', 'x'] })]),
      'rules[0].match.sourceVaults[1]',
      'must match ^[a-zA-Z0-9\\-\\_]{2,50}$',
    ],
    [
      'a malformed destination vault ARN',
      policyDoc([rule('r', [destination(DR_WEST), destination('dr-west')])]),
      'rules[0].destinations[1].vaultArn',
      'must be a well-formed ARN',
    ],
    [
      'a destination vault in another account',
      policyDoc([rule('r', [destination(DR_WEST), destination(vaultArn('v', 'us-west-2', OTHER_ACCOUNT))])]),
      'rules[0].destinations[1].vaultArn',
      'must be in an allowed account',
    ],
    [
      'a destination vault in another region',
      policyDoc([rule('r', [destination(vaultArn('v', 'eu-west-1'))])]),
      'rules[0].destinations[0].vaultArn',
      'must be in an allowed region',
    ],
    [
      'a destination vault in another partition',
      policyDoc([rule('r', [destination(vaultArn('v', 'cn-north-1', '111111111111', 'aws-cn'))])]),
      'rules[0].destinations[0].vaultArn',
      'must be in partition aws',
    ],
    [
      'a role ARN that is not a role',
      policyDoc([
        rule('r', [destination(DR_WEST)]),
        rule('s', [destination(DR_WEST, undefined, { iamRoleArn: 'arn:aws:iam::111111111111:user/bob' })]),
      ]),
      'rules[1].destinations[0].iamRoleArn',
      'must be an IAM role ARN',
    ],
    [
      'a role in another account',
      policyDoc([
        rule('r', [destination(DR_WEST, undefined, { iamRoleArn: `arn:aws:iam::${OTHER_ACCOUNT}:role/r` })]),
      ]),
      'rules[0].destinations[0].iamRoleArn',
      'must be in an allowed account',
    ],
    [
      'a vault ARN that is not a string',
      policyDoc([rule('r', [destination(DR_WEST, undefined, { vaultArn: 42 })])]),
      'rules[0].destinations[0].vaultArn',
      '',
    ],
  ])('refuses %s', (_case, document, field, fragment) => {
    const error = policyRefusal(document);
    expect(fieldsOf(error)).toContain(field);
    expect(ruleAt(error, field)).toContain(fragment);
    expect(error.message).toMatch(/^copy policy invalid: /);
  });

  it('names every rule that repeats an earlier rule name', () => {
    const error = policyRefusal(
      policyDoc([
        rule('dup', [destination(DR_WEST)]),
        rule('other', [destination(DR_WEST)]),
        rule('dup', [destination(DR_WEST)]),
        rule('dup', [destination(DR_WEST)]),
      ]),
    );
    expect(error.violations).toEqual([
      { field: 'rules[2].name', value: 'dup', rule: 'must be unique' },
      { field: 'rules[3].name', value: 'dup', rule: 'must be unique' },
    ]);
  });

  it('reports every problem of a document at once', () => {
    const error = policyRefusal(
      policyDoc([
        rule('r', [
          destination('nope', undefined, { iamRoleArn: 'nope' }),
          destination(DR_WEST, { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 100 }),
        ]),
      ]),
    );
    expect(fieldsOf(error).sort()).toEqual(
      [
        'rules[0].destinations[0].vaultArn',
        'rules[0].destinations[0].iamRoleArn',
        'rules[0].destinations[1].lifecycle.DeleteAfterDays',
      ].sort(),
    );
  });
});

describe('parseCopyPolicy: lifecycles are checked for the resource types a rule matches', () => {
  const coldThenSoonDeleted = { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 60 };

  it('accepts a cold setting that only types without cold storage would see (AWS ignores it there)', () => {
    const doc = policyDoc([
      rule('r', [destination(DR_WEST, coldThenSoonDeleted)], { resourceTypes: ['RDS', 'S3'] }),
    ]);
    expect(() => parseCopyPolicy(doc)).not.toThrow();
  });

  it('refuses it once the rule also matches a type with cold storage, naming that type', () => {
    const doc = policyDoc([
      rule('r', [destination(DR_WEST, coldThenSoonDeleted)], { resourceTypes: ['RDS', 'EFS'] }),
    ]);
    expect(ruleAt(policyRefusal(doc), 'rules[0].destinations[0].lifecycle.DeleteAfterDays')).toContain(
      '(for EFS)',
    );
  });

  it('checks a rule matching any resource type as if for one with cold storage', () => {
    const doc = policyDoc([rule('r', [destination(DR_WEST, coldThenSoonDeleted)])]);
    expect(ruleAt(policyRefusal(doc), 'rules[0].destinations[0].lifecycle.DeleteAfterDays')).toContain(
      '+ 90',
    );
  });
});

describe('parseCopyPolicy: lifecycles are checked at load time', () => {
  const at = 'rules[0].destinations[0].lifecycle';
  it.each([
    [
      '89 days in cold storage',
      { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 119 },
      `${at}.DeleteAfterDays`,
    ],
    ['a zero cold setting', { MoveToColdStorageAfterDays: 0 }, `${at}.MoveToColdStorageAfterDays`],
    ['a negative DeleteAfterDays', { DeleteAfterDays: -7 }, `${at}.DeleteAfterDays`],
    ['a lone -1', { DeleteAfterDays: -1 }, `${at}.DeleteAfterDays`],
    // Schema errors inside the `inherit | Lifecycle` union name the field inside the lifecycle.
    ['fractional days', { DeleteAfterDays: 1.5 }, `${at}.DeleteAfterDays`],
    ['days as a string', { DeleteAfterDays: '30' }, `${at}.DeleteAfterDays`],
    [
      'an archive opt-in that is not a boolean',
      { OptInToArchiveForSupportedResources: 'yes' },
      `${at}.OptInToArchiveForSupportedResources`,
    ],
    ['a lifecycle keyword other than inherit', 'inherited', at],
  ])('refuses %s', (_case, lifecycle, field) => {
    const error = policyRefusal(policyDoc([rule('r', [destination(DR_WEST, lifecycle as Lifecycle)])]));
    expect(fieldsOf(error)).toContain(field);
  });

  it.each([
    ['exactly 90 days in cold storage', { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 120 }],
    ['keep indefinitely', { MoveToColdStorageAfterDays: -1, DeleteAfterDays: -1 }],
    ['only DeleteAfterDays', { DeleteAfterDays: 35 }],
    [
      'the archive opt-in',
      { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 365, OptInToArchiveForSupportedResources: true },
    ],
  ])('accepts %s, unchanged', (_case, lifecycle) => {
    const policy = parseCopyPolicy(policyDoc([rule('r', [destination(DR_WEST, lifecycle)])]));
    expect(policy.rules[0]?.destinations[0]?.lifecycle).toEqual(lifecycle);
  });
});

// ---------------------------------------------------------------------------------------------------------

/** Rules: every primary backup → dr-west (inherit) + dr-isolated (35 days); EFS → dr-archive; prod DBs → dr-db. */
function samplePlanPolicy(): CopyPolicy {
  return parseCopyPolicy(
    policyDoc([
      rule('production-to-dr', [
        destination(DR_WEST, 'inherit'),
        destination(DR_ISOLATED, { DeleteAfterDays: 35 }),
      ]),
      rule(
        'file-systems-to-cold',
        [destination(DR_ARCHIVE, { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 365 })],
        {
          resourceTypes: ['EFS'],
        },
      ),
      rule('prod-databases', [destination(DR_DB)], {
        resourceArnPattern: 'arn:aws:rds:*:111111111111:db:prod-*',
      }),
    ]),
  );
}

const rdsPoint = (name: string) =>
  recoveryPoint({ resourceType: 'RDS', resourceArn: `arn:aws:rds:us-east-1:111111111111:db:${name}` });

const vaultsOf = (policy: CopyPolicy, point: RecoveryPoint, only?: string[]) =>
  planCopies(policy, point, only).copies.map((c) => c.destinationVaultArn);

describe('planCopies: which rules match', () => {
  it.each([
    ['an EFS backup in primary', recoveryPoint(), [DR_WEST, DR_ISOLATED, DR_ARCHIVE]],
    [
      'an EBS backup in primary',
      recoveryPoint({ resourceType: 'EBS', resourceArn: 'arn:aws:ec2:us-east-1:111111111111:volume/vol-1' }),
      [DR_WEST, DR_ISOLATED],
    ],
    ['a production database', rdsPoint('prod-orders'), [DR_WEST, DR_ISOLATED, DR_DB]],
    ['a staging database', rdsPoint('staging-orders'), [DR_WEST, DR_ISOLATED]],
    ['a database whose name only contains prod-', rdsPoint('old-prod-orders'), [DR_WEST, DR_ISOLATED]],
    [
      'a backup without a resource ARN',
      recoveryPoint({ resourceType: 'RDS', resourceArn: undefined }),
      [DR_WEST, DR_ISOLATED],
    ],
    ['an EFS backup in another vault', recoveryPoint({ sourceVaultName: 'scratch' }), []],
    ['a vault name differing only in case', recoveryPoint({ sourceVaultName: 'Primary' }), []],
  ])('plans %s', (_case, point, vaults) => {
    expect(vaultsOf(samplePlanPolicy(), point)).toEqual(vaults);
  });

  it.each([
    ['arn:aws:s3:::my.bucket*', 'arn:aws:s3:::my.bucket-logs', true],
    ['arn:aws:s3:::my.bucket*', 'arn:aws:s3:::myXbucket-logs', false],
    ['arn:aws:s3:::logs-(eu)', 'arn:aws:s3:::logs-(eu)', true],
    ['arn:aws:s3:::logs-(eu)', 'arn:aws:s3:::logs-eu', false],
    ['arn:aws:s3:::a+b', 'arn:aws:s3:::aab', false],
    ['*', 'arn:aws:s3:::anything', true],
    ['arn:aws:s3:::data', 'arn:aws:s3:::data-copy', false],
    ['*:s3:::data', 'arn:aws-cn:s3:::data', true],
  ])('glob %s against %s matches: %s', (pattern, resourceArn, matches) => {
    const policy = parseCopyPolicy(
      policyDoc([rule('r', [destination(DR_WEST)], { resourceArnPattern: pattern })]),
    );
    expect(vaultsOf(policy, recoveryPoint({ resourceType: 'S3', resourceArn }))).toEqual(
      matches ? [DR_WEST] : [],
    );
  });
});

describe('planCopies: the planned copy', () => {
  it('carries what StartCopyJob and the ledger need, and fits the copy task contract', () => {
    const point = recoveryPoint({ isParent: true });
    const { copies } = planCopies(samplePlanPolicy(), point);
    expect(copies[1]).toEqual({
      recoveryPointArn: point.recoveryPointArn,
      sourceBackupVaultName: 'primary',
      destinationVaultArn: DR_ISOLATED,
      iamRoleArn: ROLE_ARN,
      lifecycle: { DeleteAfterDays: 35 },
      lifecycleSource: 'policy',
      resourceType: 'EFS',
      resourceArn: point.resourceArn,
      isParent: true,
      rule: 'production-to-dr',
    });
    for (const copy of copies) expect(() => PlannedCopySchema.parse(copy)).not.toThrow();
  });

  it("records lifecycleSource 'none' and no lifecycle when the destination has none", () => {
    const [copy] = planCopies(samplePlanPolicy(), rdsPoint('prod-orders')).copies.filter(
      (c) => c.destinationVaultArn === DR_DB,
    );
    expect(copy?.lifecycleSource).toBe('none');
    expect(copy).not.toHaveProperty('lifecycle');
  });
});

describe('planCopies: destinations named by several rules', () => {
  it('plans a vault once and silently when the rules agree', () => {
    const policy = parseCopyPolicy(
      policyDoc([
        rule('first', [destination(DR_WEST, { DeleteAfterDays: 35 })]),
        rule('second', [destination(DR_WEST, { DeleteAfterDays: 35 }), destination(DR_ISOLATED)]),
      ]),
    );
    const plan = planCopies(policy, recoveryPoint({ resourceType: 'EBS' }));
    expect(plan.copies.map((c) => [c.destinationVaultArn, c.rule])).toEqual([
      [DR_WEST, 'first'],
      [DR_ISOLATED, 'second'],
    ]);
    expect(plan.warnings).toEqual([]);
  });

  it('keeps the first rule and warns when a later rule differs', () => {
    const policy = parseCopyPolicy(
      policyDoc([
        rule('first', [destination(DR_WEST, { DeleteAfterDays: 35 })]),
        rule('second', [destination(DR_WEST, { DeleteAfterDays: 700 })]),
      ]),
    );
    const plan = planCopies(policy, recoveryPoint({ resourceType: 'EBS' }));
    expect(plan.copies).toHaveLength(1);
    expect(plan.copies[0]?.rule).toBe('first');
    expect(plan.copies[0]?.lifecycle).toEqual({ DeleteAfterDays: 35 });
    expect(plan.warnings).toHaveLength(1);
    expect(plan.warnings[0]).toContain('rule second');
    expect(plan.warnings[0]).toContain('rule first');
    expect(plan.warnings[0]).toContain(DR_WEST);
  });

  it('does not warn about a later rule that does not match the recovery point', () => {
    const policy = parseCopyPolicy(
      policyDoc([
        rule('first', [destination(DR_WEST, { DeleteAfterDays: 35 })]),
        rule('efs', [destination(DR_WEST, { DeleteAfterDays: 700 })], { resourceTypes: ['EFS'] }),
      ]),
    );
    expect(planCopies(policy, recoveryPoint({ resourceType: 'EBS' })).warnings).toEqual([]);
  });
});

describe("planCopies: an operator's `only` override", () => {
  it.each([
    [[DR_ISOLATED], [DR_ISOLATED]],
    [
      [DR_ARCHIVE, DR_WEST],
      [DR_WEST, DR_ARCHIVE],
    ],
    [
      [DR_WEST, DR_ISOLATED, DR_ARCHIVE],
      [DR_WEST, DR_ISOLATED, DR_ARCHIVE],
    ],
  ])('narrows the plan to %j', (only, vaults) => {
    expect(vaultsOf(samplePlanPolicy(), recoveryPoint(), only)).toEqual(vaults);
  });

  it.each([
    ['a vault the policy never names', [DR_WEST, vaultArn('elsewhere')], vaultArn('elsewhere')],
    ['a vault of a rule that does not match (EFS only, on EBS)', [DR_ARCHIVE], DR_ARCHIVE],
  ])('refuses %s with InvalidInputError', (_case, only, refused) => {
    const error = thrown(() => planCopies(samplePlanPolicy(), recoveryPoint({ resourceType: 'EBS' }), only));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.name).toBe('InvalidInputError');
    expect(error.violations).toHaveLength(1);
    expect(error.violations?.[0]?.field).toBe('destinations');
    expect(error.violations?.[0]?.value).toBe(refused);
    expect(error.violations?.[0]?.rule).toContain(DR_WEST);
  });

  it('says there are no destinations when no rule matches', () => {
    const error = thrown(() =>
      planCopies(samplePlanPolicy(), recoveryPoint({ sourceVaultName: 'scratch' }), [DR_WEST]),
    );
    expect(error.violations?.[0]?.rule).toContain('(none)');
  });
});

describe('planCopies: a destination equal to the source vault', () => {
  const policy = () =>
    parseCopyPolicy(policyDoc([rule('r', [destination(DR_WEST), destination(SOURCE_VAULT_ARN)])]));

  it('is refused as a policy error naming its path', () => {
    const error = thrown(() => planCopies(policy(), recoveryPoint()));
    expect(error).toBeInstanceOf(InvalidPolicyError);
    expect(error.violations).toEqual([
      {
        field: 'rules[0].destinations[1].vaultArn',
        value: SOURCE_VAULT_ARN,
        rule: 'must not be the source vault',
      },
    ]);
  });

  it('is allowed for recovery points of other vaults', () => {
    const point = recoveryPoint({
      sourceVaultName: 'primary',
      sourceVaultArn: vaultArn('primary', 'us-west-2'),
    });
    expect(vaultsOf(policy(), point)).toEqual([DR_WEST, SOURCE_VAULT_ARN]);
  });

  it('is not refused when the override leaves it out', () => {
    expect(vaultsOf(policy(), recoveryPoint(), [DR_WEST])).toEqual([DR_WEST]);
  });
});

describe('planCopies: lifecycles', () => {
  const inheritPolicy = () => parseCopyPolicy(policyDoc([rule('r', [destination(DR_WEST, 'inherit')])]));
  const plan = (point: RecoveryPoint, policy = inheritPolicy()) => planCopies(policy, point);

  it('inherits the recovery point lifecycle', () => {
    const { copies, warnings } = plan(
      recoveryPoint({ lifecycle: { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 120 } }),
    );
    expect(copies[0]?.lifecycle).toEqual({ MoveToColdStorageAfterDays: 30, DeleteAfterDays: 120 });
    expect(copies[0]?.lifecycleSource).toBe('inherit');
    expect(warnings).toEqual([]);
  });

  it('refuses an inherited lifecycle that breaks the 90-day rule, naming the destination', () => {
    const error = thrown(() =>
      plan(recoveryPoint({ lifecycle: { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 100 } })),
    );
    expect(error).toBeInstanceOf(InvalidLifecycleError);
    expect(fieldsOf(error)).toEqual(['rules[0].destinations[0].lifecycle.DeleteAfterDays']);
  });

  it('drops an inherited cold setting on EBS with a warning', () => {
    const { copies, warnings } = plan(
      recoveryPoint({
        resourceType: 'EBS',
        lifecycle: { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 100 },
      }),
    );
    expect(copies[0]?.lifecycle).toEqual({ DeleteAfterDays: 100 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('rules[0].destinations[0].lifecycle.MoveToColdStorageAfterDays dropped');
  });

  it.each([
    ['has no lifecycle', undefined],
    ['has an empty lifecycle', {}],
    ['has only a cold setting on EBS', { MoveToColdStorageAfterDays: 30 }],
  ])(
    "inherits nothing when the recovery point %s: lifecycleSource 'inherit', no lifecycle",
    (_c, lifecycle) => {
      const { copies } = plan(recoveryPoint({ resourceType: 'EBS', lifecycle }));
      expect(copies[0]?.lifecycleSource).toBe('inherit');
      expect(copies[0]).not.toHaveProperty('lifecycle');
    },
  );

  it("re-checks a policy lifecycle for the recovery point's type: cold dropped on EBS", () => {
    const plan = planCopies(samplePlanPolicy(), recoveryPoint({ resourceType: 'EBS' }), undefined);
    expect(plan.copies.map((c) => c.lifecycleSource)).toEqual(['inherit', 'policy']);
    const policy = parseCopyPolicy(
      policyDoc([
        rule('r', [destination(DR_WEST, { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 365 })]),
      ]),
    );
    const result = planCopies(policy, recoveryPoint({ resourceType: 'EBS' }));
    expect(result.copies[0]?.lifecycle).toEqual({ DeleteAfterDays: 365 });
    expect(result.copies[0]?.lifecycleSource).toBe('policy');
    expect(result.warnings).toHaveLength(1);
  });
});
