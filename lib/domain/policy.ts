import * as z from 'zod';
import {
  InvalidInputError,
  InvalidLifecycleError,
  InvalidPolicyError,
  type RuleViolation,
} from '../errors.js';
import { type ArnScope, checkArn, isBackupVaultName, PARTITIONS, parseArn, vaultNameFromArn } from './arn.js';
import type { Deployment } from './deployment.js';
import { LifecycleSchema, lifecycleInput, validateLifecycle } from './lifecycle.js';
import type { RecoveryPoint } from './recovery-point.js';
import { copyDirectionRefusal } from './resource-types.js';
import { violationsFromZod } from './violations.js';

/**
 * The oldest a resource's newest COMPLETED copy in a destination may be, in hours: `npm run coverage` shows LATE
 * past it, and the reconciler counts the resource in ResourcesOutsideRpo. At most 10 years: beyond that a typo.
 */
const RpoHoursSchema = z
  .number()
  .positive('must be a number of hours greater than 0')
  .max(87_600, 'must be at most 87600 (10 years)');

const DestinationSchema = z
  .object({
    vaultArn: z.string(),
    iamRoleArn: z.string(),
    /** A lifecycle for the copy, or `inherit` to reuse the source recovery point's lifecycle. */
    lifecycle: z.union([z.literal('inherit'), LifecycleSchema]).optional(),
    /** Overrides the rule's rpoHours for this destination. */
    rpoHours: RpoHoursSchema.optional(),
  })
  .strict();

const RuleSchema = z
  .object({
    name: z.string().min(1).max(100),
    match: z
      .object({
        sourceVaults: z.array(z.string()).min(1),
        resourceTypes: z.array(z.string().min(1)).min(1).optional(),
        /** Glob on the protected resource's ARN; `*` matches any run of characters. */
        resourceArnPattern: z.string().min(1).optional(),
      })
      .strict(),
    destinations: z.array(DestinationSchema).min(1),
    /** The RPO of every destination of this rule that names none. */
    rpoHours: RpoHoursSchema.optional(),
  })
  .strict();

export const CopyPolicySchema = z
  .object({
    version: z.literal(1),
    /** Where sources and destinations may live; anything else is refused. Required: no default allows all. */
    allowed: z
      .object({
        partition: z.enum(PARTITIONS),
        accounts: z.array(z.string().regex(/^\d{12}$/, 'must be a 12-digit account id')).min(1),
        regions: z.array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be a region name')).min(1),
      })
      .strict(),
    rules: z.array(RuleSchema).min(1),
  })
  .strict();

export type CopyPolicy = z.infer<typeof CopyPolicySchema>;
export type CopyRule = z.infer<typeof RuleSchema>;
export type Destination = z.infer<typeof DestinationSchema>;

/** A resource type whose cold storage settings are honoured: explicit lifecycles of rules matching any type
 *  are checked as if for it at load time. */
const STRICTEST_RESOURCE_TYPE = 'EFS';

function checkRule(rule: CopyRule, index: number, scope: ArnScope): RuleViolation[] {
  const at = `rules[${index}]`;
  const violations: RuleViolation[] = [];
  rule.match.sourceVaults.forEach((name, i) => {
    if (!isBackupVaultName(name)) {
      violations.push({
        field: `${at}.match.sourceVaults[${i}]`,
        value: name,
        rule: 'must match ^[a-zA-Z0-9\\-\\_]{2,50}$ (StartCopyJob SourceBackupVaultName)',
      });
    }
  });
  rule.destinations.forEach((destination, i) => {
    const field = `${at}.destinations[${i}]`;
    violations.push(...checkArn(`${field}.vaultArn`, destination.vaultArn, 'backupVault', scope));
    violations.push(...checkArn(`${field}.iamRoleArn`, destination.iamRoleArn, 'iamRole', scope));
    if (destination.lifecycle && destination.lifecycle !== 'inherit') {
      const lifecycle = destination.lifecycle;
      // The first resource type the rule can match that refuses the lifecycle is enough to name the problem.
      for (const resourceType of rule.match.resourceTypes ?? [STRICTEST_RESOURCE_TYPE]) {
        try {
          validateLifecycle(lifecycle, resourceType, `${field}.lifecycle`);
        } catch (error) {
          if (!(error instanceof InvalidLifecycleError)) throw error;
          violations.push(
            ...error.violations.map((v) => ({ ...v, rule: `${v.rule} (for ${resourceType})` })),
          );
          break;
        }
      }
    }
  });
  return violations;
}

