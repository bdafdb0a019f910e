import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { createLimiter } from '../../src/limits/limiter.js';
import { createRedisStore, type RedisStore } from '../../src/stores/redis.js';
import { hasRedis, redisUrl } from '../support/redis.js';
import {
  clusterSlot,
  commandCalls,
  deleteKeys,
  hasRedisServer,
  inspector,
  keysUnder,
  type OwnRedis,
  startOwnRedis,
  uniquePrefix,
} from './redis-support.js';

const keyPrefix = uniquePrefix('redis-store');

describe('createRedisStore input', () => {
  it('names what is wrong', () => {
    expect(() => createRedisStore(42 as never)).toThrow(InvalidOptionError);
    expect(() => createRedisStore({})).toThrow(/url: expected a Redis URL/);
    expect(() => createRedisStore({ url: redisUrl || 'redis://127.0.0.1:6379', instances: 0 })).toThrow(
      /instances: expected a positive whole number/,
    );
    expect(() => createRedisStore({ client: {} as never })).toThrow(/client: expected an ioredis client/);
  });
});

describe.skipIf(!hasRedis)('the Redis limit store', () => {
  let store: RedisStore;
  const client = hasRedis ? inspector(redisUrl) : undefined;
  beforeAll(() => {
    store = createRedisStore({ url: redisUrl, keyPrefix, logger: false });
  });
  afterAll(async () => {
    await store?.close();
    if (client) {
      await deleteKeys(client, keyPrefix);
      client.disconnect();
    }
  });

  it('keeps one key per policy, tagged with the caller key (one Cluster slot), each expiring with its state', async () => {
    const limiter = createLimiter(
      [
        { algorithm: 'fixed-window', limit: 5, window: '1s', name: 'second' },
        { algorithm: 'sliding-window', limit: 50, window: '1m', name: 'minute' },
        { algorithm: 'sliding-log', limit: 5, window: '2s', name: 'log' },
        { algorithm: 'token-bucket', limit: 10, window: '10s', name: 'bucket' },
        { algorithm: 'leaky-bucket', limit: 10, window: '1s', burst: 3, name: 'leaky' },
        { algorithm: 'concurrency', limit: 2, lease: '3s', name: 'slots' },
      ],
      { store, prefix: 'layout' },
    );
    expect(await limiter.take('user:42')).toMatchObject({ allowed: true });
    const keys = await keysUnder(client!, `${keyPrefix}{user:42}:layout:`);
    expect(keys.map((key) => key.slice(`${keyPrefix}{user:42}:layout:`.length))).toEqual([
      'concurrency:slots',
      'fixed-window:second',
      'leaky-bucket:leaky',
      'sliding-log:log',
      'sliding-window:minute',
      'token-bucket:bucket',
    ]);
    expect(new Set(keys.map((key) => clusterSlot(key))).size).toBe(1);
    // The slot function is Redis's: a few known values (CLUSTER KEYSLOT).
    expect([clusterSlot('foo'), clusterSlot('{user1000}.following'), clusterSlot('123456789')]).toEqual([
      12182, 3443, 12739,
    ]);
    const ttls = Object.fromEntries(
      await Promise.all(keys.map(async (key) => [key.split(':').at(-1), await client!.pttl(key)] as const)),
    );
    // Each lives until its state is equivalent to none: the end of the second, two minutes for the sliding
    // window, the logged unit's window, the bucket's refill of one unit, the lease.
    expect(ttls.second).toBeGreaterThan(0);
    expect(ttls.second).toBeLessThanOrEqual(1000);
    expect(ttls.minute).toBeGreaterThan(60_000);
    expect(ttls.minute).toBeLessThanOrEqual(120_000);
    expect(ttls.log).toBeGreaterThan(1500);
    expect(ttls.log).toBeLessThanOrEqual(2000);
    expect(ttls.bucket).toBeGreaterThan(500);
    expect(ttls.bucket).toBeLessThanOrEqual(1000);
    expect(ttls.leaky).toBeGreaterThan(0);
    expect(ttls.leaky).toBeLessThanOrEqual(100);
    expect(ttls.slots).toBeGreaterThan(2500);
    expect(ttls.slots).toBeLessThanOrEqual(3000);
  });

  it("takes its time from Redis TIME, not the caller's clock", async () => {
    const limiter = createLimiter({ algorithm: 'fixed-window', limit: 10, window: '1m' }, { store, prefix: 'time' });
    const time = async () => {
      const [seconds, microseconds] = await client!.time();
      return Number(seconds) * 1000 + Math.floor(Number(microseconds) / 1000);
    };
    const before = await time();
    const decision = await limiter.take('k');
    const after = await time();
    // resetAfterMs = end of the epoch-aligned minute − the decision's now, which lies between the two readings.
    const windowEnd = (now: number) => Math.floor(now / 60_000) * 60_000 + 60_000;
    expect(decision.resetAfterMs).toBeLessThanOrEqual(windowEnd(before) - before);
    expect(decision.resetAfterMs).toBeGreaterThanOrEqual(windowEnd(after) - after);
  });

  it("a state Redis cannot read is a store failure ('unavailable'), never a rate limit", async () => {
    const limiter = createLimiter(
      { algorithm: 'fixed-window', limit: 10, window: '1m' },
      { store, prefix: 'broken', onStoreError: 'closed' },
    );
    await client!.rpush(`${keyPrefix}{k}:broken:fixed-window:10/60000ms`, 'not a counter');
    const decision = await limiter.take('k');
    expect(decision).toMatchObject({ allowed: false, outcome: 'unavailable', fallback: 'closed' });
    expect(String(decision.error)).toMatch(/WRONGTYPE/);
    expect(
      await createLimiter({ algorithm: 'fixed-window', limit: 10, window: '1m' }, { store }).take('k'),
    ).toMatchObject({ outcome: 'allowed' });
  });
});

