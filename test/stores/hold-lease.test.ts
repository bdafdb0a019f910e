import { afterAll, describe, expect, it, vi } from 'vitest';
import { holdLease } from '../../src/limits/hold-lease.js';
import { createLimiter } from '../../src/limits/limiter.js';
import type { LimitStore } from '../../src/limits/store.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import { createRedisStore } from '../../src/stores/redis.js';
import { createManualClock } from '../../src/time.js';
import { hasRedis, redisUrl } from '../support/redis.js';
import { deleteKeys, inspector, uniquePrefix } from './redis-support.js';

const START = 1_700_000_000_000;
const keyPrefix = uniquePrefix('hold-lease');
const redisStores: LimitStore[] = [];

afterAll(async () => {
  await Promise.all(redisStores.map((store) => store.close?.()));
  if (!hasRedis) return;
  const client = inspector(redisUrl);
  await deleteKeys(client, keyPrefix);
  client.disconnect();
});

const stores: [string, () => LimitStore, boolean][] = [
  ['memory', () => createMemoryStore(), false],
  [
    'redis',
    () => {
      const store = createRedisStore({ url: redisUrl, keyPrefix, logger: false });
      redisStores.push(store);
      return store;
    },
    !hasRedis,
  ],
];

describe.each(stores)('holding a concurrency lease (%s)', (_name, makeStore, skip) => {
  const setup = () => {
    const clock = createManualClock(START);
    const limiter = createLimiter(
      { algorithm: 'concurrency', limit: 1, lease: 1000 },
      { store: makeStore(), clock, prefix: `hold-${Math.random()}` },
    );
    return { clock, limiter };
  };

  it.skipIf(skip)('renews while held, so the slot outlives the lease time; release frees it', async () => {
    const { clock, limiter } = setup();
    const hold = await holdLease(limiter, 'k', { scheduler: clock });
    expect(hold.decision).toMatchObject({ allowed: true, outcome: 'allowed' });
    expect(hold.lease?.expiresAtEpochMs).toBe(START + 1000);
    // Renewed every 333 ms (a third of the lease): at 5 s the slot is still held, its lease 1000 ms from the last
    // renewal. Each renewal is a real round trip on Redis: wait for it before moving the clock on.
    for (let renewal = 1; renewal <= 15; renewal++) {
      await clock.advanceAsync(333);
      await vi.waitFor(() => expect(hold.lease?.expiresAtEpochMs).toBe(START + 333 * renewal + 1000));
    }
    expect(clock.now()).toBeGreaterThan(START + 4000);
    expect(await limiter.take('k')).toMatchObject({ allowed: false, outcome: 'limited' });
    expect(await hold.release()).toBe('released');
    expect(hold.lease).toBeUndefined();
    expect(await hold.release()).toBe('not-held');
    expect(await limiter.take('k')).toMatchObject({ allowed: true });
  });

  it.skipIf(skip)('a holder that stops renewing (a dead process) loses the slot within one lease time', async () => {
    const { clock, limiter } = setup();
    const stalled = await limiter.take('k');
    expect(stalled.lease).toBeDefined();
    await clock.advanceAsync(999);
    expect(await limiter.take('k')).toMatchObject({ allowed: false, retryAfterMs: 1 });
    await clock.advanceAsync(1);
    expect(await limiter.take('k')).toMatchObject({ allowed: true });
    expect(await limiter.renew('k', stalled.lease!)).toEqual({ outcome: 'not-held' });
  });

  it.skipIf(skip)('aborting the call releases the lease', async () => {
    const { clock, limiter } = setup();
    const controller = new AbortController();
    const hold = await holdLease(limiter, 'k', { scheduler: clock, signal: controller.signal });
    controller.abort();
    await clock.advanceAsync(0);
    expect(hold.lease).toBeUndefined();
    expect(await limiter.take('k')).toMatchObject({ allowed: true });
    expect(clock.pendingTimers()).toBe(0);
  });

  it.skipIf(skip)('a refused take holds nothing and renews nothing', async () => {
    const { clock, limiter } = setup();
    const first = await holdLease(limiter, 'k', { scheduler: clock });
    const second = await holdLease(limiter, 'k', { scheduler: clock });
    expect(second.decision).toMatchObject({ allowed: false, retryAfterMs: 1000 });
    expect(second.lease).toBeUndefined();
    expect(await second.release()).toBe('not-held');
    await first.release();
    expect(clock.pendingTimers()).toBe(0);
  });
});