/** Where the policy will run, as far as the checker knows it: the Region, and the account if given. */
export type PolicyDeployment = Pick<Deployment, 'region'> & Partial<Pick<Deployment, 'accountId'>>;

const SAME_AS_SOURCE_RULE = 'must not be a source vault of its rule: StartCopyJob copies to another vault';

/**
 * The rules that need the deployment: a source vault is `<sourceVaults[i]>` in the deployment's Region and
 * account, and copy roles are passed in that account. Without an account id the copy role's account stands in
 * for it, since a role can only be passed in its own account.
 */
function checkDeployment(policy: CopyPolicy, deployment: PolicyDeployment): RuleViolation[] {
  const violations: RuleViolation[] = [];
  if (!policy.allowed.regions.includes(deployment.region)) {
    violations.push({
      field: 'allowed.regions',
      value: policy.allowed.regions,
      rule: `must include the deployment's Region ${deployment.region}, where every source vault is`,
    });
  }
  if (deployment.accountId && !policy.allowed.accounts.includes(deployment.accountId)) {
    violations.push({
      field: 'allowed.accounts',
      value: policy.allowed.accounts,
      rule: `must include the deployment's account ${deployment.accountId}, where every source vault is`,
    });
  }
  policy.rules.forEach((rule, r) => {
    rule.destinations.forEach((destination, d) => {
      const field = `rules[${r}].destinations[${d}]`;
      const roleAccount = parseArn(destination.iamRoleArn)?.accountId;
      if (deployment.accountId && roleAccount !== deployment.accountId) {
        violations.push({
          field: `${field}.iamRoleArn`,
          value: destination.iamRoleArn,
          rule: `must be in the deployment's account ${deployment.accountId}: a role can only be passed in its own account`,
        });
      }
      const vault = parseArn(destination.vaultArn);
      const sourceAccount = deployment.accountId ?? roleAccount;
      if (
        vault?.region === deployment.region &&
        vault.accountId === sourceAccount &&
        rule.match.sourceVaults.includes(vaultNameFromArn(destination.vaultArn))
      ) {
        violations.push({
          field: `${field}.vaultArn`,
          value: destination.vaultArn,
          rule: SAME_AS_SOURCE_RULE,
        });
      }
    });
  });
  return violations;
}

/**
 * Parses and validates a policy document; throws InvalidPolicyError listing every problem with its path.
 * With `deployment` (policy:check, packaging) it also refuses what only the deployment's Region and account
 * reveal: a destination equal to a source vault of its rule, a copy role in another account.
 */
