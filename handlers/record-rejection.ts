import { describeStepError, RecordRejectionInput } from '../lib/contracts.js';
import { lambdaHandler } from '../lib/handler.js';
import { recordRejection } from '../lib/plan.js';
import { type Runtime, runtime } from '../lib/runtime.js';

export const createHandler = (deps: () => Runtime) =>
  lambdaHandler(RecordRejectionInput, async ({ input, error, executionArn }) => ({
    recoveryPointArn: await recordRejection(deps().ledger, input, describeStepError(error), executionArn),
  }));

export const handler = createHandler(runtime);
