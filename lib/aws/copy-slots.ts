import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { CopyKey } from './ledger.js';

/** The semaphore item and the wait queue live in the ledger table under keys no ARN can take. */
const SLOTS_KEY = { recoveryPointArn: '#copy-slots', destinationVaultArn: '#holders' };
const QUEUE_PARTITION = '#copy-slot-queue';

export interface QueuedCopy {
  holder: string;
  taskToken: string;
  queuedAt: string;
  /** Sort key: queuedAt then holder, so the queue is first come, first served. */
  position: string;
}

export const slotHolder = (key: CopyKey) =>
  createHash('sha256')
    .update(`${key.recoveryPointArn}\n${key.destinationVaultArn}`)
    .digest('hex')
    .slice(0, 32);

const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException;

/**
 * A counting semaphore over the ledger table that bounds the copy jobs in flight across all executions.
 * Holders are keyed by copy, so acquiring twice for the same copy holds one slot; each hold has a lease, so a
 * slot taken by an execution that died frees itself. Copies that find no slot wait in a FIFO queue with
 * their task token and are woken when a slot frees.
 */
export class CopySlots {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    readonly limit: number,
    private readonly leaseMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes a slot for `holder` ('taken'), or renews the lease of the one it holds ('renewed'); undefined when
   * all slots are held.
   */
  async acquire(holder: string): Promise<'taken' | 'renewed' | undefined> {
    const holders = await this.holders();
    if (holders === undefined) await this.create();
    await Promise.all(
      Object.entries(holders ?? {})
        .filter(([, expiresAt]) => expiresAt <= this.now())
        .map(([expired, expiresAt]) => this.release(expired, expiresAt)),
    );
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: SLOTS_KEY,
          UpdateExpression: 'SET #holders.#holder = :expiresAt',
          ConditionExpression: 'attribute_exists(#holders.#holder) OR size(#holders) < :limit',
          ExpressionAttributeNames: { '#holders': 'holders', '#holder': holder },
          ExpressionAttributeValues: { ':expiresAt': this.now() + this.leaseMs, ':limit': this.limit },
          ReturnValues: 'UPDATED_OLD',
        }),
      );
      return Attributes?.holders?.[holder] === undefined ? 'taken' : 'renewed';
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Frees `holder`'s slot (only the lease seen, when `expiresAt` is given, so a renewed lease survives). */
  async release(holder: string, expiresAt?: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: SLOTS_KEY,
          UpdateExpression: 'REMOVE #holders.#holder',
          ...(expiresAt === undefined
            ? {}
            : {
                ConditionExpression: '#holders.#holder = :expiresAt',
                ExpressionAttributeValues: { ':expiresAt': expiresAt },
              }),
          ExpressionAttributeNames: { '#holders': 'holders', '#holder': holder },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Holder → lease expiry (epoch ms); undefined before the first acquire created the item. */
  async holders(): Promise<Record<string, number> | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: SLOTS_KEY, ConsistentRead: true }),
    );
    return Item?.holders as Record<string, number> | undefined;
  }

  async enqueue(holder: string, taskToken: string): Promise<QueuedCopy> {
    const queuedAt = new Date(this.now()).toISOString();
    const entry = { holder, taskToken, queuedAt, position: `${queuedAt}#${holder}` };
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { recoveryPointArn: QUEUE_PARTITION, destinationVaultArn: entry.position, ...entry },
      }),
    );
    return entry;
  }

  /** Removes a queue entry; false when someone else removed it first (it has been handled). */
  async dequeue(entry: QueuedCopy): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { recoveryPointArn: QUEUE_PARTITION, destinationVaultArn: entry.position },
          ConditionExpression: 'attribute_exists(recoveryPointArn)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** The oldest waiting copies, first come first served. */
  async waiting(limit: number): Promise<QueuedCopy[]> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'recoveryPointArn = :queue',
        ExpressionAttributeValues: { ':queue': QUEUE_PARTITION },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (Items ?? []) as QueuedCopy[];
  }

  private async create(): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...SLOTS_KEY, holders: {} },
          ConditionExpression: 'attribute_not_exists(recoveryPointArn)',
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}
