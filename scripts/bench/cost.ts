/**
 * Cost per copy, from what the executions' event histories and the metered clients record: Step Functions state
 * transitions, Lambda requests and GB-seconds, DynamoDB request units, priced at AWS's published us-east-1
 * on-demand prices.
 */

import { serverless } from '../../local/serverless-functions.js';
import { type BurstResult, runBurst, type Usage } from './burst.js';

/** us-east-1 list prices in USD, as published on the pages cited. */
export const PRICES = {
  /** Step Functions Standard: $0.025 per 1,000 state transitions. https://aws.amazon.com/step-functions/pricing/ */
  stateTransition: 0.025 / 1000,
  /** Lambda (Arm): $0.20 per 1M requests. https://aws.amazon.com/lambda/pricing/ */
  lambdaRequest: 0.2 / 1_000_000,
  /** Lambda (Arm), first 7.5 billion GB-seconds a month: $0.0000133334 per GB-second. Same page. */
  lambdaGbSecond: 0.0000133334,
  /** DynamoDB on-demand (after the November 2024 cut): $0.625 per million write request units.
   *  https://aws.amazon.com/dynamodb/pricing/on-demand/ */
  writeRequestUnit: 0.625 / 1_000_000,
  /** DynamoDB on-demand: $0.125 per million read request units. Same page. */
  readRequestUnit: 0.125 / 1_000_000,
} as const;

export interface CostOptions {
  dynamoDbEndpoint: string;
  recoveryPoints: number;
  copyDurationsMs: number[];
  /** Copy slots (and AWS Backup's limit) per scenario: at least N copies at once, or fewer so copies queue. */
  concurrencies: number[];
  busyRate: number;
  onProgress?: (message: string) => void;
}

export interface CopyCost {
  copyDurationS: number;
  recoveryPoints: number;
  concurrency: number;
  transitionsPerCopy: number;
  lambdaInvocationsPerCopy: number;
  /** Per function, invocations per copy. */
  invocationsByFunction: Record<string, number>;
  gbSecondsPerCopy: number;
  readUnitsPerCopy: number;
  writeUnitsPerCopy: number;
  dollarsPerCopy: {
    stepFunctions: number;
    lambdaRequests: number;
    lambdaCompute: number;
    dynamoDb: number;
    total: number;
  };
  lost: number;
  duplicates: number;
  /** Copies still queued or running when the run was stopped at its cap: their cost is not all counted. */
  unfinished: number;
}

const GB_PER_MB = 1 / 1024;

export function priceUsage(
  usage: Usage,
): Omit<CopyCost, 'copyDurationS' | 'recoveryPoints' | 'concurrency' | 'lost' | 'duplicates' | 'unfinished'> {
  const perCopy = (value: number) => value / usage.copies;
  const functions = Object.entries(usage.lambda);
  const invocations = functions.reduce((sum, [, fn]) => sum + fn.invocations, 0);
  const gbSeconds =
    functions.reduce((sum, [, fn]) => sum + fn.billedMs / 1000, 0) *
    serverless.provider.memorySize *
    GB_PER_MB;
  const dollars = {
    stepFunctions: perCopy(usage.transitions) * PRICES.stateTransition,
    lambdaRequests: perCopy(invocations) * PRICES.lambdaRequest,
    lambdaCompute: perCopy(gbSeconds) * PRICES.lambdaGbSecond,
    dynamoDb:
      perCopy(usage.dynamoDb.writeUnits) * PRICES.writeRequestUnit +
      perCopy(usage.dynamoDb.readUnits) * PRICES.readRequestUnit,
  };
  return {
    transitionsPerCopy: perCopy(usage.transitions),
    lambdaInvocationsPerCopy: perCopy(invocations),
    invocationsByFunction: Object.fromEntries(functions.map(([name, fn]) => [name, perCopy(fn.invocations)])),
    gbSecondsPerCopy: perCopy(gbSeconds),
    readUnitsPerCopy: perCopy(usage.dynamoDb.readUnits),
    writeUnitsPerCopy: perCopy(usage.dynamoDb.writeUnits),
    dollarsPerCopy: { ...dollars, total: Object.values(dollars).reduce((sum, value) => sum + value, 0) },
  };
}

export const costOf = (burst: BurstResult): CopyCost => ({
  copyDurationS: burst.copyDurationS,
  recoveryPoints: burst.recoveryPoints,
  concurrency: burst.copySlots,
  lost: burst.lost,
  duplicates: burst.duplicates,
  unfinished: burst.unfinished,
  ...priceUsage(burst.usage),
});

export async function measureCost(options: CostOptions): Promise<CopyCost[]> {
  const costs: CopyCost[] = [];
  for (const concurrency of options.concurrencies) {
    for (const copyDurationMs of options.copyDurationsMs) {
      options.onProgress?.(
        `${options.recoveryPoints} copies of ${copyDurationMs / 60_000} min, ${concurrency} at a time`,
      );
      const burst = await runBurst({
        dynamoDbEndpoint: options.dynamoDbEndpoint,
        recoveryPoints: options.recoveryPoints,
        concurrency,
        mode: 'slots',
        copyDurationMs,
        busyRate: options.busyRate,
      });
      costs.push(costOf(burst));
    }
  }
  return costs;
}
