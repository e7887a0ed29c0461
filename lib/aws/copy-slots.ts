import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';

/** The semaphore item, the wait queue and its index by holder live in the ledger table under keys no ARN can take. */
const SLOTS_KEY = { recoveryPointArn: '#copy-slots', destinationVaultArn: '#holders' };
const QUEUE_PARTITION = '#copy-slot-queue';
const PLACES_PARTITION = '#copy-slot-places';

/** One copy waiting for a slot: every task waiting for it, in the place it took when it first queued. */
export interface QueuedCopy {
  holder: string;
  taskTokens: string[];
  queuedAt: string;
  /** Sort key: queuedAt then holder, so the queue is first come, first served. */
  position: string;
}

/**
 * What granting a queued copy did: took a slot for it, found it already holding one, or nothing because its
 * entry was gone (another granter handled it) or every slot is held. The first two return the tasks to wake.
 */
export type Grant =
  | { outcome: 'granted'; taskTokens: string[]; expiresAt: number }
  | { outcome: 'held'; taskTokens: string[] }
  | { outcome: 'gone' }
  | { outcome: 'full' };

const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException;
const isCancelled = (error: unknown) => error instanceof TransactionCanceledException;

const placeKey = (holder: string) => ({ recoveryPointArn: PLACES_PARTITION, destinationVaultArn: holder });
const entryKey = (position: string) => ({ recoveryPointArn: QUEUE_PARTITION, destinationVaultArn: position });

/**
 * A counting semaphore over the ledger table that bounds the copy jobs in flight across all executions.
 * Holders are keyed by copy, so acquiring twice for the same copy holds one slot; each hold has a lease, so a
 * slot taken by an execution that died frees itself. Copies that find no slot wait in a FIFO queue, one entry
 * per copy holding the task tokens to wake; a copy that queues again (its task timed out) keeps its place.
 */
export class CopySlots {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    readonly limit: number,
    private readonly leaseMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a slot for `holder`, or renews the lease of the one it holds; false when all slots are held. */
  async acquire(holder: string): Promise<boolean> {
    await this.liveHolders();
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: SLOTS_KEY,
          UpdateExpression: 'SET #holders.#holder = :expiresAt',
          ConditionExpression: 'attribute_exists(#holders.#holder) OR size(#holders) < :limit',
          ExpressionAttributeNames: { '#holders': 'holders', '#holder': holder },
          ExpressionAttributeValues: { ':expiresAt': this.now() + this.leaseMs, ':limit': this.limit },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
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

  /** How many slots are free now (expired leases count as free, and are released on the way). */
  async free(): Promise<number> {
    return this.limit - Object.keys(await this.liveHolders()).length;
  }

  /** Holder → lease expiry (epoch ms); undefined before the first acquire created the item. */
  async holders(): Promise<Record<string, number> | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: SLOTS_KEY, ConsistentRead: true }),
    );
    return Item?.holders as Record<string, number> | undefined;
  }

  /** Queues `taskToken` for `holder`'s slot: takes the last place, or joins the holder's entry if it has one. */
  async enqueue(holder: string, taskToken: string): Promise<void> {
    for (;;) {
      const queuedAt = new Date(this.now()).toISOString();
      const position = `${queuedAt}#${holder}`;
      try {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: this.tableName,
                  Item: {
                    ...entryKey(position),
                    holder,
                    queuedAt,
                    position,
                    taskTokens: new Set([taskToken]),
                  },
                },
              },
              {
                Put: {
                  TableName: this.tableName,
                  Item: { ...placeKey(holder), position },
                  ConditionExpression: 'attribute_not_exists(recoveryPointArn)',
                },
              },
            ],
          }),
        );
        return;
      } catch (error) {
        if (!isCancelled(error)) throw error;
      }
      const { Item: place } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: placeKey(holder), ConsistentRead: true }),
      );
      if (!place) continue;
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: entryKey(place.position),
            UpdateExpression: 'ADD taskTokens :token',
            ConditionExpression: 'attribute_exists(recoveryPointArn)',
            ExpressionAttributeValues: { ':token': new Set([taskToken]) },
          }),
        );
        return;
      } catch (error) {
        // The entry was granted meanwhile: queue anew.
        if (!isConditionFailure(error)) throw error;
      }
    }
  }

  /**
   * Takes a slot for a queued copy and removes its entry in one transaction, so whoever took the slot is the
   * one who wakes its tasks — and no task that joined the entry meanwhile is left behind.
   */
  async grant(entry: QueuedCopy): Promise<Grant> {
    let current = entry;
    for (;;) {
      const expiresAt = this.now() + this.leaseMs;
      try {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: this.tableName,
                  Key: SLOTS_KEY,
                  UpdateExpression: 'SET #holders.#holder = :expiresAt',
                  ConditionExpression: 'attribute_not_exists(#holders.#holder) AND size(#holders) < :limit',
                  ExpressionAttributeNames: { '#holders': 'holders', '#holder': current.holder },
                  ExpressionAttributeValues: { ':expiresAt': expiresAt, ':limit': this.limit },
                },
              },
              ...this.removal(current),
            ],
          }),
        );
        return { outcome: 'granted', taskTokens: current.taskTokens, expiresAt };
      } catch (error) {
        if (!isCancelled(error)) throw error;
      }
      // Find out which condition failed (DynamoDB Local does not say reliably) and whether to try again.
      const [holders, latest] = await Promise.all([this.liveHolders(), this.entry(current.position)]);
      if (!latest) return { outcome: 'gone' };
      if (Object.keys(holders).length >= this.limit) return { outcome: 'full' };
      if (holders[latest.holder] !== undefined) {
        return (await this.remove(latest))
          ? { outcome: 'held', taskTokens: latest.taskTokens }
          : { outcome: 'gone' };
      }
      current = latest;
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
    return (Items ?? []).map(queuedCopy);
  }

  private async entry(position: string): Promise<QueuedCopy | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: entryKey(position), ConsistentRead: true }),
    );
    return Item && queuedCopy(Item);
  }

  /** Removes the entry as seen (false when it was removed or joined meanwhile) and the holder's place with it. */
  private async remove(entry: QueuedCopy): Promise<boolean> {
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: this.removal(entry) }));
      return true;
    } catch (error) {
      if (isCancelled(error)) return false;
      throw error;
    }
  }

  private removal(entry: QueuedCopy) {
    return [
      {
        Delete: {
          TableName: this.tableName,
          Key: entryKey(entry.position),
          ConditionExpression: 'size(taskTokens) = :tokens',
          ExpressionAttributeValues: { ':tokens': entry.taskTokens.length },
        },
      },
      { Delete: { TableName: this.tableName, Key: placeKey(entry.holder) } },
    ];
  }

  /** The holders whose lease has not expired; expired ones are released on the way. */
  private async liveHolders(): Promise<Record<string, number>> {
    const holders = await this.holders();
    if (holders === undefined) {
      await this.create();
      return {};
    }
    const now = this.now();
    const expired = Object.entries(holders).filter(([, expiresAt]) => expiresAt <= now);
    await Promise.all(expired.map(([holder, expiresAt]) => this.release(holder, expiresAt)));
    return Object.fromEntries(Object.entries(holders).filter(([, expiresAt]) => expiresAt > now));
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

function queuedCopy(item: Record<string, unknown>): QueuedCopy {
  return {
    holder: item.holder as string,
    taskTokens: [...(item.taskTokens as Set<string>)].sort(),
    queuedAt: item.queuedAt as string,
    position: item.position as string,
  };
}
