import { createDocumentClient } from '../lib/aws/clients.js';
import { loadSettings } from '../lib/config.js';
import { describeStepError, RecordRejectionInput } from '../lib/contracts.js';
import { atColdStart, lambdaHandler } from '../lib/handler.js';
import { recordRejection } from '../lib/plan.js';
import { createRuntime, type Runtime } from '../lib/runtime.js';

export const createHandler = (deps: () => Pick<Runtime, 'ledger'>) =>
  lambdaHandler(RecordRejectionInput, async ({ input, error, executionArn }) => ({
    recoveryPointArn: await recordRejection(deps().ledger, input, describeStepError(error), executionArn),
  }));

export const handler = createHandler(
  atColdStart(() => createRuntime(loadSettings(), { documents: createDocumentClient() })),
);
