import { parseArn } from './arn.js';
import { isFullyManaged } from './resource-types.js';

/*
 * Copy slots shaped like AWS Backup's quotas (AWS Backup Developer Guide, "AWS Backup quotas",
 * https://docs.aws.amazon.com/aws-backup/latest/devguide/aws-backup-limits.html):
 *   - 100 concurrent backup copies per account outbound to a destination Region (fully managed resource types);
 *   - after that limit is reached, 5 more per destination backup vault;
 *   - 1 concurrent backup or copy job per resource (so copies of one recovery point take turns; the quota of 30
 *     concurrent cross-account copies of one resource to one Region can then never be reached).
 * Resource types AWS Backup does not fully manage are copied by their own service under its own quotas: they get
 * a regional slot of their own per type, with the same limit, so they never eat into the fully managed quota.
 */

/** AWS's per-(account, destination Region) quota; not adjustable for most resource types. */
export const DEFAULT_REGIONAL_COPY_SLOTS = 100;
/** Per destination vault, once the regional quota is reached; not adjustable. */
export const VAULT_OVERFLOW_SLOTS = 5;
/** Concurrent backup and copy jobs per resource; not adjustable. */
export const RESOURCE_SLOTS = 1;

export interface CopySlotLimits {
  /** Copies in flight per (source account, destination Region). */
  perRegion: number;
  /** Overrides of perRegion by destination Region. */
  byRegion: Readonly<Record<string, number>>;
}

/** What the slots of a copy are derived from (a planned copy, or its ledger item). */
export interface SlotSubject {
  recoveryPointArn: string;
  destinationVaultArn: string;
  resourceType?: string | undefined;
  resourceArn?: string | undefined;
}

export interface Slot {
  key: string;
  limit: number;
}

/** The slots one copy needs: a resource slot (if its resource is known), and a regional slot or the overflow. */
export interface CopySlotSet {
  resource?: Slot;
  regional: Slot;
  /** Taken only when the regional slot is full. */
  overflow?: Slot;
}

/** Whether AWS Backup itself copies the copy's type (under the quotas above); an unknown type counts as one. */
const isManaged = (copy: SlotSubject) =>
  copy.resourceType === undefined || isFullyManaged(copy.resourceType, copy.recoveryPointArn);

/**
 * The slots of a copy. Keys are readable on purpose (they show up in `npm run report`): the recovery point's
 * account (EBS snapshots and AMIs name none: `local`), the destination Region, and for other than fully managed
 * types the resource type.
 */
export function copySlotsOf(copy: SlotSubject, limits: CopySlotLimits): CopySlotSet {
  const sourceAccount = parseArn(copy.recoveryPointArn)?.accountId || 'local';
  const region = parseArn(copy.destinationVaultArn)?.region ?? 'unknown';
  const limit = limits.byRegion[region] ?? limits.perRegion;
  const managed = isManaged(copy);
  return {
    ...(copy.resourceArn ? { resource: { key: `resource#${copy.resourceArn}`, limit: RESOURCE_SLOTS } } : {}),
    regional: {
      key: managed
        ? `region#${sourceAccount}#${region}`
        : `region#${sourceAccount}#${region}#${copy.resourceType}`,
      limit,
    },
    ...(managed
      ? { overflow: { key: `vault#${copy.destinationVaultArn}`, limit: VAULT_OVERFLOW_SLOTS } }
      : {}),
  };
}

/**
 * The start of the overflow slot keys of every vault in the copy's destination Region (their keys are
 * `vault#<vault ARN>`, and the ARN names the Region); undefined for a type that takes no overflow slot.
 */
export function regionVaultsPrefix(copy: SlotSubject): string | undefined {
  const arn = parseArn(copy.destinationVaultArn);
  return arn && isManaged(copy) ? `vault#arn:${arn.partition}:${arn.service}:${arn.region}:` : undefined;
}

/**
 * How long a Region's mark "StartCopyJob answered ServiceUnavailable" lasts unless refreshed: longer than its probe
 * goes between tries (the Retry's last interval, at most 120 s, then WaitBeforeResuming's 300 s), so the mark
 * lapses only once the probe is gone (its execution stopped, say), and then copies take slots again.
 */
export const UNAVAILABLE_MARK_MS = 10 * 60_000;

/** Whether a Region's ServiceUnavailable mark (ISO-8601, or none) still holds at `now` (epoch ms). */
export const isRegionUnavailable = (unavailableAt: string | undefined, now: number): boolean =>
  unavailableAt !== undefined && now - Date.parse(unavailableAt) < UNAVAILABLE_MARK_MS;
