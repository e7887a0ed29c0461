import { PlanCopiesInput } from '../lib/contracts.js';
import { lambdaHandler } from '../lib/handler.js';
import { planRecoveryPoint } from '../lib/plan.js';
import { type Runtime, runtime } from '../lib/runtime.js';

export const createHandler = (deps: () => Runtime) =>
  lambdaHandler(PlanCopiesInput, async ({ request, executionArn }) => {
    const { ledger, backup, config } = deps();
    return planRecoveryPoint({ ledger, backup, policy: config.policy }, request, executionArn);
  });

export const handler = createHandler(runtime);
