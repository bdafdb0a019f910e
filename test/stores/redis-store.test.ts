import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { createLimiter } from '../../src/limits/limiter.js';
import { createRedisStore, type RedisStore } from '../../src/stores/redis.js';
import { hasRedis, redisUrl } from '../support/redis.js';
import { clusterSlot, deleteKeys, inspector, keysUnder, uniquePrefix } from './redis-support.js';

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

  it('decides every policy of a decision in one command: one EVALSHA per take', async () => {
    const limiter = createLimiter(
      [
        { algorithm: 'fixed-window', limit: 100, window: '1s', name: 'a' },
        { algorithm: 'token-bucket', limit: 100, window: '1s', name: 'b' },
        { algorithm: 'sliding-window', limit: 100, window: '1m', name: 'c' },
      ],
      { store, prefix: 'round-trip' },
    );
    await limiter.take('warm-up');
    const watcher = inspector(redisUrl);
    const monitor = await watcher.monitor();
    const seen: string[][] = [];
    // Commands the script itself runs show with source "lua": only what clients send counts as a round trip.
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua' && args.some((arg) => arg.startsWith(`${keyPrefix}{once}`))) seen.push(args);
    });
    try {
      for (let i = 0; i < 5; i++) await limiter.take('once');
      // MONITOR reports asynchronously: wait for the five commands (and a moment for any stray one).
      for (let wait = 0; wait < 100 && seen.length < 5; wait++) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      monitor.disconnect();
      watcher.disconnect();
    }
    expect(seen.map((args) => [args[0]?.toLowerCase(), args[2]])).toEqual(Array(5).fill(['evalsha', '3']));
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
