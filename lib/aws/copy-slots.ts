import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type CopySlotLimits,
  type CopySlotSet,
  copySlotsOf,
  type Slot,
  type SlotSubject,
} from '../domain/copy-slots.js';
import { copySlotHolder } from '../domain/keys.js';

/** The slot items live in the ledger table under a partition no ARN can take, one item per slot key. */
export const SLOTS_PARTITION = '#copy-slots';

/** Who holds a slot: the copy (to check its ledger item) and the execution that took it (to release on its end). */
export interface SlotHolder {
  recoveryPointArn: string;
  destinationVaultArn: string;
  executionArn: string;
  /** ISO-8601. */
  since: string;
}

export interface SlotItem {
  key: string;
  holders: Record<string, SlotHolder>;
}

/**
 * Took every slot the copy needs, or names the slot it must wait for (nothing is held then); `gaveBack` names the
 * queue of a regional slot it took and gave back, which may have copies waiting for it.
 */
export type Acquisition = { granted: true } | { granted: false; waitOn: string; gaveBack?: string };

const isConditionFailure = (error: unknown): error is ConditionalCheckFailedException =>
  error instanceof ConditionalCheckFailedException;

const slotKey = (key: string) => ({ recoveryPointArn: SLOTS_PARTITION, destinationVaultArn: key });

/**
 * Counting semaphores over the ledger table, one item per slot key (lib/domain/copy-slots.ts), in the manner of
 * aws-samples' "control concurrency with DynamoDB": taking a slot is one conditional update of one item, held by
 * copy so taking it twice holds one. A slot is released when the copy job ends, when StartCopyJob refuses, and
 * when the execution that took it ends without a running job (releaseCopySlots, with the reconciler as backstop).
 */
export class CopySlots {
  /** Slot items this instance has seen exist. None is ever deleted, so a refused take of one of these is a full
   *  slot, and DynamoDB need not send back the item (a full regional one holds 100 holders) to say so. */
  private readonly existing = new Set<string>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    readonly limits: CopySlotLimits,
    private readonly now: () => Date = () => new Date(),
  ) {}

  slotsOf(copy: SlotSubject): CopySlotSet {
    return copySlotsOf(copy, this.limits);
  }

  /**
   * Takes the copy's regional slot or else its vault's overflow slot, then its resource slot. Not atomic across
   * items: a copy that gets the first and not the second gives the first back at once. The regional slot comes
   * first because in a burst it is the one that is full: a refusal then costs one or two writes.
   */
  async acquire(copy: SlotSubject, executionArn: string): Promise<Acquisition> {
    const slots = this.slotsOf(copy);
    const holder: SlotHolder = {
      recoveryPointArn: copy.recoveryPointArn,
      destinationVaultArn: copy.destinationVaultArn,
      executionArn,
      since: this.now().toISOString(),
    };
    let taken = slots.regional;
    if (!(await this.take(taken, holder))) {
      if (!slots.overflow || !(await this.take(slots.overflow, holder)))
        return { granted: false, waitOn: slots.regional.key };
      taken = slots.overflow;
    }
    if (slots.resource && !(await this.take(slots.resource, holder))) {
      await this.give(taken.key, copy);
      return { granted: false, waitOn: slots.resource.key, gaveBack: slots.regional.key };
    }
    return { granted: true };
  }

  /**
   * Gives back every slot the copy holds (only those taken by `executionArn`, when given). Returns the keys of
   * the slots freed, whose queues the caller then hands on.
   */
  async release(copy: SlotSubject, executionArn?: string): Promise<string[]> {
    const slots = this.slotsOf(copy);
    const keys = [slots.resource?.key, slots.regional.key, slots.overflow?.key].filter(
      (key): key is string => key !== undefined,
    );
    const freed = await Promise.all(keys.map((key) => this.give(key, copy, executionArn)));
    return keys.filter((_, i) => freed[i]);
  }

  /** Every slot item, for the reconciler's backstop and the report. */
  async all(): Promise<SlotItem[]> {
    const items: SlotItem[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'recoveryPointArn = :slots',
          ExpressionAttributeValues: { ':slots': SLOTS_PARTITION },
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) {
        items.push({ key: item.destinationVaultArn, holders: item.holders ?? {} });
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  }

  /** The holders of one slot key; empty before anyone took it. */
  async holders(key: string): Promise<Record<string, SlotHolder>> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: slotKey(key), ConsistentRead: true }),
    );
    return (Item?.holders as Record<string, SlotHolder> | undefined) ?? {};
  }

  private async take(slot: Slot, holder: SlotHolder): Promise<boolean> {
    for (let created = false; ; created = true) {
      const known = this.existing.has(slot.key);
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: slotKey(slot.key),
            UpdateExpression: 'SET #holders.#holder = :holder',
            ConditionExpression: 'attribute_exists(#holders.#holder) OR size(#holders) < :limit',
            ExpressionAttributeNames: { '#holders': 'holders', '#holder': copySlotHolder(holder) },
            ExpressionAttributeValues: { ':holder': holder, ':limit': slot.limit },
            // Tells a full slot (the item comes back) from one never taken yet (no item: create it).
            ...(known ? {} : { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const }),
          }),
        );
        this.existing.add(slot.key);
        return true;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        if (known) return false;
        if (error.Item !== undefined) {
          this.existing.add(slot.key);
          return false;
        }
      }
      if (created) return false;
      await this.create(slot.key);
    }
  }

  /** Removes the copy's hold on `key` (only `executionArn`'s, when given); true when it held one. */
  async give(key: string, copy: SlotSubject, executionArn?: string): Promise<boolean> {
    const names = { '#holders': 'holders', '#holder': copySlotHolder(copy) };
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: slotKey(key),
          UpdateExpression: 'REMOVE #holders.#holder',
          ConditionExpression:
            executionArn === undefined
              ? 'attribute_exists(#holders.#holder)'
              : '#holders.#holder.#executionArn = :executionArn',
          ExpressionAttributeNames:
            executionArn === undefined ? names : { ...names, '#executionArn': 'executionArn' },
          ...(executionArn === undefined
            ? {}
            : { ExpressionAttributeValues: { ':executionArn': executionArn } }),
        }),
      );
      // The condition held, so the copy held the slot.
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Creates the slot item with no holders, unless another copy just did. */
  private async create(key: string): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...slotKey(key), holders: {} },
          ConditionExpression: 'attribute_not_exists(recoveryPointArn)',
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}
