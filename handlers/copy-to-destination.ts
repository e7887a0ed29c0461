import { CopyToDestinationInput } from '../lib/contracts.js';
import { copyToDestination, waitForCopySlot } from '../lib/copy.js';
import { lambdaHandler } from '../lib/handler.js';
import { type Runtime, runtime } from '../lib/runtime.js';

export const createHandler = (deps: () => Runtime) =>
  lambdaHandler(
    CopyToDestinationInput,
    async ({ copy, taskToken, executionArn, redriveCount, waitForSlot }) =>
      waitForSlot
        ? waitForCopySlot(deps(), copy, taskToken)
        : copyToDestination(deps(), copy, { executionArn, redriveCount }, taskToken),
  );

export const handler = createHandler(runtime);
