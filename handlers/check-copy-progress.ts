import { createBackupClient, createDocumentClient, createSfnClient } from '../lib/aws/clients.js';
import { loadSettings } from '../lib/config.js';
import { CheckCopyProgressInput } from '../lib/contracts.js';
import { type CopyDependencies, checkCopyProgress } from '../lib/copy.js';
import { atColdStart, lambdaHandler } from '../lib/handler.js';
import { createRuntime } from '../lib/runtime.js';

export const createHandler = (deps: () => CopyDependencies) =>
  lambdaHandler(CheckCopyProgressInput, async ({ copy }) => checkCopyProgress(deps(), copy));

export const handler = createHandler(
  atColdStart(() =>
    createRuntime(loadSettings(), {
      backup: createBackupClient(),
      documents: createDocumentClient(),
      sfn: createSfnClient(),
    }),
  ),
);
