import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reconcileExecutionName } from '../../lib/domain/execution-name.js';
import { ACCOUNT, EBS_SNAPSHOT_ARN, RECOVERY_POINT_ARN } from './factories.js';

/** StartExecution's rule for `name`. */
const VALID_EXECUTION_NAME = /^[0-9A-Za-z_-]{1,80}$/;

describe('reconcileExecutionName', () => {
  // Pinned, computed outside this code base (sha256sum of the ARN). If these change, a reconciler deployed
  // between two runs would ask for a new name and could start a second execution for the same recovery point.
  it.each([
    [RECOVERY_POINT_ARN, 'reconcile-1aeb4ad34ad72fb50fd8fbd3d9a40c025b72734ea3678ca37d4a4d01ab3929d1'],
    [EBS_SNAPSHOT_ARN, 'reconcile-22084eb6f70e3e3c275df61cc7657fb589c7c1945ea941606d91f28f2431cc2d'],
  ])('names the execution for %s %s', (arn, name) => {
    expect(reconcileExecutionName(arn)).toBe(name);
  });

  it('gives the same name for the same recovery point every time', () => {
    const names = new Set(Array.from({ length: 5 }, () => reconcileExecutionName(RECOVERY_POINT_ARN)));
    expect(names.size).toBe(1);
  });

  it('gives distinct names to recovery points whose ARNs differ in one character', () => {
    const other = `arn:aws:backup:us-east-1:${ACCOUNT}:recovery-point:f1d966fe-a3bd-410b-b292-99f442d13b57`;
    expect(reconcileExecutionName(other)).not.toBe(reconcileExecutionName(RECOVERY_POINT_ARN));
  });

  it('is a valid Step Functions execution name for any ARN, however long or odd', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2048, unit: 'binary' }), (arn) => {
        expect(reconcileExecutionName(arn)).toMatch(VALID_EXECUTION_NAME);
      }),
      { numRuns: 200 },
    );
  });
});
