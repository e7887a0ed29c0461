/**
 * What a valid policy may still get wrong: settings AWS Backup will ignore, rules that lose to earlier ones
 * (destinations merge first rule wins, see planCopies), resource type names AWS does not use, and the YAML
 * slips behind the most common refusals. Advice only: none of it makes a policy invalid.
 */
import { InvalidLifecycleError } from '../errors.js';
import { KEEP_INDEFINITELY, validateLifecycle } from './lifecycle.js';
import type { CopyPolicy, CopyRule } from './policy.js';
import { COLD_STORAGE_TYPES, closestResourceType, isResourceType } from './resource-types.js';

export interface PolicyWarning {
  /** Path in the policy file, e.g. `rules[1].destinations[0]`. */
  field: string;
  message: string;
}

const intersects = (a: readonly string[], b: readonly string[]) => a.some((x) => b.includes(x));
const includesAll = (a: readonly string[], b: readonly string[]) => b.every((x) => a.includes(x));

/** Whether some recovery point could match both rules (an ARN glob is assumed to overlap unless both are literal). */
function overlaps(a: CopyRule['match'], b: CopyRule['match']): boolean {
  if (!intersects(a.sourceVaults, b.sourceVaults)) return false;
  if (a.resourceTypes && b.resourceTypes && !intersects(a.resourceTypes, b.resourceTypes)) return false;
  const literal = (pattern: string | undefined) => pattern !== undefined && !pattern.includes('*');
  return !(
    literal(a.resourceArnPattern) &&
    literal(b.resourceArnPattern) &&
    a.resourceArnPattern !== b.resourceArnPattern
  );
}

/** Whether every recovery point `b` matches, `a` matches too. */
function covers(a: CopyRule['match'], b: CopyRule['match']): boolean {
  if (!includesAll(a.sourceVaults, b.sourceVaults)) return false;
  if (a.resourceTypes && !(b.resourceTypes && includesAll(a.resourceTypes, b.resourceTypes))) return false;
  return a.resourceArnPattern === undefined || a.resourceArnPattern === b.resourceArnPattern;
}

function shadowing(policy: CopyPolicy): PolicyWarning[] {
  const warnings: PolicyWarning[] = [];
  policy.rules.forEach((rule, r) => {
    const earlier = policy.rules.slice(0, r);
    const lost = rule.destinations.map((destination, d) => {
      const winner = earlier.find(
        (e) =>
          overlaps(e.match, rule.match) && e.destinations.some((x) => x.vaultArn === destination.vaultArn),
      );
      if (!winner) return false;
      const theirs = winner.destinations.find((x) => x.vaultArn === destination.vaultArn);
      const always = covers(winner.match, rule.match);
      if (JSON.stringify(theirs) !== JSON.stringify(destination)) {
        warnings.push({
          field: `rules[${r}].destinations[${d}]`,
          message: `rule ${rule.name}'s settings for ${destination.vaultArn} lose to earlier rule ${winner.name} ${always ? 'for every recovery point it matches: they never apply' : 'for recovery points both rules match'} (the first rule in file order wins)`,
        });
      }
      return always;
    });
    if (lost.length > 0 && lost.every(Boolean)) {
      warnings.push({
        field: `rules[${r}]`,
        message: `rule ${rule.name} is shadowed: earlier rules match every recovery point it matches and already copy to all its vaults, so it changes nothing`,
      });
    }
  });
  return warnings;
}

function ignoredSettings(policy: CopyPolicy): PolicyWarning[] {
  const warnings: PolicyWarning[] = [];
  policy.rules.forEach((rule, r) => {
    rule.destinations.forEach((destination, d) => {
      const lifecycle = destination.lifecycle;
      if (!lifecycle || lifecycle === 'inherit') return;
      const field = `rules[${r}].destinations[${d}].lifecycle`;
      const keeps =
        lifecycle.MoveToColdStorageAfterDays === KEEP_INDEFINITELY &&
        lifecycle.DeleteAfterDays === KEEP_INDEFINITELY;
      if (lifecycle.MoveToColdStorageAfterDays === undefined || keeps) return;
      if (!rule.match.resourceTypes) {
        warnings.push({
          field: `${field}.MoveToColdStorageAfterDays`,
          message: `rule ${rule.name} matches every resource type; AWS Backup ignores cold storage for all but ${COLD_STORAGE_TYPES.join(', ')} (narrow the rule with resourceTypes)`,
        });
        return;
      }
      for (const resourceType of rule.match.resourceTypes.filter(isResourceType)) {
        try {
          // validateLifecycle's warnings read `<field> dropped: <why>`.
          for (const dropped of validateLifecycle(lifecycle, resourceType, field).warnings) {
            const [at = field, why = dropped] = dropped.split(' dropped: ');
            warnings.push({ field: at, message: `ignored by AWS Backup for ${resourceType}: ${why}` });
          }
        } catch (error) {
          // Refusals are the validator's to report; here only what would be dropped.
          if (!(error instanceof InvalidLifecycleError)) throw error;
        }
      }
    });
  });
  return warnings;
}

function unknownResourceTypes(policy: CopyPolicy): PolicyWarning[] {
  return policy.rules.flatMap((rule, r) =>
    (rule.match.resourceTypes ?? []).flatMap((name, t) => {
      if (isResourceType(name)) return [];
      const closest = closestResourceType(name);
      return [
        {
          field: `rules[${r}].match.resourceTypes[${t}]`,
          message: `${JSON.stringify(name)} is not an AWS Backup ResourceType value, so this never matches${closest ? `; did you mean ${closest}?` : ''}`,
        },
      ];
    }),
  );
}

/** Warnings about a policy that parseCopyPolicy accepted. */
export function policyWarnings(policy: CopyPolicy): PolicyWarning[] {
  return [...unknownResourceTypes(policy), ...ignoredSettings(policy), ...shadowing(policy)];
}

/**
 * Hints about the raw parsed document (valid or not) for YAML's usual surprises: an unquoted account id
 * becomes a number (losing leading zeros), and `Inherit` is not `inherit`.
 */
export function documentHints(document: unknown): PolicyWarning[] {
  const hints: PolicyWarning[] = [];
  const visit = (node: unknown, path: string) => {
    if (Array.isArray(node)) {
      for (const [i, child] of node.entries()) visit(child, `${path}[${i}]`);
    } else if (typeof node === 'object' && node !== null)
      for (const [key, child] of Object.entries(node)) visit(child, path ? `${path}.${key}` : key);
    else if (typeof node === 'number' && Number.isInteger(node) && /accounts\[\d+\]$/.test(path))
      hints.push({
        field: path,
        message: `YAML read ${node} as a number: quote account ids ('${String(node).padStart(12, '0')}'); unquoted, a leading 0 is lost`,
      });
    else if (typeof node === 'string' && node !== 'inherit' && node.toLowerCase() === 'inherit')
      hints.push({ field: path, message: `${JSON.stringify(node)} is case-sensitive: write inherit` });
  };
  visit(document, '');
  return hints;
}
