/**
 * DynamoDB for the benchmarks: a warm-up so no measurement pays for DynamoDB Local's JIT compiler, and a meter
 * that charges each request the capacity AWS would bill.
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createLedgerTable, documentClient } from '../../local/dynamodb-local.js';

/**
 * DynamoDB Local is a JVM: its first few thousand requests run several times slower than the rest. Writes and
 * reads a scratch table until it is warm, so no measurement pays for its JIT compiler.
 */
export async function warmUpDynamoDb(endpoint: string, requests = 3000): Promise<void> {
  const tableName = `warm-up-${randomUUID()}`;
  await createLedgerTable(endpoint, tableName);
  const documents = documentClient(endpoint);
  const key = (i: number) => ({ recoveryPointArn: `warm-up-${i % 100}`, destinationVaultArn: 'x' });
  for (let done = 0; done < requests; done += 100) {
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        await documents.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(i),
            UpdateExpression: 'SET n = if_not_exists(n, :zero) + :one',
            ExpressionAttributeValues: { ':zero': 0, ':one': 1 },
          }),
        );
        await documents.send(new GetCommand({ TableName: tableName, Key: key(i), ConsistentRead: true }));
      }),
    );
  }
  documents.destroy();
}

export interface DynamoDbMeter {
  /** Requests per operation (GetItem, UpdateItem, ...), failed conditional writes included. */
  requests: Record<string, number>;
  readUnits: number;
  writeUnits: number;
}

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);

/**
 * Charges each request what DynamoDB reports it consumed (ReturnConsumedCapacity), at least AWS's minimum
 * of one unit per request. A failed conditional write returns no ConsumedCapacity but is still billed the
 * size of the item it checked: the last size seen written to that key (one unit before any).
 */
export function meterDynamoDb(client: DynamoDBDocumentClient): DynamoDbMeter {
  const meter: DynamoDbMeter = { requests: {}, readUnits: 0, writeUnits: 0 };
  const writeUnitsByKey = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName).replace(/Command$/, '');
      const input = args.input as {
        ReturnConsumedCapacity?: string;
        Key?: unknown;
        ConsistentRead?: boolean;
      };
      input.ReturnConsumedCapacity = 'TOTAL';
      const key = JSON.stringify(input.Key ?? null);
      meter.requests[operation] = (meter.requests[operation] ?? 0) + 1;
      const isWrite = WRITES.has(operation);
      let units = 0;
      try {
        const result = await next(args);
        const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } })
          .ConsumedCapacity;
        units = consumed?.CapacityUnits ?? 0;
        if (isWrite) writeUnitsByKey.set(key, Math.max(1, units));
        return result;
      } catch (error) {
        units = isWrite ? (writeUnitsByKey.get(key) ?? 1) : 0;
        throw error;
      } finally {
        if (isWrite) meter.writeUnits += Math.max(1, units);
        else meter.readUnits += Math.max(input.ConsistentRead ? 1 : 0.5, units);
      }
    },
    { step: 'initialize', name: 'benchmarkCapacityMeter' },
  );
  return meter;
}
