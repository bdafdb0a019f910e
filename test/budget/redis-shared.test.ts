/**
 * What sharing budgets through Redis means, with two stores standing for two processes (each its own connection
 * and holder identity): a 429 seen by one pauses both, what one learns the other uses, the last unit is spent once,
 * and the reservations of a holder that is gone stop counting.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRedisBudgetStore, type RedisBudgetStore } from '../../src/budget/redis-store.js';
import type { AdmitDecision, BudgetKey, ConfiguredLimit, Observation } from '../../src/budget/types.js';
import { defaultBudgetPolicy } from '../../src/budget/types.js';
import { InvalidOptionError } from '../../src/errors.js';
import { deleteKeys, inspector, keysUnder, uniquePrefix } from '../stores/redis-support.js';
import { hasRedis, redisUrl } from '../support/redis.js';
import { signalOf } from './signal-builder.js';

const T0 = 1_700_000_000_000;
const filePrefix = uniquePrefix('budget-shared');
let scenario = 0;
const open: RedisBudgetStore[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close()));
});

afterAll(async () => {
  if (!hasRedis) return;
  const client = inspector(redisUrl);
  await deleteKeys(client, filePrefix);
  client.disconnect();
});

/** Two "processes" on one prefix. */
function pair(): [RedisBudgetStore, RedisBudgetStore, string] {
  const keyPrefix = `${filePrefix}${scenario++}:`;
  const make = () => createRedisBudgetStore({ url: redisUrl, keyPrefix, logger: false });
  const stores: [RedisBudgetStore, RedisBudgetStore] = [make(), make()];
  open.push(...stores);
  return [...stores, keyPrefix];
}

const at = (ms: number) => ({ nowEpochMs: T0 + ms, policy: defaultBudgetPolicy });
const observation = (signal: Observation['signal'], ms: number, extra: Partial<Observation> = {}): Observation => ({
  signal,
  signalKey: 'github|team',
  rejected: false,
  model: 'window',
  ...at(ms),
  ...extra,
});
const credential: BudgetKey[] = [{ key: 'github|team' }];