export function parseCopyPolicy(document: unknown, deployment?: PolicyDeployment): CopyPolicy {
  const parsed = CopyPolicySchema.safeParse(document);
  if (!parsed.success)
    throw new InvalidPolicyError(violationsFromZod(parsed.error, document), 'copy policy invalid');
  const policy = parsed.data;
  const violations = policy.rules.flatMap((rule, i) => checkRule(rule, i, policy.allowed));
  if (deployment) violations.push(...checkDeployment(policy, deployment));
  const names = new Set<string>();
  policy.rules.forEach((rule, i) => {
    if (names.has(rule.name))
      violations.push({ field: `rules[${i}].name`, value: rule.name, rule: 'must be unique' });
    names.add(rule.name);
  });
  if (violations.length > 0) throw new InvalidPolicyError(violations, 'copy policy invalid');
  return policy;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`);
}

export function ruleMatches(rule: CopyRule, recoveryPoint: RecoveryPoint): boolean {
  const { match } = rule;
  if (!match.sourceVaults.includes(recoveryPoint.sourceVaultName)) return false;
  if (match.resourceTypes && !match.resourceTypes.includes(recoveryPoint.resourceType)) return false;
  if (
    match.resourceArnPattern &&
    !globToRegExp(match.resourceArnPattern).test(recoveryPoint.resourceArn ?? '')
  ) {
    return false;
  }
  return true;
}

/** One copy to make; also the copy task's input, validated again when it arrives there. */
export const PlannedCopySchema = z.object({
  recoveryPointArn: z.string(),
  sourceBackupVaultName: z.string(),
  destinationVaultArn: z.string(),
  iamRoleArn: z.string(),
  lifecycle: LifecycleSchema.optional(),
  lifecycleSource: z.enum(['policy', 'inherit', 'none']),
  resourceType: z.string(),
  /** The protected resource (DescribeRecoveryPoint ResourceArn), recorded on the copy's ledger item: AWS runs
   *  one backup or copy job per resource at a time, and coverage asks by it. */
  resourceArn: z.string().optional(),
  isParent: z.boolean(),
  rule: z.string(),
  /** When the source backup finished (ISO-8601), for the backup-to-copy latency metric. */
  sourceCompletionDate: z.string().optional(),
});

export type PlannedCopy = z.infer<typeof PlannedCopySchema>;

/** A destination the policy names for a recovery point that AWS would refuse: recorded REJECTED, not copied. */
export const RefusedDestinationSchema = z.object({
  destinationVaultArn: z.string(),
  /** The policy rule that named it. */
  rule: z.string(),
  /** The destination's path in the policy, e.g. `rules[0].destinations[1].vaultArn`. */
  field: z.string(),
  /** The rule broken, in words. */
  reason: z.string(),
});

export type RefusedDestination = z.infer<typeof RefusedDestinationSchema>;

/**
 * The copies one recovery point needs, the destinations refused for it (the others are still copied), and the
 * settings dropped on the way because AWS would ignore them.
 */
export const CopyPlanSchema = z.object({
  copies: z.array(PlannedCopySchema),
  refused: z.array(RefusedDestinationSchema),
  warnings: z.array(z.string()),
});

export type CopyPlan = z.infer<typeof CopyPlanSchema>;

function planLifecycle(
  destination: Destination,
  recoveryPoint: RecoveryPoint,
  field: string,
): Pick<PlannedCopy, 'lifecycle' | 'lifecycleSource'> & { warnings: string[] } {
  if (destination.lifecycle === undefined) return { lifecycleSource: 'none', warnings: [] };
  const inherited = destination.lifecycle === 'inherit';
  // Only StartCopyJob's input members are inherited; the SDK model documents DeleteAfterEvent as "Not valid as
  // an input".
  const { lifecycle: source, outputOnly } =
    destination.lifecycle === 'inherit'
      ? lifecycleInput(recoveryPoint.lifecycle ?? {})
      : { lifecycle: destination.lifecycle, outputOnly: [] };
  const notInherited = outputOnly.map(
    (name) => `${field}: the source's Lifecycle.${name} is not inherited, StartCopyJob does not accept it`,
  );
  const { lifecycle, warnings } = validateLifecycle(source, recoveryPoint.resourceType, field);
  const empty = Object.keys(lifecycle).length === 0;
  return {
    ...(empty ? {} : { lifecycle }),
    lifecycleSource: inherited ? 'inherit' : 'policy',
    warnings: [...notInherited, ...warnings],
  };
}

/**
 * The copies one recovery point needs: every matching rule's destinations, de-duplicated by vault ARN (the
 * first rule in file order wins), optionally narrowed to `only` (an operator's override).
 */