describe.skipIf(!hasRedisServer && process.env.CI !== 'true')(
  'round trips (on a Redis of its own, counting commands)',
  () => {
    let own: OwnRedis;
    let admin: Redis;
    let store: RedisStore;
    beforeAll(async () => {
      own = await startOwnRedis();
      admin = inspector(own.url);
      store = createRedisStore({ url: own.url, logger: false, instances: 1 });
    });
    afterAll(async () => {
      await store?.close();
      admin?.disconnect();
      await own?.stop();
    });

    const threePolicies = [
      { algorithm: 'fixed-window', limit: 100, window: '1s', name: 'a' },
      { algorithm: 'token-bucket', limit: 100, window: '1s', name: 'b' },
      { algorithm: 'sliding-window', limit: 100, window: '1m', name: 'c' },
    ] as const;

    it('a decision over three policies is one EVALSHA', async () => {
      const limiter = createLimiter([...threePolicies], { store, prefix: 'one' });
      await limiter.take('warm-up');
      await admin.config('RESETSTAT');
      for (let i = 0; i < 5; i++) await limiter.take('k');
      const calls = await commandCalls(admin);
      expect(calls.evalsha).toBe(5);
      expect(calls.eval).toBeUndefined();
    });

    it('decisions asked in the same tick go out in one call, each decided alone and all-or-nothing', async () => {
      const limiter = createLimiter([...threePolicies], { store, prefix: 'batch' });
      await limiter.take('warm-up');
      await admin.config('RESETSTAT');
      const before = store.stats();
      const decisions = await Promise.all(Array.from({ length: 150 }, (_, index) => limiter.take(`k${index % 30}`)));
      const after = store.stats();
      // 150 decisions, at most 128 per call: two calls.
      expect(after.requests - before.requests).toBe(150);
      expect(after.calls - before.calls).toBe(2);
      expect((await commandCalls(admin)).evalsha).toBe(2);
      // Thirty keys, five takes each: the fifth leaves 95 on the tightest policy, as five separate calls would.
      expect(decisions.every((decision) => decision.allowed)).toBe(true);
      expect(decisions.slice(120).map((decision) => decision.remaining)).toEqual(Array(30).fill(95));
    });

    it('one decision failing in a batch fails alone', async () => {
      const limiter = createLimiter({ algorithm: 'fixed-window', limit: 10, window: '1m' }, { store, prefix: 'alone' });
      await admin.rpush('sluice:{bad}:alone:fixed-window:10/60000ms', 'not a counter');
      const [good, bad] = await Promise.all([limiter.take('good'), limiter.take('bad')]);
      expect(good).toMatchObject({ allowed: true, outcome: 'allowed' });
      expect(bad).toMatchObject({ outcome: 'unavailable' });
      expect(String(bad.error)).toMatch(/WRONGTYPE/);
    });

    it('after a restart (scripts and data gone), NOSCRIPT reloads the script by itself', async () => {
      const limiter = createLimiter(
        { algorithm: 'fixed-window', limit: 10, window: '1m' },
        { store, prefix: 'noscript' },
      );
      expect(await limiter.take('k')).toMatchObject({ outcome: 'allowed', remaining: 9 });
      await admin.script('FLUSH');
      expect(await limiter.take('k')).toMatchObject({ outcome: 'allowed', remaining: 8 });
      expect((await commandCalls(admin)).eval).toBeGreaterThanOrEqual(1);
    });
  },
);
