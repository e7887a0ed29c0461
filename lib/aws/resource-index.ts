import { type DynamoDBDocumentClient, paginateQuery, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { CopyEvidence } from '../domain/coverage.js';
import { resourceOutcomePrefix } from '../domain/keys.js';
import { type LedgerRecord, RESOURCE_INDEX } from '../domain/ledger-record.js';

/** The read units a run consumed, as DynamoDB reports them (ReturnConsumedCapacity TOTAL). */
export interface ReadMeter {
  readUnits: number;
  queries: number;
}

export const newReadMeter = (): ReadMeter => ({ readUnits: 0, queries: 0 });

/**
 * The ledger's resource index (GSI `byResource`: resourceArn, then `<destination>#<outcome>#<completedAt>`).
 * Index reads are eventually consistent, which is all a GSI offers: a copy completed a moment ago may show
 * up on the next run.
 */
export class ResourceIndex {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
    readonly meter: ReadMeter = newReadMeter(),
  ) {}

  /**
   * The newest COMPLETED copy of a resource in a destination, and the newest failure after it: two Queries of
   * at most one item each, newest first, so the cost does not grow with the copies the ledger holds.
   */
  async evidence(resourceArn: string, destinationVaultArn: string): Promise<CopyEvidence> {
    const completed = await this.newest(resourceArn, resourceOutcomePrefix(destinationVaultArn, 'COMPLETED'));
    const failedPrefix = resourceOutcomePrefix(destinationVaultArn, 'FAILED');
    const failed = await this.newest(resourceArn, failedPrefix, completed?.completedAt);
    return {
      ...(completed
        ? {
            newestCompleted: {
              recoveryPointArn: completed.recoveryPointArn,
              completedAt: completed.completedAt ?? '',
              ...(completed.sourceCompletionDate
                ? { sourceCompletionDate: completed.sourceCompletionDate }
                : {}),
            },
          }
        : {}),
      ...(failed
        ? {
            lastFailure: {
              recoveryPointArn: failed.recoveryPointArn,
              status: failed.status,
              completedAt: failed.completedAt ?? '',
              ...(failed.lastError
                ? { reason: `${failed.lastError.name}: ${failed.lastError.message}` }
                : {}),
            },
          }
        : {}),
    };
  }

  /** When each COMPLETED copy of a resource in a destination completed, since `since` (for the chart). */
  async completedSince(resourceArn: string, destinationVaultArn: string, since: Date): Promise<string[]> {
    const prefix = resourceOutcomePrefix(destinationVaultArn, 'COMPLETED');
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        IndexName: RESOURCE_INDEX,
        KeyConditionExpression: '#resource = :resource AND #outcome BETWEEN :from AND :to',
        ExpressionAttributeNames: { '#resource': 'resourceArn', '#outcome': 'resourceOutcome' },
        // '~' sorts after every character of an ISO-8601 timestamp.
        ExpressionAttributeValues: {
          ':resource': resourceArn,
          ':from': `${prefix}${since.toISOString()}`,
          ':to': `${prefix}~`,
        },
        ProjectionExpression: 'completedAt',
        ReturnConsumedCapacity: 'TOTAL',
      },
    );
    const times: string[] = [];
    for await (const page of pages) {
      this.count(page.ConsumedCapacity?.CapacityUnits);
      for (const item of page.Items ?? []) times.push(String(item.completedAt));
    }
    return times;
  }

  private async newest(
    resourceArn: string,
    prefix: string,
    after?: string,
  ): Promise<LedgerRecord | undefined> {
    const { Items, ConsumedCapacity } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: RESOURCE_INDEX,
        KeyConditionExpression:
          after === undefined
            ? '#resource = :resource AND begins_with(#outcome, :prefix)'
            : '#resource = :resource AND #outcome BETWEEN :after AND :to',
        ExpressionAttributeNames: { '#resource': 'resourceArn', '#outcome': 'resourceOutcome' },
        ExpressionAttributeValues:
          after === undefined
            ? { ':resource': resourceArn, ':prefix': prefix }
            : { ':resource': resourceArn, ':after': `${prefix}${after}`, ':to': `${prefix}~` },
        ScanIndexForward: false,
        Limit: 1,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    this.count(ConsumedCapacity?.CapacityUnits);
    return Items?.[0] as LedgerRecord | undefined;
  }

  private count(units: number | undefined): void {
    this.meter.readUnits += units ?? 0;
    this.meter.queries += 1;
  }
}
