import { CheckCopyProgressInput } from '../lib/contracts.js';
import { checkCopyProgress } from '../lib/copy.js';
import { lambdaHandler } from '../lib/handler.js';
import { type Runtime, runtime } from '../lib/runtime.js';

export const createHandler = (deps: () => Runtime) =>
  lambdaHandler(CheckCopyProgressInput, async ({ copy }) => checkCopyProgress(deps(), copy));

export const handler = createHandler(runtime);
