import { lambdaHandler } from '../lib/handler.js';
import { type ReconcileSettings, reconcile, reconcileSettings } from '../lib/reconcile.js';
import { type Runtime, runtime } from '../lib/runtime.js';

/**
 * Target of the reconcile schedule: starts an execution for each recent recovery point none recorded, and hands
 * out copy slots nobody handed on.
 */
export const createHandler = (deps: () => Runtime, settings: () => ReconcileSettings = reconcileSettings) =>
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
      options,
    );
  });

export const handler = createHandler(runtime);
