import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { resourceOutcomeKey } from '../domain/keys.js';
import {
  type CopyStatus,
  type LedgerError,
  type LedgerRecord,
  PLAN_KEY,
  PLAN_STATUS_RANK,
  type PlanStatus,
  STATUS_RANK,
} from '../domain/ledger-record.js';
import type { PlannedCopy } from '../domain/policy.js';
import { type ReadMeter, ResourceIndex } from './resource-index.js';

export interface CopyKey {
  recoveryPointArn: string;
  destinationVaultArn: string;
}

type Fields = Record<string, unknown>;

export interface JobOutcome {
  copyJobId: string;
  state: string;
  statusMessage?: string;
}

/** The sparse index of waiting copies: partition `slotQueue` (a copy slot key), sort `queuedAt`. */
export const SLOT_QUEUE_INDEX = 'copy-slot-queue';

/** Moves an item forward in (attempt, status rank), or repeats its current state; never backwards. */
const FORWARD_ONLY =
  'attribute_not_exists(#attempt) OR #attempt < :attempt OR ' +
  '(#attempt = :attempt AND (#statusRank < :statusRank OR #status = :status))';

/** Queueing may also send a claimed attempt back (AWS said "not now" to its StartCopyJob). */
const QUEUEABLE =
  'attribute_not_exists(#attempt) OR #attempt < :attempt OR ' +
  '(#attempt = :attempt AND #status IN (:status, :pending, :planned))';

/** What a conditional update writes besides the fields it sets. */
interface UpdateOptions {
  condition: string;
  waiter?: string;
  remove?: string[];
  names?: Record<string, string>;
  values?: Record<string, unknown>;
  returnOld?: boolean;
  /** More SET actions, e.g. `#a = if_not_exists(#a, :a)`. */
  set?: string;
  /** ADD actions, e.g. `#tokens :token`. */
  add?: string;
  /** DELETE actions (from a set), e.g. `#tokens :token`. */
  delete?: string;
}

/** Fields of a planned copy every copy item carries, so the slots and the report can be derived from the item. */
const copyFields = (copy: PlannedCopy) => ({
  sourceBackupVaultName: copy.sourceBackupVaultName,
  resourceType: copy.resourceType,
  resourceArn: copy.resourceArn,
  iamRoleArn: copy.iamRoleArn,
  lifecycle: copy.lifecycle,
  lifecycleSource: copy.lifecycleSource,
  isParent: copy.isParent,
  // With resourceArn, what coverage asks by (RESOURCE_INDEX): the backup's age is its completion date.
  sourceCompletionDate: copy.sourceCompletionDate,
});

const QUEUE_ATTRIBUTES = ['slotQueue', 'queuedAt', 'waitingTokens'];

/** A copy's place in a slot queue: what a granter reads of each waiting copy (see CopyLedger.waiting). */
const QUEUE_PLACE_ATTRIBUTES = ['recoveryPointArn', 'destinationVaultArn', 'slotQueue', 'queuedAt'] as const;

export type QueuePlace = CopyKey & { slotQueue: string; queuedAt: string };

/**
 * The DynamoDB ledger: one item per (recovery point, destination) plus one plan item per recovery point.
 * Every copy write is conditional, so a duplicate or late writer can repeat the current state but never
 * move a record backwards. Copies waiting for a copy slot are items of this table too (QUEUED, with a place in
 * the sparse SLOT_QUEUE_INDEX).
 */
