import { randomUUID } from 'node:crypto';
import { SFNClient } from '@aws-sdk/client-sfn';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { CopySlots } from '../../lib/aws/copy-slots.js';
import { CopyLedger } from '../../lib/aws/ledger.js';
import { freeSlots, grantWaiting, releaseExecutionSlots, waitForCopySlot } from '../../lib/copy.js';
import { isRegionUnavailable, UNAVAILABLE_MARK_MS } from '../../lib/domain/copy-slots.js';
import type { PlannedCopy } from '../../lib/domain/policy.js';
import {
  createLedgerTable,
  DUMMY_CREDENTIALS,
  documentClient,
  freePort,
} from '../../local/dynamodb-local.js';
import { COPY_ROLE, DR_ISOLATED, DR_WEST, recoveryPointArn } from '../../local/factories.js';

const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:copy:one';
const OTHER_EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:copy:two';
const DR_EAST_2 = 'arn:aws:backup:us-east-2:111111111111:backup-vault:dr-east';

const copyOf = (overrides: Partial<PlannedCopy> = {}): PlannedCopy => ({
  recoveryPointArn: recoveryPointArn(),
  sourceBackupVaultName: 'primary',
  destinationVaultArn: DR_WEST,
  iamRoleArn: COPY_ROLE,
  lifecycleSource: 'none',
  resourceType: 'EFS',
  resourceArn: `arn:aws:elasticfilesystem:us-east-1:111111111111:file-system/fs-${randomUUID().slice(0, 8)}`,
  isParent: false,
  rule: 'primary-to-dr',
  ...overrides,
});

