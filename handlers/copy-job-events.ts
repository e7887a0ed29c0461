import { createDocumentClient, createSfnClient } from '../lib/aws/clients.js';
import { loadSettings } from '../lib/config.js';
import { type CopyDependencies, settleCopy } from '../lib/copy.js';
import { CopyJobEventSchema } from '../lib/domain/copy-job-event.js';
import { atColdStart, lambdaHandler } from '../lib/handler.js';
import { logger } from '../lib/logger.js';
import { createRuntime } from '../lib/runtime.js';

/** Target of the "Copy Job State Change" rule: settles our copies and completes the tasks waiting on them. */
export const createHandler = (deps: () => Pick<CopyDependencies, 'ledger' | 'sfn' | 'slots'>) =>
  lambdaHandler(CopyJobEventSchema, async ({ resources, detail }) => {
    if (!detail.copyJobId) return { settled: false };
    const key = {
      recoveryPointArn: resources[0] ?? '',
      destinationVaultArn: detail.destinationBackupVaultArn,
    };
    logger.appendKeys({ ...key, copyJobId: detail.copyJobId, state: detail.state });
    const record = await settleCopy(deps(), key, {
      copyJobId: detail.copyJobId,
      state: detail.state,
      ...(detail.statusMessage ? { statusMessage: detail.statusMessage } : {}),
    });
    logger.info(record ? 'copy job event applied' : 'copy job is not one of ours');
    return { settled: record !== undefined, status: record?.status };
  });

export const handler = createHandler(
  atColdStart(() =>
    createRuntime(loadSettings(), { documents: createDocumentClient(), sfn: createSfnClient() }),
  ),
);