export class CopyLedger {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(key: CopyKey): Promise<LedgerRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(key), ConsistentRead: true }),
    );
    return Item as LedgerRecord | undefined;
  }

  /** The copy items of one recovery point (not its plan item). */
  async copiesOf(recoveryPointArn: string): Promise<LedgerRecord[]> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'recoveryPointArn = :arn',
        ExpressionAttributeValues: { ':arn': recoveryPointArn },
        ConsistentRead: true,
      }),
    );
    return ((Items ?? []) as LedgerRecord[]).filter((item) => item.destinationVaultArn !== PLAN_KEY);
  }

  /** Records every planned copy as PLANNED (attempt 0), unless it already has an item. */
  async planCopies(copies: readonly PlannedCopy[], executionArn: string): Promise<void> {
    await Promise.all(
      copies.map((copy) =>
        this.update(
          copy,
          {
            ...copyFields(copy),
            executionArn,
            status: 'PLANNED',
            statusRank: STATUS_RANK.PLANNED,
            attempt: 0,
          },
          { condition: 'attribute_not_exists(recoveryPointArn)' },
        ),
      ),
    );
  }

  /**
   * Claims `attempt` of a copy before StartCopyJob; undefined when another writer has moved past it. The first
   * claim of an attempt names the run that started it (runId, startedBy); a later one (a resume, or a duplicate
   * execution joining) keeps those. Takes the copy out of the slot queue and returns the WaitForCopySlot tasks
   * that were waiting for it, to wake.
   */
  async claim(
    copy: PlannedCopy,
    attempt: number,
    idempotencyToken: string,
    runId: string,
    executionArn: string,
  ): Promise<{ waitingTokens: string[] } | undefined> {
    const fields = { ...copyFields(copy), idempotencyToken, executionArn };
    const pending = { status: 'PENDING', statusRank: STATUS_RANK.PENDING, attempt };
    const remove = QUEUE_ATTRIBUTES;
    const old =
      (await this.update(
        copy,
        { ...fields, ...pending, runId },
        {
          condition:
            'attribute_not_exists(#attempt) OR #attempt < :attempt OR (#attempt = :attempt AND #statusRank < :statusRank)',
          names: { '#startedBy': 'startedBy' },
          values: { ':run': new Set([runId]) },
          add: '#startedBy :run',
          remove,
          returnOld: true,
        },
      )) ??
      (await this.update(
        copy,
        { ...fields, ...pending },
        { condition: '#attempt = :attempt AND #status = :status', remove, returnOld: true },
      ));
    return old && { waitingTokens: [...(old.waitingTokens ?? [])] };
  }

  /** Records the started job and the task waiting on it; undefined when the item had moved on. */
  async markRunning(
    key: CopyKey,
    attempt: number,
    copyJobId: string,
    isParent: boolean,
    waiter: { taskToken: string; executionArn: string },
  ): Promise<LedgerRecord | undefined> {
    const fields = { copyJobId, isParent, startedAt: this.now().toISOString() };
    return this.update(
      key,
      { ...fields, status: 'RUNNING', statusRank: STATUS_RANK.RUNNING, attempt },
      { condition: FORWARD_ONLY, remove: ['unavailableSince'], ...this.waiterOptions(waiter) },
    );
  }

  /** Adds a task waiting on a RUNNING copy; false when the copy is no longer running that attempt. */
  addWaiter(
    key: CopyKey,
    attempt: number,
    waiter: { taskToken: string; executionArn: string },
  ): Promise<boolean> {
    return this.waitOn(key, attempt, 'RUNNING', waiter);
  }

  /**
   * Adds a task to wait, after `attempt` FAILED, for the next attempt another execution is about to start (it
   * ends the same way, so the same waiters hear of it); false when the item has moved on.
   */
  addFollower(
    key: CopyKey,
    attempt: number,
    waiter: { taskToken: string; executionArn: string },
  ): Promise<boolean> {
    return this.waitOn(key, attempt, 'FAILED', waiter);
  }

  private async waitOn(
    key: CopyKey,
    attempt: number,
    status: 'RUNNING' | 'FAILED',
    waiter: { taskToken: string; executionArn: string },
  ): Promise<boolean> {
    const condition = '#attempt = :attempt AND #status = :status';
    const added = await this.update(key, { attempt, status }, { condition, ...this.waiterOptions(waiter) });
    return added !== undefined;
  }

  /**
   * Forgets an execution that ended as one waiting on this copy; the item as written, or undefined when the
   * execution was not waiting on it.
   */
  forgetExecution(key: CopyKey, executionArn: string): Promise<LedgerRecord | undefined> {
    return this.update(
      key,
      {},
      {
        condition: 'contains(#waitingExecutions, :execution)',
        names: { '#waitingExecutions': 'waitingExecutions' },
        values: { ':execution': executionArn, ':executions': new Set([executionArn]) },
        delete: '#waitingExecutions :executions',
      },
    );
  }

  /**
   * Writes the end of the job `copyJobId` the item is RUNNING: a job's end in one write, without reading the item
   * first. Undefined when the item is not running that job (still PENDING, another attempt's, already final).
   */
  markJobEnded(
    key: CopyKey,
    copyJobId: string,
    status: Extract<CopyStatus, 'COMPLETED' | 'FAILED'>,
    lastError?: LedgerError,
  ): Promise<LedgerRecord | undefined> {
    return this.update(
      key,
      { lastError, ...this.ended(key, status), status, statusRank: STATUS_RANK[status] },
      {
        condition: '#status = :running AND #copyJobId = :copyJobId',
        names: { '#copyJobId': 'copyJobId' },
        values: { ':running': 'RUNNING', ':copyJobId': copyJobId },
        remove: ['unavailableSince', ...QUEUE_ATTRIBUTES],
      },
    );
  }

  /** Writes a final status; returns the item as written, or undefined when it had already moved on. */
  markFinal(
    key: CopyKey,
    attempt: number,
    status: Extract<CopyStatus, 'COMPLETED' | 'FAILED'>,
    details: { executionArn: string; lastError?: LedgerError },
  ): Promise<LedgerRecord | undefined> {
    const fields = { ...details, ...this.ended(key, status) };
    return this.advance(key, attempt, status, fields, ['unavailableSince', ...QUEUE_ATTRIBUTES]);
  }

  /**
   * Puts `attempt` of a copy in the queue of copy slot `slotKey`: QUEUED, in the place it first took for this
   * attempt. Undefined when another writer has moved the item past this attempt (or started its job).
   */
  markQueued(
    copy: PlannedCopy,
    attempt: number,
    slotKey: string,
    executionArn: string,
    lastError?: LedgerError,
  ): Promise<LedgerRecord | undefined> {
    return this.update(
      copy,
      {
        ...copyFields(copy),
        executionArn,
        lastError,
        slotQueue: slotKey,
        status: 'QUEUED',
        statusRank: STATUS_RANK.QUEUED,
        attempt,
      },
      {
        condition: QUEUEABLE,
        names: { '#queuedAt': 'queuedAt' },
        values: { ':pending': 'PENDING', ':planned': 'PLANNED', ':queuedAt': this.now().toISOString() },
        set: '#queuedAt = if_not_exists(#queuedAt, :queuedAt)',
      },
    );
  }

  /** Adds a WaitForCopySlot task to a waiting copy; undefined when it is no longer waiting (granted meanwhile). */
  addWaitingToken(key: CopyKey, taskToken: string): Promise<LedgerRecord | undefined> {
    return this.update(
      key,
      {},
      {
        condition: 'attribute_exists(#slotQueue)',
        names: { '#slotQueue': 'slotQueue', '#waitingTokens': 'waitingTokens' },
        values: { ':token': new Set([taskToken]) },
        add: '#waitingTokens :token',
      },
    );
  }

  /**
   * The places of the copies waiting longest for slot `slotKey`, first come first served. Places only: a granter
   * gets the rest of the copy it takes out of the queue (takeWaiting), and 50 whole items are about 75 KB.
   */
  async waiting(slotKey: string, limit: number): Promise<QueuePlace[]> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: SLOT_QUEUE_INDEX,
        KeyConditionExpression: 'slotQueue = :slot',
        ExpressionAttributeValues: { ':slot': slotKey },
        ProjectionExpression: QUEUE_PLACE_ATTRIBUTES.join(', '),
        Limit: limit,
      }),
    );
    return (Items ?? []) as QueuePlace[];
  }

  /** How many copies wait for slot `slotKey`, and since when the longest has. */
  async queueDepth(slotKey: string): Promise<{ waiting: number; oldestQueuedAt?: string }> {
    let waiting = 0;
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: SLOT_QUEUE_INDEX,
          KeyConditionExpression: 'slotQueue = :slot',
          ExpressionAttributeValues: { ':slot': slotKey },
          Select: 'COUNT',
          ExclusiveStartKey,
        }),
      );
      waiting += page.Count ?? 0;
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    const [oldest] = waiting > 0 ? await this.waiting(slotKey, 1) : [];
    return { waiting, ...(oldest?.queuedAt ? { oldestQueuedAt: oldest.queuedAt } : {}) };
  }

  /**
   * Takes a granted copy out of its queue; returns the item as it was (with the tasks to wake), or undefined when
   * another granter (or the copy's own task) took it first.
   */
  async takeWaiting(place: QueuePlace): Promise<LedgerRecord | undefined> {
    return this.update(
      place,
      {},
      {
        condition: '#slotQueue = :slotQueue AND #queuedAt = :queuedAt',
        names: { '#slotQueue': 'slotQueue', '#queuedAt': 'queuedAt' },
        values: { ':slotQueue': place.slotQueue, ':queuedAt': place.queuedAt },
        remove: QUEUE_ATTRIBUTES,
        returnOld: true,
      },
    );
  }

  /**
   * Puts a copy taken out of its queue back in its place in time, with its tasks, in the queue of `slotKey` (its
   * own, or the one of a slot it now waits for), if it is still QUEUED.
   */
  async putBack(record: LedgerRecord, taskTokens: readonly string[], slotKey: string): Promise<void> {
    const names = { '#status': 'status', '#attempt': 'attempt' };
    const values = { ':queued': 'QUEUED', ':attempt': record.attempt };
    // DynamoDB has no empty set: a copy taken out before its task joined has none to put back.
    const tokens = taskTokens.length
      ? {
          add: '#waitingTokens :tokens',
          names: { ...names, '#waitingTokens': 'waitingTokens' },
          values: { ...values, ':tokens': new Set(taskTokens) },
        }
      : { names, values };
    await this.update(
      record,
      { slotQueue: slotKey, queuedAt: record.queuedAt },
      { condition: '#status = :queued AND #attempt = :attempt', ...tokens },
    );
  }

  /**
   * Moves a waiting copy to the queue of the slot it now waits for, keeping its place in time; false when it was
   * no longer in the queue it was read from (granted, or moved, meanwhile).
   */
  async moveInQueue(record: QueuePlace, slotKey: string): Promise<boolean> {
    const moved = await this.update(
      record,
      { slotQueue: slotKey },
      {
        condition: '#slotQueue = :from',
        values: { ':from': record.slotQueue },
      },
    );
    return moved !== undefined;
  }

  /**
   * Keeps a copy job's end seen before the job id was on the item (the event beat markRunning), so the
   * copy task settles it when it writes the id. False when the item has moved on: settle it instead.
   */
  async noteJobOutcome(key: CopyKey, outcome: JobOutcome): Promise<boolean> {
    const condition = '#status = :pending';
    return (
      (await this.update(
        key,
        { lastJobOutcome: outcome },
        { condition, names: { '#status': 'status' }, values: { ':pending': 'PENDING' } },
      )) !== undefined
    );
  }

  /**
   * Records a destination refused at plan time as a REJECTED copy item at attempt 0, so report shows it with its
   * reason. Only over nothing or an earlier refusal: a copy already attempted keeps its record, and a later
   * policy that allows the destination starts attempt 1 over this one.
   */
  async recordRefusal(
    key: CopyKey,
    details: {
      executionArn: string;
      rule: string;
      sourceBackupVaultName: string;
      resourceType: string;
      resourceArn?: string;
      lastError: LedgerError;
    },
  ): Promise<boolean> {
    // In the resource index too, so coverage shows the destination REFUSED rather than NEVER copied.
    const { completedAt, resourceOutcome } = this.ended(key, 'REJECTED');
    const fields = {
      ...details,
      completedAt,
      ...(details.resourceArn ? { resourceOutcome } : {}),
      status: 'REJECTED',
      statusRank: STATUS_RANK.REJECTED,
      attempt: 0,
    };
    const condition = 'attribute_not_exists(#status) OR #status = :rejected';
    const options = { condition, names: { '#status': 'status' }, values: { ':rejected': 'REJECTED' } };
    return (await this.update(key, fields, options)) !== undefined;
  }

  /**
   * Notes that StartCopyJob answered ServiceUnavailable on an unfinished attempt (it stays resumable), and since
   * when it has; undefined when the attempt moved on.
   */
  noteUnavailable(key: CopyKey, attempt: number, lastError: LedgerError): Promise<LedgerRecord | undefined> {
    return this.update(
      key,
      { lastError, attempt },
      {
        condition: '#attempt = :attempt',
        names: { '#unavailableSince': 'unavailableSince' },
        values: { ':since': this.now().toISOString() },
        set: '#unavailableSince = if_not_exists(#unavailableSince, :since)',
      },
    );
  }

  /** The recovery point's plan item: the latest execution's plan, or the reason it was refused. */
  async recordPlan(
    recoveryPointArn: string,
    status: PlanStatus,
    details: {
      executionArn: string;
      sourceBackupVaultName?: string;
      resourceType?: string;
      destinations?: string[];
      refused?: string[];
      warnings?: string[];
      lastError?: LedgerError;
    },
  ): Promise<void> {
    const { expression, names, values } = this.setClause({
      ...details,
      status,
      statusRank: PLAN_STATUS_RANK,
    });
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { recoveryPointArn, destinationVaultArn: PLAN_KEY },
        UpdateExpression: `${expression}, #attempt = if_not_exists(#attempt, :zero) + :one`,
        ExpressionAttributeNames: { ...names, '#attempt': 'attempt' },
        ExpressionAttributeValues: { ...values, ':zero': 0, ':one': 1 },
      }),
    );
  }

  /** The table's index of final copy items by protected resource, for coverage. */
  resourceIndex(meter?: ReadMeter): ResourceIndex {
    return new ResourceIndex(this.client, this.tableName, meter);
  }

  /** Every copy and plan item; for reports and tests over a small table. */
  async scan(): Promise<LedgerRecord[]> {
    const items: LedgerRecord[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          ExclusiveStartKey,
          // Copy-slot items share the table under keys starting with '#' (see CopySlots).
          FilterExpression: 'NOT begins_with(recoveryPointArn, :internal)',
          ExpressionAttributeValues: { ':internal': '#' },
        }),
      );
      items.push(...((page.Items ?? []) as LedgerRecord[]));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  }

  /** When a copy ended, and its key in the resource index (coverage). */
  private ended(key: CopyKey, status: Extract<CopyStatus, 'COMPLETED' | 'FAILED' | 'REJECTED'>) {
    const completedAt = this.now().toISOString();
    return { completedAt, resourceOutcome: resourceOutcomeKey(key.destinationVaultArn, status, completedAt) };
  }

  /** The update options that add a waiting task and its execution. */
  private waiterOptions(waiter: { taskToken: string; executionArn: string }): Partial<UpdateOptions> {
    return {
      waiter: waiter.taskToken,
      names: { '#waitingExecutions': 'waitingExecutions' },
      values: { ':waitingExecution': new Set([waiter.executionArn]) },
      add: '#waitingExecutions :waitingExecution',
    };
  }

  private advance(key: CopyKey, attempt: number, status: CopyStatus, fields: Fields, remove: string[]) {
    return this.update(
      key,
      { ...fields, status, statusRank: STATUS_RANK[status], attempt },
      { condition: FORWARD_ONLY, remove },
    );
  }

  /**
   * A conditional update; undefined when the condition failed because another writer moved the item on.
   * Returns the item as written, or as it was before with `returnOld`.
   */
  private async update(
    key: CopyKey,
    fields: Fields,
    options: UpdateOptions,
  ): Promise<LedgerRecord | undefined> {
    const clause = this.setClause(fields);
    const names: Record<string, string> = { ...clause.names, ...options.names };
    const values: Record<string, unknown> = { ...clause.values, ...options.values };
    let expression = clause.expression;
    if (options.set) expression += `, ${options.set}`;
    if (options.waiter !== undefined) {
      expression += ', #waiters = list_append(if_not_exists(#waiters, :noWaiters), :waiter)';
      names['#waiters'] = 'waiters';
      values[':noWaiters'] = [];
      values[':waiter'] = [options.waiter];
    }
    if (options.add) expression += ` ADD ${options.add}`;
    if (options.delete) expression += ` DELETE ${options.delete}`;
    if (options.remove?.length) {
      for (const name of options.remove) names[`#${name}`] = name;
      expression += ` REMOVE ${options.remove.map((name) => `#${name}`).join(', ')}`;
    }
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(key),
          UpdateExpression: expression,
          ConditionExpression: options.condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: options.returnOld ? 'ALL_OLD' : 'ALL_NEW',
        }),
      );
      return (Attributes ?? {}) as LedgerRecord;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  private key(key: CopyKey) {
    return { recoveryPointArn: key.recoveryPointArn, destinationVaultArn: key.destinationVaultArn };
  }

  /** `SET #a = :a, ...` for the defined fields, plus timestamps; createdAt is written once. */
  private setClause(fields: Fields) {
    const names: Record<string, string> = { '#createdAt': 'createdAt', '#updatedAt': 'updatedAt' };
    const values: Record<string, unknown> = { ':now': this.now().toISOString() };
    const sets = ['#createdAt = if_not_exists(#createdAt, :now)', '#updatedAt = :now'];
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      names[`#${name}`] = name;
      values[`:${name}`] = value;
      sets.push(`#${name} = :${name}`);
    }
    return { expression: `SET ${sets.join(', ')}`, names, values };
  }
}
