import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { resourceOutcomeKey } from '../domain/keys.js';
import {
  type CopyStatus,
  type LedgerError,
  type LedgerRecord,
  PLAN_KEY,
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

/** Moves an item forward in (attempt, status rank), or repeats its current state; never backwards. */
const FORWARD_ONLY =
  'attribute_not_exists(#attempt) OR #attempt < :attempt OR ' +
  '(#attempt = :attempt AND (#statusRank < :statusRank OR #status = :status))';

/**
 * The DynamoDB ledger: one item per (recovery point, destination) plus one plan item per recovery point.
 * Every copy write is conditional, so a duplicate or late writer can repeat the current state but never
 * move a record backwards.
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

  /** Claims `attempt` of a copy before StartCopyJob; false when another writer has moved past it. */
  async claim(
    copy: PlannedCopy,
    attempt: number,
    idempotencyToken: string,
    runId: string,
    executionArn: string,
  ): Promise<boolean> {
    const fields = {
      idempotencyToken,
      runId,
      executionArn,
      sourceBackupVaultName: copy.sourceBackupVaultName,
      resourceType: copy.resourceType,
      iamRoleArn: copy.iamRoleArn,
      lifecycle: copy.lifecycle,
      lifecycleSource: copy.lifecycleSource,
      isParent: copy.isParent,
      // What coverage asks by: the resource index (RESOURCE_INDEX) holds items with resourceArn.
      resourceArn: copy.resourceArn,
      sourceCompletionDate: copy.sourceCompletionDate,
    };
    return (await this.advance(copy, attempt, 'PENDING', fields)) !== undefined;
  }

  /** Records the started job and the task waiting on it; undefined when the item had moved on. */
  async markRunning(
    key: CopyKey,
    attempt: number,
    copyJobId: string,
    isParent: boolean,
    waiter: string,
  ): Promise<LedgerRecord | undefined> {
    const fields = { copyJobId, isParent, startedAt: this.now().toISOString() };
    return this.advance(key, attempt, 'RUNNING', fields, waiter);
  }

  /** Adds a task waiting on a RUNNING copy; false when the copy is no longer running that attempt. */
  async addWaiter(key: CopyKey, attempt: number, waiter: string): Promise<boolean> {
    const condition = '#attempt = :attempt AND #status = :status';
    return (await this.update(key, { attempt, status: 'RUNNING' }, condition, waiter)) !== undefined;
  }

  /** Writes a final status; returns the item as written, or undefined when it had already moved on. */
  markFinal(
    key: CopyKey,
    attempt: number,
    status: Exclude<CopyStatus, 'PENDING' | 'RUNNING' | 'REJECTED'>,
    details: { executionArn: string; lastError?: LedgerError },
  ): Promise<LedgerRecord | undefined> {
    const completedAt = this.now().toISOString();
    const resourceOutcome = resourceOutcomeKey(key.destinationVaultArn, status, completedAt);
    return this.advance(key, attempt, status, { ...details, completedAt, resourceOutcome });
  }

  /**
   * Keeps a copy job's end seen before the job id was on the item (the event beat markRunning), so the
   * copy task settles it when it writes the id. False when the item has moved on: settle it instead.
   */
  async noteJobOutcome(key: CopyKey, outcome: JobOutcome): Promise<boolean> {
    const condition = '#status = :pending';
    const names = { '#status': 'status' };
    return (
      (await this.update(key, { lastJobOutcome: outcome }, condition, undefined, names, {
        ':pending': 'PENDING',
      })) !== undefined
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
    const completedAt = this.now().toISOString();
    const resourceOutcome = resourceOutcomeKey(key.destinationVaultArn, 'REJECTED', completedAt);
    const fields = {
      ...details,
      completedAt,
      ...(details.resourceArn ? { resourceOutcome } : {}),
      status: 'REJECTED',
      statusRank: STATUS_RANK.REJECTED,
      attempt: 0,
    };
    const condition = 'attribute_not_exists(#status) OR #status = :rejected';
    const names = { '#status': 'status' };
    const values = { ':rejected': 'REJECTED' };
    return (await this.update(key, fields, condition, undefined, names, values)) !== undefined;
  }

  /** Notes an error on an unfinished attempt without changing its status (it stays resumable). */
  async noteError(key: CopyKey, attempt: number, lastError: LedgerError): Promise<void> {
    await this.update(key, { lastError, attempt }, '#attempt = :attempt');
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
      statusRank: STATUS_RANK[status],
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
          // Copy-slot bookkeeping shares the table under keys starting with '#' (see CopySlots).
          FilterExpression: 'NOT begins_with(recoveryPointArn, :internal)',
          ExpressionAttributeValues: { ':internal': '#' },
        }),
      );
      items.push(...((page.Items ?? []) as LedgerRecord[]));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  }

  private advance(key: CopyKey, attempt: number, status: CopyStatus, fields: Fields, waiter?: string) {
    return this.update(
      key,
      { ...fields, status, statusRank: STATUS_RANK[status], attempt },
      FORWARD_ONLY,
      waiter,
    );
  }

  /** A conditional update; undefined when the condition failed because another writer moved the item on. */
  private async update(
    key: CopyKey,
    fields: Fields,
    condition: string,
    waiter?: string,
    conditionNames: Record<string, string> = {},
    conditionValues: Record<string, unknown> = {},
  ): Promise<LedgerRecord | undefined> {
    const clause = this.setClause(fields);
    const names = { ...clause.names, ...conditionNames };
    const values = { ...clause.values, ...conditionValues };
    const { expression } = clause;
    const appendWaiter = waiter !== undefined;
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(key),
          UpdateExpression: appendWaiter
            ? `${expression}, #waiters = list_append(if_not_exists(#waiters, :noWaiters), :waiter)`
            : expression,
          ConditionExpression: condition,
          ExpressionAttributeNames: appendWaiter ? { ...names, '#waiters': 'waiters' } : names,
          ExpressionAttributeValues: appendWaiter
            ? { ...values, ':noWaiters': [], ':waiter': [waiter] }
            : values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes as LedgerRecord;
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
