import * as z from 'zod';
import {
  InvalidInputError,
  InvalidLifecycleError,
  InvalidPolicyError,
  type RuleViolation,
} from '../errors.js';
import { type ArnScope, checkArn, isBackupVaultName, PARTITIONS } from './arn.js';
import { LifecycleSchema, validateLifecycle } from './lifecycle.js';
import type { RecoveryPoint } from './recovery-point.js';
import { violationsFromZod } from './violations.js';

const DestinationSchema = z
  .object({
    vaultArn: z.string(),
    iamRoleArn: z.string(),
    /** A lifecycle for the copy, or `inherit` to reuse the source recovery point's lifecycle. */
    lifecycle: z.union([z.literal('inherit'), LifecycleSchema]).optional(),
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
  })
  .strict();

export const CopyPolicySchema = z
  .object({
    version: z.literal(1),
    /** Where sources and destinations may live; anything else is refused. */
    allowed: z
      .object({
        partition: z.enum(PARTITIONS).default('aws'),
        accounts: z.array(z.string().regex(/^\d{12}$/, 'must be a 12-digit account id')).default([]),
        regions: z.array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be a region name')).default([]),
      })
      .strict()
      .default({ partition: 'aws', accounts: [], regions: [] }),
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

/** Parses and validates a policy document; throws InvalidPolicyError listing every problem with its path. */
export function parseCopyPolicy(document: unknown): CopyPolicy {
  const parsed = CopyPolicySchema.safeParse(document);
  if (!parsed.success)
    throw new InvalidPolicyError(violationsFromZod(parsed.error, document), 'copy policy invalid');
  const policy = parsed.data;
  const violations = policy.rules.flatMap((rule, i) => checkRule(rule, i, policy.allowed));
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
  /** The source resource: AWS runs one backup or copy job per resource at a time. */
  resourceArn: z.string().optional(),
  isParent: z.boolean(),
  rule: z.string(),
  /** When the source backup finished (ISO-8601), for the backup-to-copy latency metric. */
  sourceCompletionDate: z.string().optional(),
});

export type PlannedCopy = z.infer<typeof PlannedCopySchema>;

/** The copies one recovery point needs, and the settings dropped on the way because AWS would ignore them. */
export const CopyPlanSchema = z.object({ copies: z.array(PlannedCopySchema), warnings: z.array(z.string()) });

export type CopyPlan = z.infer<typeof CopyPlanSchema>;

function planLifecycle(
  destination: Destination,
  recoveryPoint: RecoveryPoint,
  field: string,
): Pick<PlannedCopy, 'lifecycle' | 'lifecycleSource'> & { warnings: string[] } {
  if (destination.lifecycle === undefined) return { lifecycleSource: 'none', warnings: [] };
  const inherited = destination.lifecycle === 'inherit';
  const source =
    destination.lifecycle === 'inherit' ? (recoveryPoint.lifecycle ?? {}) : destination.lifecycle;
  const { lifecycle, warnings } = validateLifecycle(source, recoveryPoint.resourceType, field);
  const empty = Object.keys(lifecycle).length === 0;
  return {
    ...(empty ? {} : { lifecycle }),
    lifecycleSource: inherited ? 'inherit' : 'policy',
    warnings,
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

  const sameVault = [...chosen.values()].find(
    ({ destination }) => destination.vaultArn === recoveryPoint.sourceVaultArn,
  );
  if (sameVault) {
    throw new InvalidPolicyError([
      {
        field: `${sameVault.field}.vaultArn`,
        value: sameVault.destination.vaultArn,
        rule: 'must not be the source vault',
      },
    ]);
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
  return { copies, warnings };
}
