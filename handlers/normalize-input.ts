import { loadConfig } from '../lib/config.js';
import { normalizeInput } from '../lib/domain/event.js';
import type { CopyPolicy } from '../lib/domain/policy.js';
import { atColdStart, lambdaHandler } from '../lib/handler.js';

/** Calls no AWS API: it needs only where the copy policy allows sources and destinations to be. */
export const createHandler = (deps: () => { config: { policy: Pick<CopyPolicy, 'allowed'> } }) =>
  lambdaHandler(undefined, async (input: unknown) => normalizeInput(input, deps().config.policy.allowed));

export const handler = createHandler(atColdStart(() => ({ config: loadConfig() })));
