import {
  type BackupClient,
  type DescribeRecoveryPointOutput,
  RecoveryPointStatus,
  StorageClass,
} from '@aws-sdk/client-backup';
import type { NormalizedSchema } from '@smithy/core/schema';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeRecoveryPoint } from '../../lib/aws/backup.js';
import { CopyToDestinationInput, PlanCopiesOutput } from '../../lib/contracts.js';
import { DescribedLifecycleSchema, LifecycleSchema } from '../../lib/domain/lifecycle.js';
import { parseCopyPolicy, planCopies } from '../../lib/domain/policy.js';
import { checkCopyable } from '../../lib/domain/recovery-point.js';
import { RESOURCE_TYPES } from '../../lib/domain/resource-types.js';
import { RejectionError } from '../../lib/errors.js';
import {
  documentationOf,
  inputOf,
  kindOf,
  type Member,
  membersOf,
  outputOf,
  structure,
} from '../support/backup-model.js';
import { DR_ACCOUNT, RECOVERY_POINT_ARN, ROLE_ARN, SCOPE, SOURCE_VAULT_ARN, vaultArn } from './factories.js';

const DR_VAULT = vaultArn('dr-west', 'us-west-2', DR_ACCOUNT);

/** Identity members get values a rule can match, so that plans are made; every other string is arbitrary. */
const REALISTIC_STRINGS: Record<string, fc.Arbitrary<string>> = {
  'DescribeRecoveryPointOutput.RecoveryPointArn': fc.constant(RECOVERY_POINT_ARN),
  'DescribeRecoveryPointOutput.BackupVaultName': fc.constantFrom('primary', 'other'),
  'DescribeRecoveryPointOutput.BackupVaultArn': fc.constant(SOURCE_VAULT_ARN),
  'DescribeRecoveryPointOutput.ResourceType': fc.constantFrom(...RESOURCE_TYPES),
  // Mostly copyable, so that most runs reach the plan; every other enum value still comes up.
  'DescribeRecoveryPointOutput.Status': fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(RecoveryPointStatus.COMPLETED, RecoveryPointStatus.AVAILABLE) },
    { weight: 1, arbitrary: fc.constantFrom(...Object.values(RecoveryPointStatus)) },
  ),
  'DescribeRecoveryPointOutput.StorageClass': fc.oneof(
    { weight: 4, arbitrary: fc.constant(StorageClass.WARM) },
    { weight: 1, arbitrary: fc.constantFrom(...Object.values(StorageClass)) },
  ),
};

/** A value for a schema from the SDK model: every member of a structure, each present or not at random. */
function arbitraryOf(schema: NormalizedSchema, member?: Member): fc.Arbitrary<unknown> {
  switch (kindOf(schema)) {
    case 'structure':
      return fc.record(Object.fromEntries(membersOf(schema).map((m) => [m.name, arbitraryOf(m.schema, m)])), {
        requiredKeys: [],
      });
    case 'list':
      return fc.array(arbitraryOf(schema.getValueSchema()), { maxLength: 3 });
    case 'map':
      return fc.dictionary(
        member?.enumValues ? fc.constantFrom(...member.enumValues) : fc.string(),
        arbitraryOf(schema.getValueSchema()),
        { maxKeys: 3 },
      );
    case 'timestamp':
      return fc.date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true });
    case 'boolean':
      return fc.boolean();
    case 'number':
      // Days and sizes: mostly values AWS gives, some it never would.
      return fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(-1, 1, 7, 30, 35, 90, 120, 365, 36_500) },
        { weight: 1, arbitrary: fc.integer({ min: -5, max: 40_000 }) },
      );
    case 'string':
      if (member && REALISTIC_STRINGS[member.path])
        return REALISTIC_STRINGS[member.path] as fc.Arbitrary<string>;
      return member?.enumValues ? fc.constantFrom(...member.enumValues) : fc.string({ maxLength: 20 });
    default:
      return fc.constant(undefined);
  }
}

const describedRecoveryPoint = arbitraryOf(
  outputOf('DescribeRecoveryPoint'),
) as fc.Arbitrary<DescribeRecoveryPointOutput>;

const inheritPolicy = parseCopyPolicy({
  version: 1,
  allowed: SCOPE,
  rules: [
    {
      name: 'everything',
      match: { sourceVaults: ['primary'] },
      destinations: [{ vaultArn: DR_VAULT, iamRoleArn: ROLE_ARN, lifecycle: 'inherit' }],
    },
  ],
});

/** DescribeRecoveryPoint answers `output`, whatever it is asked. */
const answering = (output: DescribeRecoveryPointOutput) =>
  ({ send: async () => ({ $metadata: {}, ...output }) }) as unknown as BackupClient;

describe('lifecycle: inherit, for any DescribeRecoveryPoint answer the SDK model allows', () => {
  it("plans only copies that pass the copy task's input contract, or refuses with a rejection error", async () => {
    let inheritedCopies = 0;
    let withOutputOnlyMembers = 0;
    await fc.assert(
      fc.asyncProperty(describedRecoveryPoint, async (output) => {
        const recoveryPoint = await describeRecoveryPoint(answering(output), 'primary', RECOVERY_POINT_ARN);
        let plan: ReturnType<typeof planCopies>;
        try {
          checkCopyable(recoveryPoint);
          plan = planCopies(inheritPolicy, recoveryPoint);
        } catch (error) {
          if (error instanceof RejectionError) return;
          throw error;
        }
        PlanCopiesOutput.parse({ recoveryPoint, ...plan });
        for (const copy of plan.copies) {
          CopyToDestinationInput.parse({ copy, taskToken: 'token', executionArn: 'arn', redriveCount: 0 });
          inheritedCopies++;
          if (output.Lifecycle?.DeleteAfterEvent !== undefined) withOutputOnlyMembers++;
        }
      }),
      { numRuns: 1000 },
    );
    // The property is about plans: enough generated recovery points must have been planned at all.
    expect(inheritedCopies).toBeGreaterThan(30);
    expect(withOutputOnlyMembers).toBeGreaterThan(3);
  });
});

describe("the code's Lifecycle shapes, checked against the SDK model", () => {
  const modelled = membersOf(structure('Lifecycle'));
  const outputOnly = modelled.filter((m) =>
    documentationOf('Lifecycle', m.name).includes('Not valid as an input'),
  );

  it("StartCopyJob's Lifecycle is the model's Lifecycle shape", () => {
    const lifecycle = membersOf(inputOf('StartCopyJob')).find((m) => m.name === 'Lifecycle');
    expect(lifecycle?.schema.getName()).toBe('Lifecycle');
  });

  it('LifecycleSchema has exactly the members StartCopyJob accepts as input', () => {
    expect(outputOnly.map((m) => m.name)).toEqual(['DeleteAfterEvent']);
    const inputMembers = modelled.filter((m) => !outputOnly.includes(m)).map((m) => m.name);
    expect(Object.keys(LifecycleSchema.shape).sort()).toEqual(inputMembers.sort());
  });

  it('DescribedLifecycleSchema has every member DescribeRecoveryPoint can report', () => {
    expect(Object.keys(DescribedLifecycleSchema.shape).sort()).toEqual(modelled.map((m) => m.name).sort());
  });
});
