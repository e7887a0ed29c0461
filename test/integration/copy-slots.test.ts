import { randomUUID } from 'node:crypto';
import { SFNClient } from '@aws-sdk/client-sfn';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { CopySlots } from '../../lib/aws/copy-slots.js';
import { grantFreeSlots } from '../../lib/copy.js';
import {
  createLedgerTable,
  DUMMY_CREDENTIALS,
  documentClient,
  freePort,
} from '../../local/dynamodb-local.js';

const LEASE_MS = 3_600_000;

describe('copy slots (DynamoDB Local)', () => {
  const endpoint = inject('dynamoDbEndpoint');
  const documents = documentClient(endpoint);
  let tableName: string;
  let clock: number;
  const slotsOf = (limit: number) => new CopySlots(documents, tableName, limit, LEASE_MS, () => clock);

  beforeEach(async () => {
    tableName = `copy-slots-${randomUUID()}`;
    clock = Date.parse('2026-11-23T00:00:00Z');
    await createLedgerTable(endpoint, tableName);
  });

  it('holds at most `limit` slots, one per holder however often it acquires', async () => {
    const slots = slotsOf(2);
    expect(await slots.acquire('a')).toBe(true);
    expect(await slots.acquire('a')).toBe(true);
    expect(await slots.acquire('b')).toBe(true);
    expect(await slots.acquire('c')).toBe(false);
    await slots.release('a');
    expect(await slots.acquire('c')).toBe(true);
    expect(Object.keys((await slots.holders()) ?? {}).sort()).toEqual(['b', 'c']);
  });

  it('frees a slot whose lease expired, but keeps a lease that was renewed', async () => {
    const slots = slotsOf(1);
    await slots.acquire('dead');
    clock += LEASE_MS;
    expect(await slots.acquire('live')).toBe(true);
    const firstLease = (await slots.holders())?.live;
    clock += 1000;
    await slots.acquire('live');
    await slots.release('live', firstLease);
    expect(Object.keys((await slots.holders()) ?? {})).toEqual(['live']);
  });

  it('keeps a copy in the place it first queued when its task queues again', async () => {
    const slots = slotsOf(1);
    await slots.enqueue('first', 'token-1');
    clock += 1000;
    await slots.enqueue('second', 'token-2');
    clock += 1000;
    // The first copy's task timed out and came back with a new token.
    await slots.enqueue('first', 'token-1-again');

    const waiting = await slots.waiting(10);
    expect(waiting.map((entry) => entry.holder)).toEqual(['first', 'second']);
    expect(waiting[0]?.taskTokens).toEqual(['token-1', 'token-1-again']);
  });

  it('gives a slot to exactly one of several granters racing for the same waiting copy', async () => {
    const slots = slotsOf(1);
    await slots.enqueue('waiting', 'token');
    const [entry] = await slots.waiting(1);
    if (!entry) throw new Error('nothing queued');

    const grants = await Promise.all(Array.from({ length: 8 }, () => slotsOf(1).grant(entry)));

    expect(grants.filter((grant) => grant.outcome === 'granted')).toEqual([
      { outcome: 'granted', taskTokens: ['token'], expiresAt: clock + LEASE_MS },
    ]);
    // The others found the entry gone or the slot taken; none of them woke the copy's tasks as well.
    expect(grants.filter((grant) => 'taskTokens' in grant)).toHaveLength(1);
    expect(await slots.waiting(10)).toEqual([]);
    expect(Object.keys((await slots.holders()) ?? {})).toEqual(['waiting']);
  });

  it('wakes a task that joined the entry after the granter read it', async () => {
    const slots = slotsOf(1);
    await slots.enqueue('copy', 'token-a');
    const [seen] = await slots.waiting(1);
    if (!seen) throw new Error('nothing queued');
    await slots.enqueue('copy', 'token-b');

    expect(await slots.grant(seen)).toEqual({
      outcome: 'granted',
      taskTokens: ['token-a', 'token-b'],
      expiresAt: clock + LEASE_MS,
    });
  });

  it('takes no slot while all are held, and leaves the copy queued', async () => {
    const slots = slotsOf(1);
    await slots.acquire('running');
    await slots.enqueue('waiting', 'token');
    const [entry] = await slots.waiting(1);
    if (!entry) throw new Error('nothing queued');

    expect(await slots.grant(entry)).toEqual({ outcome: 'full' });
    expect((await slots.waiting(10)).map((queued) => queued.holder)).toEqual(['waiting']);
  });

  it('hands the tasks of a queued copy that meanwhile got a slot another way to be woken, taking nothing', async () => {
    const slots = slotsOf(2);
    await slots.enqueue('copy', 'token-queued');
    await slots.acquire('copy');
    const [entry] = await slots.waiting(1);
    if (!entry) throw new Error('nothing queued');

    expect(await slots.grant(entry)).toEqual({ outcome: 'held', taskTokens: ['token-queued'] });
    expect(Object.keys((await slots.holders()) ?? {})).toEqual(['copy']);
    expect(await slots.waiting(10)).toEqual([]);
    // Its place went with the entry: queueing again starts at the back.
    await slots.enqueue('other', 'token-other');
    clock += 1000;
    await slots.enqueue('copy', 'token-later');
    expect((await slots.waiting(10)).map((queued) => queued.holder)).toEqual(['other', 'copy']);
  });

  it('gives the slot back and queues the tasks again when Step Functions does not take the wake-up', async () => {
    const slots = slotsOf(1);
    await slots.enqueue('copy', 'token');
    // Nothing listens on this port: SendTaskSuccess fails with a connection error.
    const unreachable = new SFNClient({
      endpoint: `http://127.0.0.1:${await freePort()}`,
      region: 'us-east-1',
      credentials: DUMMY_CREDENTIALS,
      maxAttempts: 1,
    });

    await grantFreeSlots(slots, unreachable);
    unreachable.destroy();

    expect(await slots.holders()).toEqual({});
    expect(await slots.waiting(10)).toEqual([
      expect.objectContaining({ holder: 'copy', taskTokens: ['token'] }),
    ]);
  });
});
