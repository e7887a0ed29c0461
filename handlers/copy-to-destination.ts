import { createBackupClient, createDocumentClient, createSfnClient } from '../lib/aws/clients.js';
import { loadSettings } from '../lib/config.js';
import { CopyToDestinationInput } from '../lib/contracts.js';
import { type CopyDependencies, copyToDestination, waitForCopySlot } from '../lib/copy.js';
import { atColdStart, lambdaHandler } from '../lib/handler.js';
import { createRuntime } from '../lib/runtime.js';

export const createHandler = (deps: () => CopyDependencies) =>
  lambdaHandler(
    CopyToDestinationInput,
    async ({ copy, taskToken, executionArn, redriveCount, waitForSlot }) =>
      waitForSlot
        ? waitForCopySlot(deps(), copy, taskToken)
        : copyToDestination(deps(), copy, { executionArn, redriveCount }, taskToken),
  );

export const handler = createHandler(
  atColdStart(() =>
    createRuntime(loadSettings(), {
      backup: createBackupClient(),
      documents: createDocumentClient(),
      sfn: createSfnClient(),
    }),
  ),
);
