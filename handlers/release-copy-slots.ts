import { createDocumentClient, createSfnClient } from '../lib/aws/clients.js';
import { loadSettings } from '../lib/config.js';
import { type CopyDependencies, releaseExecutionSlots } from '../lib/copy.js';
import { ExecutionStatusChangeSchema } from '../lib/domain/execution-event.js';
import { atColdStart, lambdaHandler } from '../lib/handler.js';
import { logger } from '../lib/logger.js';
import { createRuntime } from '../lib/runtime.js';

/** Target of the "Execution Status Change" rule (FAILED, TIMED_OUT, ABORTED): frees the copy slots it held. */
export const createHandler = (deps: () => Pick<CopyDependencies, 'ledger' | 'sfn' | 'slots'>) =>
  lambdaHandler(ExecutionStatusChangeSchema, async ({ detail }) => {
    let input: unknown;
    try {
      input = JSON.parse(detail.input ?? 'null');
    } catch {
      input = undefined;
    }
    logger.appendKeys({ executionArn: detail.executionArn, status: detail.status });
    const released = await releaseExecutionSlots(deps(), detail.executionArn, input);
    logger.info('released the copy slots of an execution that ended', released);
    return released;
  });

export const handler = createHandler(
  atColdStart(() =>
    createRuntime(loadSettings(), { documents: createDocumentClient(), sfn: createSfnClient() }),
  ),
);
