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
  regionVaultsPrefix,
  type Slot,
  type SlotSubject,
  UNAVAILABLE_MARK_MS,
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
  /** A Region's slot (regional or vault overflow): when StartCopyJob last answered ServiceUnavailable there, unless
   *  AWS has started a copy since (ISO-8601). */
  unavailableAt?: string;
}

/** The slots a release freed, and the latest ServiceUnavailable mark on those of a Region (see SlotItem). */
export interface Release {
  freed: string[];
  unavailableAt?: string;
}

/** How long a slot found full hints that it still is (see CopySlots.seemsFull). */
const FULL_HINT_MS = 10_000;

/** The attribute of a Region's slot items that says since when StartCopyJob is unavailable there ('' for not). */
const UNAVAILABLE_AT = 'unavailableAt';

/**
 * Took every slot the copy needs, or names the slot it must wait for (nothing is held then); `gaveBack` names the
 * queue of a regional slot it took and gave back, which may have copies waiting for it.
 */
export type Acquisition =
  | {
      granted: true;
      /** The Region's slot taken carries a ServiceUnavailable mark not cleared yet (lapsed, or this copy's as the
       *  probe): once AWS starts this copy, it clears the mark and hands on the Region's free slots. */
      marked?: true;
    }
  | { granted: false; waitOn: string; gaveBack?: string };

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
  /** When this instance last found each slot full (epoch ms); forgotten once it takes or gives that slot. */
  private readonly foundFull = new Map<string, number>();

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
   * Whether this instance found the copy's regional slot, and its vault's overflow, full in the last
   * FULL_HINT_MS. A hint only (another Lambda may have freed one since), for the order of two safe steps.
   */
  seemsFull(copy: SlotSubject): boolean {
    const slots = this.slotsOf(copy);
    const since = this.now().getTime() - FULL_HINT_MS;
    return [slots.regional, slots.overflow].every(
      (slot) => slot === undefined || (this.foundFull.get(slot.key) ?? 0) > since,
    );
  }

  /**
   * Takes the copy's regional slot or else its vault's overflow slot, then its resource slot. Not atomic across
   * items: a copy that gets the first and not the second gives the first back at once. The regional slot comes
   * first because in a burst it is the one that is full: a refusal then costs one or two writes. While the Region
   * is marked unavailable (see markUnavailable) its slots count as full, except for the copy probing it.
   */
  async acquire(copy: SlotSubject, executionArn: string, { probing = false } = {}): Promise<Acquisition> {
    const slots = this.slotsOf(copy);
    const holder: SlotHolder = {
      recoveryPointArn: copy.recoveryPointArn,
      destinationVaultArn: copy.destinationVaultArn,
      executionArn,
      since: this.now().toISOString(),
    };
    const region = { region: true, unlessUnavailable: !probing };
    let taken = slots.regional;
    let mark = await this.take(taken, holder, region);
    if (mark === undefined && slots.overflow) {
      taken = slots.overflow;
      mark = await this.take(taken, holder, region);
    }
    if (mark === undefined) return { granted: false, waitOn: slots.regional.key };
    if (slots.resource && (await this.take(slots.resource, holder)) === undefined) {
      await this.give(taken.key, copy);
      return { granted: false, waitOn: slots.resource.key, gaveBack: slots.regional.key };
    }
    return { granted: true, ...(mark !== '' ? { marked: true as const } : {}) };
  }

  /**
   * Gives back every slot the copy holds (only those taken by `executionArn`, when given), reading in the same
   * writes whether its Region is marked unavailable. The caller hands on the slots freed.
   */
  async release(copy: SlotSubject, executionArn?: string): Promise<Release> {
    const slots = this.slotsOf(copy);
    const regionKeys = [slots.regional.key, slots.overflow?.key];
    const keys = [slots.resource?.key, ...regionKeys].filter((key): key is string => key !== undefined);
    const given = await Promise.all(
      keys.map((key) => this.giveBack(key, copy, executionArn, regionKeys.includes(key))),
    );
    const marks = given.map((found) => found?.unavailableAt ?? '').filter((found) => found !== '');
    return {
      freed: keys.filter((_, i) => given[i] !== undefined),
      ...(marks.length > 0 ? { unavailableAt: marks.sort().at(-1) } : {}),
    };
  }

  /**
   * StartCopyJob just answered the copy ServiceUnavailable: marks its Region's slots unavailable (regional and
   * its vault's overflow, so that a copy ending learns of it from its own give). One copy per Region probes AWS
   * with its Retry while the others wait in the queue: true when this copy is that probe (none was, the probe's
   * mark lapsed, or it is this copy).
   */
  async markUnavailable(copy: SlotSubject): Promise<boolean> {
    const slots = this.slotsOf(copy);
    const mark = this.now().toISOString();
    const [probing] = await Promise.all([
      this.writeMark(slots.regional.key, mark, { probe: copySlotHolder(copy) }),
      slots.overflow && this.writeMark(slots.overflow.key, mark),
    ]);
    return probing;
  }

  /**
   * AWS started a copy in its Region again: clears the Region's mark and its probe, and the mark on every vault's
   * overflow slot there (another vault's copy may have marked its own). True for the one call that cleared it, whose
   * copy then hands on the Region's free slots.
   */
  async clearUnavailable(copy: SlotSubject): Promise<boolean> {
    const slots = this.slotsOf(copy);
    if (!(await this.writeMark(slots.regional.key, '', { probe: '', unlessCleared: true }))) return false;
    await this.markVaults(copy, '');
    return true;
  }

  /**
   * The Region's probe stops probing (out of patience, waiting for a busy slot, its execution ended): its mark
   * lapses at once, as if nobody had refreshed it for UNAVAILABLE_MARK_MS, so that the next copy refused probes and
   * the first AWS starts clears it. True when `copy` was the probe.
   */
  async lapseUnavailable(copy: SlotSubject): Promise<boolean> {
    const slots = this.slotsOf(copy);
    const lapsed = this.lapsedMarks();
    const probe = copySlotHolder(copy);
    if (!(await this.writeMark(slots.regional.key, lapsed, { probe: '', onlyProbe: probe }))) return false;
    await this.markVaults(copy, lapsed);
    return true;
  }

  /** Writes `mark` on every marked overflow slot of the copy's destination Region (none for types without one). */
  private async markVaults(copy: SlotSubject, mark: string): Promise<void> {
    const prefix = regionVaultsPrefix(copy);
    if (prefix === undefined) return;
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'recoveryPointArn = :slots AND begins_with(destinationVaultArn, :prefix)',
        FilterExpression: '#unavailableAt > :none',
        ProjectionExpression: 'destinationVaultArn',
        ExpressionAttributeNames: { '#unavailableAt': UNAVAILABLE_AT },
        ExpressionAttributeValues: { ':slots': SLOTS_PARTITION, ':prefix': prefix, ':none': '' },
        ConsistentRead: true,
      }),
    );
    await Promise.all(Items.map((item) => this.writeMark(item.destinationVaultArn as string, mark)));
  }

  /**
   * Writes a Region slot item's mark ('' clears it) and, with `probe`, its probe; true when written. A mark with a
   * probe elects it: only where there is none, the last mark has lapsed, or it is the same. `unlessCleared`: only
   * over a mark; `onlyProbe`: only while that copy is the probe. An item not there yet is created with no holders,
   * so that nobody takes that slot unmarked.
   */
  private async writeMark(
    key: string,
    mark: string,
    {
      probe,
      unlessCleared = false,
      onlyProbe,
    }: { probe?: string; unlessCleared?: boolean; onlyProbe?: string } = {},
  ): Promise<boolean> {
    const electing = probe !== undefined && probe !== '';
    const condition = electing
      ? 'attribute_not_exists(#probe) OR #probe IN (:probe, :none) OR #unavailableAt <= :lapsed'
      : onlyProbe !== undefined
        ? '#probe = :onlyProbe'
        : unlessCleared
          ? '#unavailableAt > :none'
          : undefined;
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: slotKey(key),
          UpdateExpression: `SET #unavailableAt = :mark, #holders = if_not_exists(#holders, :noHolders)${probe === undefined ? '' : ', #probe = :probe'}`,
          ...(condition ? { ConditionExpression: condition } : {}),
          ExpressionAttributeNames: {
            '#unavailableAt': UNAVAILABLE_AT,
            '#holders': 'holders',
            ...(probe === undefined && onlyProbe === undefined ? {} : { '#probe': 'probe' }),
          },
          ExpressionAttributeValues: {
            ':mark': mark,
            ':noHolders': {},
            ...(probe === undefined ? {} : { ':probe': probe }),
            ...(onlyProbe === undefined ? {} : { ':onlyProbe': onlyProbe }),
            ...(electing || unlessCleared ? { ':none': '' } : {}),
            ...(electing ? { ':lapsed': this.lapsedMarks() } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** A mark written at or before this time has lapsed (ISO-8601 times compare as strings). */
  private lapsedMarks(): string {
    return new Date(this.now().getTime() - UNAVAILABLE_MARK_MS).toISOString();
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
        items.push({
          key: item.destinationVaultArn,
          holders: item.holders ?? {},
          ...(item[UNAVAILABLE_AT] ? { unavailableAt: item[UNAVAILABLE_AT] } : {}),
        });
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

  /**
   * Takes `slot` for `holder` (again, if it holds it). Returns the slot's mark ('' for none; see SlotItem), or
   * undefined when the slot is full. A Region's slot (`region`) reads its mark in the same write, and with
   * `unlessUnavailable` is refused while the mark holds.
   */
  private async take(
    slot: Slot,
    holder: SlotHolder,
    { region = false, unlessUnavailable = false } = {},
  ): Promise<string | undefined> {
    const names: Record<string, string> = { '#holders': 'holders', '#holder': copySlotHolder(holder) };
    const values: Record<string, unknown> = { ':holder': holder, ':limit': slot.limit };
    let condition = 'attribute_exists(#holders.#holder) OR size(#holders) < :limit';
    let update = 'SET #holders.#holder = :holder';
    if (region) {
      names['#unavailableAt'] = UNAVAILABLE_AT;
      values[':none'] = '';
      // Setting the mark to itself returns it (UPDATED_NEW), a few bytes, with the holder just written.
      update += ', #unavailableAt = if_not_exists(#unavailableAt, :none)';
    }
    if (unlessUnavailable) {
      values[':lapsed'] = this.lapsedMarks();
      condition =
        'attribute_exists(#holders.#holder) OR (size(#holders) < :limit AND NOT #unavailableAt > :lapsed)';
    }
    for (let created = false; ; created = true) {
      const known = this.existing.has(slot.key);
      try {
        const { Attributes } = await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: slotKey(slot.key),
            UpdateExpression: update,
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ...(region ? { ReturnValues: 'UPDATED_NEW' as const } : {}),
            // Tells a full slot (the item comes back) from one never taken yet (no item: create it).
            ...(known ? {} : { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const }),
          }),
        );
        this.existing.add(slot.key);
        this.foundFull.delete(slot.key);
        const mark = Attributes?.[UNAVAILABLE_AT];
        return typeof mark === 'string' ? mark : '';
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        if (known || error.Item !== undefined) {
          this.existing.add(slot.key);
          this.foundFull.set(slot.key, this.now().getTime());
          return undefined;
        }
      }
      if (created) return undefined;
      await this.create(slot.key);
    }
  }

  /** Removes the copy's hold on `key` (only `executionArn`'s, when given); true when it held one. */
  async give(key: string, copy: SlotSubject, executionArn?: string): Promise<boolean> {
    return (await this.giveBack(key, copy, executionArn)) !== undefined;
  }

  /**
   * Removes the copy's hold on `key`; undefined when it held none. On a Region's slot (`region`) it also reads the
   * mark (UPDATED_NEW returns the attributes an update sets: setting the mark to itself costs a few bytes, where
   * the item would be its 100 holders).
   */
  private async giveBack(
    key: string,
    copy: SlotSubject,
    executionArn?: string,
    region = false,
  ): Promise<{ unavailableAt?: string } | undefined> {
    const names: Record<string, string> = { '#holders': 'holders', '#holder': copySlotHolder(copy) };
    const values: Record<string, unknown> = {};
    let update = 'REMOVE #holders.#holder';
    if (region) {
      names['#unavailableAt'] = UNAVAILABLE_AT;
      values[':none'] = '';
      update += ' SET #unavailableAt = if_not_exists(#unavailableAt, :none)';
    }
    if (executionArn !== undefined) {
      names['#executionArn'] = 'executionArn';
      values[':executionArn'] = executionArn;
    }
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: slotKey(key),
          UpdateExpression: update,
          ConditionExpression:
            executionArn === undefined
              ? 'attribute_exists(#holders.#holder)'
              : '#holders.#holder.#executionArn = :executionArn',
          ExpressionAttributeNames: names,
          ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
          ...(region ? { ReturnValues: 'UPDATED_NEW' as const } : {}),
        }),
      );
      // The condition held, so the copy held the slot.
      this.foundFull.delete(key);
      const unavailableAt = Attributes?.[UNAVAILABLE_AT];
      return typeof unavailableAt === 'string' ? { unavailableAt } : {};
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
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
