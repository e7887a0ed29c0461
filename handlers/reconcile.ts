import { DEFAULT_MAX_ATTEMPTS } from '@smithy/core/retry';
import { createBackupClient, createDocumentClient, createSfnClient } from '../lib/aws/clients.js';
import { loadConfig } from '../lib/config.js';
import { atColdStart, lambdaHandler } from '../lib/handler.js';
import { type ReconcileSettings, reconcile, reconcileSettings } from '../lib/reconcile.js';
import { createRuntime, type Runtime } from '../lib/runtime.js';

/**
 * Target of the reconcile schedule: starts an execution for each recent recovery point none recorded, resumes the
 * copies an ended execution left behind, and hands out copy slots nobody handed on.
 */
export const createHandler = (
  deps: () => Pick<Runtime, 'backup' | 'ledger' | 'sfn' | 'slots' | 'config'>,
  settings: () => ReconcileSettings = reconcileSettings,
) =>
  lambdaHandler(undefined, async () => {
    const { backup, ledger, sfn, slots, config } = deps();
    const { stateMachineArn, ...options } = settings();
    return reconcile(
      {
        backup,
        ledger,
        sfn,
        ...(slots ? { slots } : {}),
        policy: config.policy,
        stateMachineArn,
        now: new Date(),
      },
      { ...options, measureCoverage: true },
    );
  });

export const handler = createHandler(
  atColdStart(() =>
    createRuntime(loadConfig(), {
      // No state machine Retry covers the reconciler: its Backup reads (lists) take the SDK's standard retries.
      backup: createBackupClient({ maxAttempts: DEFAULT_MAX_ATTEMPTS }),
      documents: createDocumentClient(),
      sfn: createSfnClient(),
    }),
  ),
);
