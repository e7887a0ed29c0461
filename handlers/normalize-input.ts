import { normalizeInput } from '../lib/domain/event.js';
import { lambdaHandler } from '../lib/handler.js';
import { type Runtime, runtime } from '../lib/runtime.js';

export const createHandler = (deps: () => Runtime) =>
  lambdaHandler(undefined, async (input: unknown) => normalizeInput(input, deps().config.policy.allowed));

export const handler = createHandler(runtime);
