import { createBackupClient, createDocumentClient } from '../lib/aws/clients.js';
import { loadConfig } from '../lib/config.js';
import { PlanCopiesInput } from '../lib/contracts.js';
import { deploymentOf } from '../lib/domain/deployment.js';
import { atColdStart, lambdaHandler } from '../lib/handler.js';
import { planRecoveryPoint } from '../lib/plan.js';
import { createRuntime, type Runtime } from '../lib/runtime.js';

export const createHandler = (deps: () => Pick<Runtime, 'config' | 'ledger' | 'backup'>) =>
  lambdaHandler(PlanCopiesInput, async ({ request, executionArn }, context) => {
    const { ledger, backup, config } = deps();
    const deployment = deploymentOf(context.invokedFunctionArn, process.env);
    return planRecoveryPoint({ ledger, backup, policy: config.policy, deployment }, request, executionArn);
  });

export const handler = createHandler(
  atColdStart(() =>
    createRuntime(loadConfig(), { backup: createBackupClient(), documents: createDocumentClient() }),
  ),
);