export function planCopies(
  policy: CopyPolicy,
  recoveryPoint: RecoveryPoint,
  only?: readonly string[],
): CopyPlan {
  const warnings: string[] = [];
  const chosen = new Map<string, { destination: Destination; rule: string; field: string }>();
  policy.rules.forEach((rule, r) => {
    if (!ruleMatches(rule, recoveryPoint)) return;
    rule.destinations.forEach((destination, d) => {
      const earlier = chosen.get(destination.vaultArn);
      if (earlier) {
        if (JSON.stringify(earlier.destination) !== JSON.stringify(destination)) {
          warnings.push(
            `rule ${rule.name}: ${destination.vaultArn} already planned by rule ${earlier.rule}; kept that`,
          );
        }
        return;
      }
      chosen.set(destination.vaultArn, {
        destination,
        rule: rule.name,
        field: `rules[${r}].destinations[${d}]`,
      });
    });
  });

  if (only !== undefined) {
    const unknown = only.filter((vaultArn) => !chosen.has(vaultArn));
    if (unknown.length > 0) {
      throw new InvalidInputError(
        unknown.map((vaultArn) => ({
          field: 'destinations',
          value: vaultArn,
          rule: `must be one of the policy's destinations for this recovery point (${[...chosen.keys()].join(', ') || 'none'})`,
        })),
        'destinations override refused',
      );
    }
    for (const vaultArn of [...chosen.keys()]) if (!only.includes(vaultArn)) chosen.delete(vaultArn);
  }

  const refused: RefusedDestination[] = [];
  for (const [vaultArn, { destination, rule, field }] of chosen) {
    const refusal = destinationRefusal(destination, recoveryPoint);
    if (!refusal) continue;
    refused.push({
      destinationVaultArn: vaultArn,
      rule,
      field: `${field}.${refusal.field}`,
      reason: refusal.reason,
    });
    chosen.delete(vaultArn);
  }

  const copies = [...chosen.values()].map(({ destination, rule, field }) => {
    const { warnings: lifecycleWarnings, ...lifecycle } = planLifecycle(
      destination,
      recoveryPoint,
      `${field}.lifecycle`,
    );
    warnings.push(...lifecycleWarnings);
    return {
      recoveryPointArn: recoveryPoint.recoveryPointArn,
      sourceBackupVaultName: recoveryPoint.sourceVaultName,
      destinationVaultArn: destination.vaultArn,
      iamRoleArn: destination.iamRoleArn,
      resourceType: recoveryPoint.resourceType,
      ...(recoveryPoint.resourceArn ? { resourceArn: recoveryPoint.resourceArn } : {}),
      isParent: recoveryPoint.isParent,
      rule,
      ...(recoveryPoint.completionDate ? { sourceCompletionDate: recoveryPoint.completionDate } : {}),
      ...lifecycle,
    };
  });
  return { copies, refused, warnings };
}

/**
 * Why AWS would refuse to copy `recoveryPoint` to `destination`, if it would: the source vault itself, a copy
 * role in another account than the source (iam:PassRole passes only a role of the caller's own account), or a
 * Region or account the resource type cannot be copied to (the capability table, resource-types.ts).
 */
export function destinationRefusal(
  destination: Destination,
  recoveryPoint: RecoveryPoint,
): { field: 'vaultArn' | 'iamRoleArn'; reason: string } | undefined {
  if (destination.vaultArn === recoveryPoint.sourceVaultArn) {
    return {
      field: 'vaultArn',
      reason: 'must not be the source vault: StartCopyJob copies to another vault',
    };
  }
  const source = parseArn(recoveryPoint.sourceVaultArn);
  const target = parseArn(destination.vaultArn);
  if (!source || !target) return undefined;
  const roleAccount = parseArn(destination.iamRoleArn)?.accountId;
  if (roleAccount !== source.accountId) {
    return {
      field: 'iamRoleArn',
      reason: `must be in the source account ${source.accountId}: a role can only be passed in its own account`,
    };
  }
  const reason = copyDirectionRefusal({
    resourceType: recoveryPoint.resourceType,
    recoveryPointArn: recoveryPoint.recoveryPointArn,
    crossRegion: target.region !== source.region,
    crossAccount: target.accountId !== source.accountId,
  });
  return reason ? { field: 'vaultArn', reason } : undefined;
}