describe('copy slots shaped like AWS Backup quotas (DynamoDB Local)', () => {
  const endpoint = inject('dynamoDbEndpoint');
  const documents = documentClient(endpoint);
  let tableName: string;
  let clock: number;
  const slotsOf = (perRegion: number, byRegion: Record<string, number> = {}) =>
    new CopySlots(documents, tableName, { perRegion, byRegion }, () => new Date(clock));
  const ledger = () => new CopyLedger(documents, tableName, () => new Date(clock));

  beforeEach(async () => {
    tableName = `copy-slots-${randomUUID()}`;
    clock = Date.parse('2026-11-23T00:00:00Z');
    await createLedgerTable(endpoint, tableName);
  });

  it('counts copies per destination Region, one hold per copy however often it acquires', async () => {
    const slots = slotsOf(1);
    const first = copyOf({ destinationVaultArn: DR_EAST_2 });
    expect(await slots.acquire(first, EXECUTION)).toEqual({ granted: true });
    expect(await slots.acquire(first, EXECUTION)).toEqual({ granted: true });
    // Another Region has its own slots.
    expect(await slots.acquire(copyOf(), EXECUTION)).toEqual({ granted: true });
    expect(Object.keys(await slots.holders(slots.slotsOf(first).regional.key))).toHaveLength(1);
  });

  it('takes up to 5 more per destination vault once the Region is full, then makes the copy wait', async () => {
    const slots = slotsOf(2);
    const grants = [];
    for (let i = 0; i < 7; i++) grants.push(await slots.acquire(copyOf(), EXECUTION));
    expect(grants.every((grant) => grant.granted)).toBe(true);
    const refused = await slots.acquire(copyOf(), EXECUTION);
    expect(refused).toEqual({ granted: false, waitOn: slots.slotsOf(copyOf()).regional.key });
    // Another vault in the same Region still has its own 5.
    expect(await slots.acquire(copyOf({ destinationVaultArn: DR_ISOLATED }), EXECUTION)).toEqual({
      granted: true,
    });
  });

  it('hints that a Region is full only after finding its slot and the overflow full, for 10 seconds or until it gives one back', async () => {
    const slots = slotsOf(1);
    const first = copyOf();
    expect(slots.seemsFull(first)).toBe(false);
    expect((await slots.acquire(first, EXECUTION)).granted).toBe(true);
    // The Region's slot is full, not yet the overflow.
    expect(slots.seemsFull(copyOf())).toBe(false);
    for (let i = 0; i < 5; i++) await slots.acquire(copyOf(), EXECUTION);
    expect(slots.seemsFull(copyOf())).toBe(false);
    expect((await slots.acquire(copyOf(), EXECUTION)).granted).toBe(false);
    expect(slots.seemsFull(copyOf())).toBe(true);
    // Another Region's copy is not hinted.
    expect(slots.seemsFull(copyOf({ destinationVaultArn: DR_EAST_2 }))).toBe(false);
    clock += 10_001;
    expect(slots.seemsFull(copyOf())).toBe(false);
    expect((await slots.acquire(copyOf(), EXECUTION)).granted).toBe(false);
    await slots.release(first);
    expect(slots.seemsFull(copyOf())).toBe(false);
  });

  it('refuses a full slot it has seen without DynamoDB sending the item back', async () => {
    // What each take asks for when refused: a full regional item holds 100 holders, about 35 KB.
    const asked: (string | undefined)[] = [];
    const client = documentClient(endpoint);
    client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as {
          ConditionExpression?: string;
          ReturnValuesOnConditionCheckFailure?: string;
        };
        if (input.ConditionExpression?.includes('size(#holders)'))
          asked.push(input.ReturnValuesOnConditionCheckFailure);
        return next(args);
      },
      { step: 'initialize' },
    );
    const slots = new CopySlots(client, tableName, { perRegion: 1, byRegion: {} });
    // The Region's slot and the vault's 5 of overflow.
    for (let i = 0; i < 6; i++) expect((await slots.acquire(copyOf(), EXECUTION)).granted).toBe(true);
    asked.length = 0;

    expect((await slots.acquire(copyOf(), EXECUTION)).granted).toBe(false);
    expect(asked).toEqual([undefined, undefined]);
    // Another instance (a new Lambda container) has not seen them: it asks, once, and still refuses.
    const fresh = new CopySlots(client, tableName, { perRegion: 1, byRegion: {} });
    expect((await fresh.acquire(copyOf(), EXECUTION)).granted).toBe(false);
    expect((await fresh.acquire(copyOf(), EXECUTION)).granted).toBe(false);
    expect(asked).toEqual([undefined, undefined, 'ALL_OLD', 'ALL_OLD', undefined, undefined]);
  });

  it('honours a per-Region override', async () => {
    const slots = slotsOf(100, { 'us-west-2': 1 });
    expect(slots.slotsOf(copyOf()).regional.limit).toBe(1);
    expect(slots.slotsOf(copyOf({ destinationVaultArn: DR_EAST_2 })).regional.limit).toBe(100);
  });

  it('lets only one copy of a resource run at a time, and holds nothing for the one that waits', async () => {
    const slots = slotsOf(10);
    const toWest = copyOf();
    const toIsolated = { ...toWest, destinationVaultArn: DR_ISOLATED };
    expect(await slots.acquire(toWest, EXECUTION)).toEqual({ granted: true });
    const waiting = await slots.acquire(toIsolated, EXECUTION);
    // Regional slot first (in a burst it is the full one), given back when the resource is busy.
    expect(waiting).toEqual({
      granted: false,
      waitOn: `resource#${toWest.resourceArn}`,
      gaveBack: slots.slotsOf(toIsolated).regional.key,
    });
    expect(Object.keys(await slots.holders(slots.slotsOf(toWest).regional.key))).toHaveLength(1);

    expect((await slots.release(toWest)).freed).toContain(`resource#${toWest.resourceArn}`);
    expect(await slots.acquire(toIsolated, EXECUTION)).toEqual({ granted: true });
  });

  it("gives back only the holds of the execution named, so a dead execution never frees another's", async () => {
    const slots = slotsOf(10);
    const copy = copyOf();
    await slots.acquire(copy, EXECUTION);
    expect((await slots.release(copy, OTHER_EXECUTION)).freed).toEqual([]);
    expect(Object.keys(await slots.holders(slots.slotsOf(copy).regional.key))).toHaveLength(1);
    expect((await slots.release(copy, EXECUTION)).freed).toHaveLength(2);
    expect(await slots.holders(slots.slotsOf(copy).regional.key)).toEqual({});
  });

  it('marks a Region unavailable with one probe: its slots count as full for the others until AWS starts the probe again', async () => {
    const slots = slotsOf(10);
    const [probe, other, ending, waiting] = [copyOf(), copyOf(), copyOf(), copyOf()];
    const regional = slots.slotsOf(probe).regional.key;
    const regionalItem = async () => (await slots.all()).find((slot) => slot.key === regional);
    for (const copy of [probe, other, ending]) await slots.acquire(copy, EXECUTION);
    // Both refused ServiceUnavailable: the first probes, the second waits; the probe may mark again.
    await slots.release(probe);
    expect(await slots.markUnavailable(probe)).toBe(true);
    const markedAt = new Date(clock).toISOString();
    await slots.release(other);
    expect(await slots.markUnavailable(other)).toBe(false);
    expect(await slots.markUnavailable(probe)).toBe(true);
    // 8 of 10 free, and the vault's overflow never taken: full all the same, except for the probe.
    expect(await slots.acquire(waiting, EXECUTION)).toEqual({ granted: false, waitOn: regional });
    expect(await slots.acquire(probe, EXECUTION, { probing: true })).toEqual({ granted: true, marked: true });
    // A copy ending learns of it from its own give, with no read of the item (its 100 holders on AWS).
    clock += 60_000;
    expect(await slots.release(ending)).toMatchObject({ unavailableAt: markedAt });
    expect((await regionalItem())?.unavailableAt).toBe(markedAt);

    // Only one of the copies AWS starts clears it (and hands on the Region's free slots).
    expect(await slots.clearUnavailable(probe)).toBe(true);
    expect(await slots.clearUnavailable(other)).toBe(false);
    expect(await slots.acquire(waiting, EXECUTION)).toEqual({ granted: true });
    expect(await slots.release(waiting)).not.toHaveProperty('unavailableAt');
    expect(await regionalItem()).not.toHaveProperty('unavailableAt');
    expect(await slots.markUnavailable(other)).toBe(true);
  });

  it('lapses the mark when the probe stops probing: the others take slots again, the next refused probes, the first started clears it', async () => {
    const slots = slotsOf(10);
    const [probe, other, next] = [copyOf(), copyOf(), copyOf()];
    expect(await slots.markUnavailable(probe)).toBe(true);
    expect((await slots.acquire(other, EXECUTION)).granted).toBe(false);
    // Only the probe can give up its role.
    expect(await slots.lapseUnavailable(other)).toBe(false);
    expect(await slots.lapseUnavailable(probe)).toBe(true);

    // Taken again, and the copy taking it learns that the mark is still to be cleared.
    expect(await slots.acquire(other, EXECUTION)).toEqual({ granted: true, marked: true });
    expect(isRegionUnavailable((await slots.release(other)).unavailableAt, clock)).toBe(false);
    expect(await slots.markUnavailable(next)).toBe(true);
    expect(await slots.clearUnavailable(next)).toBe(true);
    expect(await slots.acquire(other, EXECUTION)).toEqual({ granted: true });
  });

  it("lapses the probe's mark when its execution ends, and hands its Region's slot to a copy waiting, to probe in its place", async () => {
    const slots = slotsOf(10);
    const [probe, waiter] = [copyOf(), copyOf()];
    const regional = slots.slotsOf(probe).regional.key;
    await ledger().planCopies([probe], EXECUTION);
    await ledger().planCopies([waiter], OTHER_EXECUTION);
    await ledger().claim(probe, 0, 'token', 'run', EXECUTION);
    await ledger().noteUnavailable(probe, 0, { name: 'ServiceUnavailableException', message: 'out' });
    expect(await slots.markUnavailable(probe)).toBe(true);
    await ledger().markQueued(waiter, 0, regional, OTHER_EXECUTION);

    const sfn = new SFNClient({
      endpoint: 'http://127.0.0.1:1',
      region: 'us-east-1',
      credentials: DUMMY_CREDENTIALS,
    });
    // The probe's execution was stopped between two of its tries.
    await releaseExecutionSlots({ ledger: ledger(), sfn, slots }, EXECUTION, {
      recoveryPointArn: probe.recoveryPointArn,
    });
    sfn.destroy();

    expect(
      isRegionUnavailable((await slots.all()).find((slot) => slot.key === regional)?.unavailableAt, clock),
    ).toBe(false);
    expect(await ledger().get(waiter)).not.toHaveProperty('slotQueue');
    expect(Object.values(await slots.holders(regional)).map((h) => h.recoveryPointArn)).toEqual([
      waiter.recoveryPointArn,
    ]);
  });

  it('gives back the hold it takes from inside the queue for a copy granted, copied and ended meanwhile', async () => {
    const slots = slotsOf(10);
    const copy = copyOf();
    const regional = slots.slotsOf(copy).regional.key;
    await ledger().planCopies([copy], EXECUTION);
    await ledger().markQueued(copy, 0, regional, EXECUTION);
    // Once WaitForCopySlot's task has joined, and before it looks: a granter takes the copy out of the queue and
    // wakes it, and its job starts and ends (slots given back).
    const racing = documentClient(endpoint);
    let raced = false;
    racing.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const input = args.input as { UpdateExpression?: string };
        if (!raced && input.UpdateExpression?.includes('ADD #waitingTokens')) {
          raced = true;
          const queued = await ledger().get(copy);
          await ledger().takeWaiting({ ...copy, slotQueue: regional, queuedAt: queued?.queuedAt ?? '' });
          await ledger().markFinal(copy, 0, 'COMPLETED', { executionArn: EXECUTION });
        }
        return result;
      },
      { step: 'initialize', name: 'grantAndEndWhileJoining' },
    );
    const sfn = new SFNClient({
      endpoint: 'http://127.0.0.1:1',
      region: 'us-east-1',
      credentials: DUMMY_CREDENTIALS,
    });
    const deps = {
      ledger: new CopyLedger(racing, tableName, () => new Date(clock)),
      slots,
      sfn,
      backup: undefined as never,
      config: { copyStartPatienceMs: 3_600_000 },
    };
    await waitForCopySlot(deps, copy, 'task-token');
    sfn.destroy();

    expect(raced).toBe(true);
    expect(await ledger().get(copy)).toMatchObject({ status: 'COMPLETED' });
    for (const key of [regional, slots.slotsOf(copy).resource?.key ?? ''])
      expect(await slots.holders(key)).toEqual({});
  });

  it("clears the mark of every vault's overflow slot in the Region, not only the probe's, once AWS starts a copy", async () => {
    const slots = slotsOf(1);
    const [probe, toIsolated, ending] = [copyOf(), copyOf({ destinationVaultArn: DR_ISOLATED }), copyOf()];
    const overflow = slots.slotsOf(toIsolated).overflow?.key;
    expect((await slots.acquire(ending, EXECUTION)).granted).toBe(true);
    // The Region's slot is full, so the copy to dr-isolated took its vault's overflow, and heard the same.
    expect(await slots.acquire(toIsolated, EXECUTION)).toEqual({ granted: true });
    expect(await slots.markUnavailable(probe)).toBe(true);
    await slots.release(toIsolated);
    expect(await slots.markUnavailable(toIsolated)).toBe(false);
    expect((await slots.all()).find((slot) => slot.key === overflow)).toHaveProperty('unavailableAt');

    expect(await slots.clearUnavailable(probe)).toBe(true);
    expect((await slots.all()).filter((slot) => slot.unavailableAt !== undefined)).toEqual([]);
    // So a copy holding that overflow slot that ends hands on the Region's slots: its give reads no mark.
    expect(await slots.acquire(toIsolated, EXECUTION)).toEqual({ granted: true });
    expect(await slots.release(toIsolated)).not.toHaveProperty('unavailableAt');
  });

  it("grants the probe, queued behind its resource's other copy, the slots its Region's mark refuses the others", async () => {
    const slots = slotsOf(10);
    const probe = copyOf();
    const sibling = { ...probe, destinationVaultArn: DR_EAST_2 };
    const waiter = copyOf();
    const resourceKey = slots.slotsOf(probe).resource?.key ?? '';
    // The probe was refused ServiceUnavailable and noted it; its next try found the resource slot busy (the copy
    // of the same recovery point to another Region, started before the mark) and queued for it.
    await ledger().planCopies([probe, waiter], EXECUTION);
    await ledger().claim(probe, 0, 'token', 'run', EXECUTION);
    await ledger().noteUnavailable(probe, 0, { name: 'ServiceUnavailableException', message: 'out' });
    expect(await slots.markUnavailable(probe)).toBe(true);
    await ledger().markQueued(probe, 0, resourceKey, EXECUTION);
    await ledger().markQueued(waiter, 0, resourceKey, EXECUTION);
    expect(await slots.acquire(sibling, EXECUTION, { probing: true })).toEqual({ granted: true });

    const sfn = new SFNClient({
      endpoint: 'http://127.0.0.1:1',
      region: 'us-east-1',
      credentials: DUMMY_CREDENTIALS,
    });
    await freeSlots({ ledger: ledger(), sfn, slots }, sibling);
    sfn.destroy();

    // The probe holds its slots and is out of the queue; the other copy (granted first or not: the granter's pick)
    // still waits, refused by the mark.
    const regional = slots.slotsOf(probe).regional.key;
    expect(Object.values(await slots.holders(regional)).map((h) => h.recoveryPointArn)).toEqual([
      probe.recoveryPointArn,
    ]);
    expect(await ledger().get(probe)).not.toHaveProperty('slotQueue');
    expect(await ledger().get(waiter)).toMatchObject({ status: 'QUEUED', slotQueue: expect.any(String) });
  });

  it('lets a mark lapse once nobody has refreshed it for 10 minutes: slots are taken again, and another copy probes', async () => {
    const slots = slotsOf(10);
    const [probe, other] = [copyOf(), copyOf()];
    expect(await slots.markUnavailable(probe)).toBe(true);
    expect((await slots.acquire(other, EXECUTION)).granted).toBe(false);
    clock += UNAVAILABLE_MARK_MS;
    expect((await slots.acquire(other, EXECUTION)).granted).toBe(true);
    const { unavailableAt } = await slots.release(other);
    expect(isRegionUnavailable(unavailableAt, clock)).toBe(false);
    expect(await slots.markUnavailable(other)).toBe(true);
  });

  it('keeps a queued copy in the place it first took, first come first served', async () => {
    const slots = slotsOf(1);
    const [first, second] = [copyOf(), copyOf()];
    const key = slots.slotsOf(first).regional.key;
    await ledger().markQueued(first, 1, key, EXECUTION);
    clock += 1000;
    await ledger().markQueued(second, 1, key, EXECUTION);
    clock += 1000;
    // The first copy's task came back (its wait timed out) and queued again.
    await ledger().markQueued(first, 1, key, EXECUTION);
    await ledger().addWaitingToken(first, 'token-1');
    await ledger().addWaitingToken(first, 'token-1-again');

    const waiting = await ledger().waiting(key, 10);
    expect(waiting.map((item) => item.recoveryPointArn)).toEqual([
      first.recoveryPointArn,
      second.recoveryPointArn,
    ]);
    // Places only: the granter gets the rest of the copy it takes out of the queue.
    expect(waiting[0]).toEqual({
      recoveryPointArn: first.recoveryPointArn,
      destinationVaultArn: first.destinationVaultArn,
      slotQueue: key,
      queuedAt: '2026-11-23T00:00:00.000Z',
    });
    const item = await ledger().get(first);
    expect(item).toMatchObject({ status: 'QUEUED', queuedAt: '2026-11-23T00:00:00.000Z' });
    expect([...(item?.waitingTokens ?? [])].sort()).toEqual(['token-1', 'token-1-again']);
  });

  it('gives the slot back and queues the copy again when Step Functions does not take the wake-up', async () => {
    const slots = slotsOf(1);
    const copy = copyOf();
    const key = slots.slotsOf(copy).regional.key;
    await ledger().markQueued(copy, 1, key, EXECUTION);
    await ledger().addWaitingToken(copy, 'token');
    // Nothing listens on this port: SendTaskSuccess fails with a connection error.
    const unreachable = new SFNClient({
      endpoint: `http://127.0.0.1:${await freePort()}`,
      region: 'us-east-1',
      credentials: DUMMY_CREDENTIALS,
      maxAttempts: 1,
    });

    await grantWaiting({ ledger: ledger(), sfn: unreachable, slots }, key);
    unreachable.destroy();

    expect(await slots.holders(key)).toEqual({});
    const [queued] = await ledger().waiting(key, 10);
    expect(queued).toMatchObject({
      recoveryPointArn: copy.recoveryPointArn,
      queuedAt: '2026-11-23T00:00:00.000Z',
    });
    expect([...((await ledger().get(copy))?.waitingTokens ?? [])]).toEqual(['token']);
  });
});
