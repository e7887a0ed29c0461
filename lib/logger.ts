import { Logger } from '@aws-lambda-powertools/logger';

/** One structured JSON logger for every function; level and sampling come from POWERTOOLS_* variables. */
export const logger = new Logger({ serviceName: 'backup-copy-orchestrator' });