describe.skipIf(!hasRedis)('budgets shared through Redis', () => {
  it('a 429 seen by one process pauses the budget for the other', async () => {
    const [one, two] = pair();
    await one.observe(observation(signalOf({ limited: true, retryAfterMs: 2000 }), 0, { rejected: true }));
    expect(await two.admit(credential, {}, at(10))).toMatchObject({ admitted: false, waitMs: 1990 });
    expect(await two.admit(credential, {}, at(2000))).toMatchObject({ admitted: true });
  });

  it('what one process learns of remaining and reset paces the other', async () => {
    const [one, two] = pair();
    const window = (remaining: number) =>
      signalOf({ limits: [{ name: 'requests', limit: 10, remaining, resetAtEpochMs: T0 + 1000 }] });
    await one.observe(observation(window(10), 0));
    expect(await two.admit(credential, {}, at(0))).toMatchObject({ admitted: true });
    // Nine left over 1000 ms: the next call, from either process, goes 100 ms later.
    expect(await one.admit(credential, {}, at(0))).toMatchObject({ admitted: false, waitMs: 100 });
    expect(await one.admit(credential, {}, at(100))).toMatchObject({ admitted: true });
    expect(await two.admit(credential, {}, at(100))).toMatchObject({ admitted: false, waitMs: 100 });
  });

  it('two processes racing for the last unit: exactly one gets it', async () => {
    const [one, two] = pair();
    const lastUnit = signalOf({
      limits: [{ name: 'requests', limit: 100, remaining: 1, resetAtEpochMs: T0 + 60_000 }],
    });
    await one.observe(observation(lastUnit, 0));
    const racers = Array.from({ length: 40 }, (_, index) => (index % 2 === 0 ? one : two));
    const decisions = await Promise.all(racers.map((store) => store.admit(credential, {}, at(5))));
    expect(decisions.filter((decision) => decision.admitted)).toHaveLength(1);
    // Each process decides its waiting callers together; the two processes' writes collide and are redone.
    expect(one.stats().batches + two.stats().batches).toBeLessThan(40);
  });

  it('a burst of callers in one process is decided in few round trips, in order, never over the limit', async () => {
    const [one] = pair();
    const bucket: ConfiguredLimit[] = [{ name: 'rate', unit: 'requests', model: 'bucket', limit: 10, windowMs: 1000 }];
    const keys: BudgetKey[] = [{ key: 'openai|team', configured: bucket }];
    const decisions = await Promise.all(Array.from({ length: 30 }, () => one.admit(keys, {}, at(0))));
    expect(decisions.filter((decision) => decision.admitted)).toHaveLength(10);
    expect(decisions.slice(0, 10).every((decision) => decision.admitted)).toBe(true);
    expect(one.stats().roundTrips).toBeLessThan(30);
  });

  it('under heavy contention every process gets its turn: no decision fails, none is lost', async () => {
    const [one, two] = pair();
    const bucket: ConfiguredLimit[] = [
      { name: 'rate', unit: 'requests', model: 'bucket', limit: 1_000_000, windowMs: 1000 },
    ];
    const keys: BudgetKey[] = [{ key: 'api|team', configured: bucket }];
    const hammer = (store: RedisBudgetStore) =>
      Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let call = 0; call < 25; call++) {
            const decision = await store.admit(keys, {});
            if (!decision.admitted) throw new Error(`refused: ${decision.why}`);
            await store.observe(
              { signal: null, signalKey: null, rejected: false, model: 'bucket' },
              { reservation: decision.reservation },
            );
          }
        }),
      );
    await Promise.all([hammer(one), hammer(two)]);
    const snapshot = await one.snapshot();
    // Every admit counted once (the sequence), every reservation settled (nothing in flight).
    expect(snapshot['api|team']?.sequence).toBe(400);
    expect(snapshot['api|team']?.inFlight).toEqual({ requests: 0 });
    expect(one.stats().down || two.stats().down).toBe(false);
  });

  it('a write lock left by a process that died lapses by itself', async () => {
    const [one, , keyPrefix] = pair();
    const client = inspector(redisUrl);
    try {
      await client.set(`${keyPrefix}budget-lock:{api}`, 'a-dead-process', 'PX', 150);
      const startedAt = Date.now();
      expect(await one.admit([{ key: 'api|team' }], {}, at(0))).toMatchObject({ admitted: true });
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(100);
    } finally {
      client.disconnect();
    }
  });

  it('the reservations of a holder that is gone are settled by the next decision', async () => {
    const [one, two] = pair();
    const slot: ConfiguredLimit[] = [
      { name: 'slots', unit: 'concurrency', model: 'concurrency', limit: 1, windowMs: 1 },
    ];
    const keys: BudgetKey[] = [{ key: 'api|team', configured: slot }];
    expect(await one.admit(keys, {}, at(0))).toMatchObject({ admitted: true });
    expect(await two.admit(keys, {}, at(0))).toMatchObject({ admitted: false });
    // The first holder leaves the registry without settling (a process whose heartbeat lapsed looks the same).
    await one.close();
    expect(await two.admit(keys, {}, at(1))).toMatchObject({ admitted: true });
    expect(two.stats().reclaimed).toBe(1);
  });

  it('a settlement that arrives after its reservation was reclaimed is not counted twice', async () => {
    const keyPrefix = `${filePrefix}${scenario++}:`;
    const make = (maxHoldMs?: number) => createRedisBudgetStore({ url: redisUrl, keyPrefix, logger: false, maxHoldMs });
    const one = make(1000);
    open.push(one);
    const slots: ConfiguredLimit[] = [
      { name: 'slots', unit: 'concurrency', model: 'concurrency', limit: 2, windowMs: 1 },
    ];
    const keys: BudgetKey[] = [{ key: 'api|team', configured: slots }];
    const first = (await one.admit(keys, {}, at(0))) as Extract<AdmitDecision, { admitted: true }>;
    // Held longer than maxHoldMs: its outcome is presumed lost and its slot given back.
    expect(await one.admit(keys, {}, at(1000))).toMatchObject({ admitted: true });
    expect(one.stats().reclaimed).toBe(1);
    await one.observe(observation(null, 1001, { signalKey: null }), { reservation: first.reservation });
    // One slot is held (the second call): had the late settlement freed another, two more would pass.
    expect(await one.admit(keys, {}, at(1002))).toMatchObject({ admitted: true });
    expect(await one.admit(keys, {}, at(1002))).toMatchObject({ admitted: false });
  });

  it('takes its time from Redis TIME when no clock is injected', async () => {
    const [one] = pair();
    const before = await redisTime();
    const decision = await one.admit(credential, {});
    const after = await redisTime();
    expect(decision.admitted).toBe(true);
    if (!decision.admitted) return;
    expect(decision.reservation.admittedAtEpochMs).toBeGreaterThanOrEqual(before);
    expect(decision.reservation.admittedAtEpochMs).toBeLessThanOrEqual(after);
  });

  it('keeps one hash tag per call, an expiry on every key, and shows its budgets', async () => {
    const [one, , keyPrefix] = pair();
    await one.admit([{ key: 'github|team' }, { key: 'github|team|resource:search' }], {}, at(0));
    const client = inspector(redisUrl);
    try {
      const keys = await keysUnder(client, keyPrefix);
      expect(keys).toEqual([
        `${keyPrefix}budget-holders:{github}`,
        `${keyPrefix}budget:{github}:github|team`,
        `${keyPrefix}budget:{github}:github|team|resource:search`,
        `${keyPrefix}instances`,
      ]);
      for (const key of keys) expect(await client.pttl(key), key).toBeGreaterThan(0);
    } finally {
      client.disconnect();
    }
    const snapshot = await one.snapshot();
    expect(Object.keys(snapshot).sort()).toEqual(['github|team', 'github|team|resource:search']);
    expect(snapshot['github|team']?.inFlight).toEqual({ requests: 1 });
    await expect(one.admit([{ key: 'github|a' }, { key: 'gitlab|b' }], {})).rejects.toThrow(InvalidOptionError);
  });
});

async function redisTime(): Promise<number> {
  const client = inspector(redisUrl);
  try {
    const [seconds, microseconds] = await client.time();
    return Number(seconds) * 1000 + Math.floor(Number(microseconds) / 1000);
  } finally {
    client.disconnect();
  }
}
