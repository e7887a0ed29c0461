import * as z from 'zod';
import { InvalidLifecycleError, type RuleViolation } from '../errors.js';
import { supportsArchiveTier, supportsColdStorage } from './resource-types.js';

/**
 * StartCopyJob's Lifecycle input members, with AWS's member names so nothing is lost in translation.
 * test/unit/inherit-from-sdk-model.test.ts checks them against the SDK model's Lifecycle shape.
 */
export const LifecycleSchema = z
  .object({
    MoveToColdStorageAfterDays: z.number().int().optional(),
    DeleteAfterDays: z.number().int().optional(),
    OptInToArchiveForSupportedResources: z.boolean().optional(),
  })
  .strict();

export type Lifecycle = z.infer<typeof LifecycleSchema>;

/**
 * The Lifecycle DescribeRecoveryPoint reports: the input members, and DeleteAfterEvent, which the SDK model
 * documents as "Not valid as an input" (e.g. DELETE_AFTER_COPY).
 */
export const DescribedLifecycleSchema = LifecycleSchema.extend({
  DeleteAfterEvent: z.string().optional(),
}).strict();

export type DescribedLifecycle = z.infer<typeof DescribedLifecycleSchema>;

const INPUT_MEMBERS = Object.keys(LifecycleSchema.shape) as (keyof Lifecycle)[];
const DESCRIBED_MEMBERS = Object.keys(DescribedLifecycleSchema.shape) as (keyof DescribedLifecycle)[];

/** The members of a described lifecycle the code knows (a member an SDK update adds is left out). */
export function describedLifecycle(lifecycle: object): DescribedLifecycle {
  const members = lifecycle as Record<string, unknown>;
  return Object.fromEntries(
    DESCRIBED_MEMBERS.filter((name) => members[name] !== undefined).map((name) => [name, members[name]]),
  ) as DescribedLifecycle;
}

/** A described lifecycle as StartCopyJob may receive it, and the output-only members left behind. */
export function lifecycleInput(described: DescribedLifecycle): {
  lifecycle: Lifecycle;
  outputOnly: string[];
} {
  const lifecycle = Object.fromEntries(
    INPUT_MEMBERS.filter((name) => described[name] !== undefined).map((name) => [name, described[name]]),
  ) as Lifecycle;
  const outputOnly = DESCRIBED_MEMBERS.filter(
    (name) => described[name] !== undefined && !(INPUT_MEMBERS as string[]).includes(name),
  );
  return { lifecycle, outputOnly };
}

/** AWS documents -1 on both fields as "keep indefinitely" (StartCopyJob, Lifecycle). */
export const KEEP_INDEFINITELY = -1;
/** Backups moved to cold storage must stay there at least 90 days (StartCopyJob, Lifecycle). */
export const MIN_COLD_STORAGE_DAYS = 90;

export interface ValidatedLifecycle {
  lifecycle: Lifecycle;
  /** Settings dropped because AWS would ignore them for this resource type. */
  warnings: string[];
}

function checkDays(field: string, value: number | undefined): RuleViolation[] {
  if (value === undefined || value === KEEP_INDEFINITELY || (Number.isInteger(value) && value >= 1))
    return [];
  return [{ field, value, rule: 'must be a positive whole number of days, or -1 to keep indefinitely' }];
}

/**
 * Enforces the lifecycle rules AWS Backup applies to StartCopyJob before AWS sees the request.
 * Returns the lifecycle to send (settings AWS ignores for `resourceType` removed) or throws
 * InvalidLifecycleError naming every rule broken. `field` prefixes the paths in messages.
 */
export function validateLifecycle(input: Lifecycle, resourceType: string, field: string): ValidatedLifecycle {
  const lifecycle: Lifecycle = { ...input };
  const warnings: string[] = [];
  const cold = `${field}.MoveToColdStorageAfterDays`;
  const del = `${field}.DeleteAfterDays`;

  const keepsIndefinitely =
    lifecycle.DeleteAfterDays === KEEP_INDEFINITELY &&
    lifecycle.MoveToColdStorageAfterDays === KEEP_INDEFINITELY;

  // AWS ignores the cold setting for resource types without cold storage; drop it so the ledger shows what applies.
  // On EBS, cold storage is the archive tier, which applies only with the opt-in.
  const coldApplies =
    supportsColdStorage(resourceType) ||
    (lifecycle.OptInToArchiveForSupportedResources === true && supportsArchiveTier(resourceType));
  if (lifecycle.MoveToColdStorageAfterDays !== undefined && !keepsIndefinitely && !coldApplies) {
    const unless = supportsArchiveTier(resourceType)
      ? ' unless OptInToArchiveForSupportedResources is true'
      : '';
    warnings.push(
      `${cold} dropped: ${resourceType} does not support cold storage${unless}, AWS Backup would ignore it`,
    );
    delete lifecycle.MoveToColdStorageAfterDays;
  }
  if (lifecycle.OptInToArchiveForSupportedResources === true && !supportsArchiveTier(resourceType)) {
    warnings.push(
      `${field}.OptInToArchiveForSupportedResources dropped: ${resourceType} does not support the archive tier`,
    );
    delete lifecycle.OptInToArchiveForSupportedResources;
  }

  const violations = [
    ...checkDays(cold, lifecycle.MoveToColdStorageAfterDays),
    ...checkDays(del, lifecycle.DeleteAfterDays),
  ];
  const coldIsKeep = lifecycle.MoveToColdStorageAfterDays === KEEP_INDEFINITELY;
  const deleteIsKeep = lifecycle.DeleteAfterDays === KEEP_INDEFINITELY;
  if (coldIsKeep !== deleteIsKeep && !keepsIndefinitely) {
    // AWS documents -1 only as a pair; a lone -1 is ambiguous, so ask for the unambiguous form instead.
    const lone = coldIsKeep ? cold : del;
    violations.push({
      field: lone,
      value: KEEP_INDEFINITELY,
      rule: `-1 (keep indefinitely) must be set on both DeleteAfterDays and MoveToColdStorageAfterDays; to leave ${lone.split('.').pop()} unset, omit it`,
    });
  }

  const coldDays = lifecycle.MoveToColdStorageAfterDays;
  const deleteDays = lifecycle.DeleteAfterDays;
  if (
    coldDays !== undefined &&
    deleteDays !== undefined &&
    coldDays >= 1 &&
    deleteDays >= 1 &&
    deleteDays < coldDays + MIN_COLD_STORAGE_DAYS
  ) {
    violations.push({
      field: del,
      value: deleteDays,
      rule: `must be at least MoveToColdStorageAfterDays + ${MIN_COLD_STORAGE_DAYS} (${coldDays + MIN_COLD_STORAGE_DAYS}): a copy in cold storage must stay there ${MIN_COLD_STORAGE_DAYS} days`,
    });
  }
  if (violations.length > 0) throw new InvalidLifecycleError(violations, 'lifecycle refused');
  return { lifecycle, warnings };
}
