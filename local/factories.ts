import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type CopyPolicy, parseCopyPolicy } from '../lib/domain/policy.js';

export const SOURCE_ACCOUNT = '111111111111';
export const DR_ACCOUNT = '222222222222';
export const COPY_ROLE = `arn:aws:iam::${SOURCE_ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole`;
export const DR_WEST = `arn:aws:backup:us-west-2:${SOURCE_ACCOUNT}:backup-vault:dr-west`;
export const DR_ISOLATED = `arn:aws:backup:us-west-2:${DR_ACCOUNT}:backup-vault:dr-isolated`;

type Destination = CopyPolicy['rules'][number]['destinations'][number];

/** A policy copying vault `primary` (narrowed by `match`) to the given destinations (default: DR_WEST, 35 days). */
export function policyFor(
  destinations: Partial<Destination>[] = [{}],
  match: Partial<CopyPolicy['rules'][number]['match']> = {},
): CopyPolicy {
  return parseCopyPolicy({
    version: 1,
    allowed: {
      partition: 'aws',
      accounts: [SOURCE_ACCOUNT, DR_ACCOUNT],
      regions: ['us-east-1', 'us-west-2'],
    },
    rules: [
      {
        name: 'primary-to-dr',
        match: { sourceVaults: ['primary'], ...match },
        destinations: destinations.map((d) => ({
          vaultArn: DR_WEST,
          iamRoleArn: COPY_ROLE,
          lifecycle: { DeleteAfterDays: 35 },
          ...d,
        })),
      },
    ],
  });
}

export const recoveryPointArn = (id: string = randomUUID()) =>
  `arn:aws:backup:us-east-1:${SOURCE_ACCOUNT}:recovery-point:${id}`;

function sampleEvent(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../events/${file}`, import.meta.url), 'utf8'));
}

/**
 * A shipped sample event (events/<file>) for a fresh recovery point (or the one given), `detail` merged in. Each
 * recovery point is of its own file system (AWS runs one copy job per resource at a time: a burst of backups of
 * one resource would copy one at a time).
 */
function freshEvent(file: string, arn: string, detail: Record<string, unknown>) {
  const event = sampleEvent(file);
  const sample = event.detail as Record<string, unknown>;
  const fileSystem = `fs-${createHash('sha256').update(arn).digest('hex').slice(0, 17)}`;
  const resourceArn = String(sample.resourceArn).replace(/fs-[0-9a-f]+$/, fileSystem);
  return { ...event, id: randomUUID(), resources: [arn], detail: { ...sample, resourceArn, ...detail } };
}

/** The sample "Backup Job State Change" event for a fresh recovery point (or the one given). */
export const backupJobCompleted = (arn: string = recoveryPointArn(), detail: Record<string, unknown> = {}) =>
  freshEvent('backup-job-completed.json', arn, detail);

/** The sample "Recovery Point State Change" event for a fresh recovery point (or the one given). */
export const recoveryPointCompleted = (
  arn: string = recoveryPointArn(),
  detail: Record<string, unknown> = {},
) => freshEvent('recovery-point-completed.json', arn, detail);

export const manualInput = (arn: string = recoveryPointArn(), extra: Record<string, unknown> = {}) => ({
  recoveryPointArn: arn,
  sourceBackupVaultName: 'primary',
  ...extra,
});

/** How many source vaults `organizationPolicyDocument` spreads its rules over. */
export const ORGANIZATION_SOURCE_VAULTS = 10;

/**
 * An organization-sized policy document (not yet validated, as a policy file holds it): `rules` rules over
 * ORGANIZATION_SOURCE_VAULTS source vaults `source-<n>`, rule r matching volumes `vol-r<r>-*`, each with
 * `destinationsPerRule` vaults `dr-<r>-<d>`, alternately in the DR account and in us-west-2.
 */
export function organizationPolicyDocument(rules: number, destinationsPerRule: number) {
  return {
    version: 1,
    allowed: {
      partition: 'aws',
      accounts: [SOURCE_ACCOUNT, DR_ACCOUNT],
      regions: ['us-east-1', 'us-west-2'],
    },
    rules: Array.from({ length: rules }, (_, r) => ({
      name: `rule-${r}`,
      match: {
        sourceVaults: [`source-${r % ORGANIZATION_SOURCE_VAULTS}`],
        resourceArnPattern: `arn:aws:ec2:*:volume/vol-r${r}-*`,
      },
      destinations: Array.from({ length: destinationsPerRule }, (_, d) => ({
        vaultArn:
          d % 2 === 0
            ? `arn:aws:backup:us-west-2:${SOURCE_ACCOUNT}:backup-vault:dr-${r}-${d}`
            : `arn:aws:backup:us-east-1:${DR_ACCOUNT}:backup-vault:dr-${r}-${d}`,
        iamRoleArn: COPY_ROLE,
        lifecycle: { DeleteAfterDays: 35 + d },
      })),
    })),
  };
}
