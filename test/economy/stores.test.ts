import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CachedVariant } from '../../src/cache/entry.js';
import { entryKey } from '../../src/cache/key.js';
import { createMemoryCacheStore } from '../../src/cache/memory-store.js';
import { createRedisCacheStore } from '../../src/cache/redis-store.js';
import type { CacheStore } from '../../src/cache/store.js';
import { createClient } from '../../src/client/create-client.js';
import { createManualClock } from '../../src/time.js';
import { drive } from '../support/drive.js';
import { hasRedis, redisUrl } from '../support/redis.js';
import { startUpstream } from './support.js';

const NOW = 1_700_000_000_000;
const PREFIX = `sluice-test-economy-${process.pid}:`;

function variant(body: string, overrides: Partial<CachedVariant> = {}): CachedVariant {
  return {
    variantId: '',
    vary: [],
    status: 200,
    headers: { 'content-type': 'text/plain' },
    body: Buffer.from(body),
    freshness: {
      responseAtEpochMs: NOW,
      initialAgeMs: 0,
      lifetimeMs: 60_000,
      staleWhileRevalidateMs: 0,
      staleIfErrorMs: 0,
      staleIfRateLimitedMs: 0,
      revalidateAlways: false,
      neverStale: false,
    },
    keepUntilEpochMs: NOW + 60_000,
    ...overrides,
  };
}

const key = (path: string, partition = 'p1', upstream = 'api') => entryKey(upstream, partition, path);
const resource = (path: string, upstream = 'api') => ({ upstream, path: path.split('?')[0] as string });
const bodies = (lists: CachedVariant[][]) => lists.map((list) => list.map((item) => Buffer.from(item.body).toString()));

async function put(
  store: CacheStore,
  path: string,
  body: string,
  options: { partition?: string; upstream?: string } = {},
) {
  await store.write(
    key(path, options.partition, options.upstream),
    resource(path, options.upstream),
    variant(body),
    NOW,
  );
}

/** The same scenarios, with the same expected results, for every store. */
function conformance(name: string, make: () => CacheStore, enabled = true) {
  describe.skipIf(!enabled)(`${name} cache store`, () => {
    const stores: CacheStore[] = [];
    const create = () => {
      const store = make();
      stores.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of stores.splice(0)) {
        await store.purgePrefix('api', '/');
        await store.purgePrefix('other', '/');
        await store.close();
      }
    });

    it('reads what was written, per key, variants replaced by id', async () => {
      const store = create();
      await put(store, '/a', 'one');
      await store.write(key('/a'), resource('/a'), variant('json', { variantId: 'j', vary: ['accept'] }), NOW);
      await store.write(key('/a'), resource('/a'), variant('two'), NOW);
      const [a, b] = await store.read([key('/a'), key('/b')], NOW);
      expect(bodies([a ?? []])[0]?.sort()).toEqual(['json', 'two']);
      expect(b).toEqual([]);
      const read = a?.find((item) => item.variantId === 'j');
      expect(read?.vary).toEqual(['accept']);
      expect(read?.freshness.lifetimeMs).toBe(60_000);
    });

    it('drops variants past their keepUntil', async () => {
      const store = create();
      await store.write(key('/short'), resource('/short'), variant('x', { keepUntilEpochMs: NOW + 1000 }), NOW);
      expect(bodies(await store.read([key('/short')], NOW + 999))).toEqual([['x']]);
      expect(bodies(await store.read([key('/short')], NOW + 1000))).toEqual([[]]);
    });

    it('invalidates a resource in every partition and query, and nothing else', async () => {
      const store = create();
      await put(store, '/users/1', 'a', { partition: 'p1' });
      await put(store, '/users/1', 'b', { partition: 'p2' });
      await put(store, '/users/1?fields=x', 'c');
      await put(store, '/users/10', 'd');
      await put(store, '/users/1', 'e', { upstream: 'other' });
      expect(await store.invalidate([resource('/users/1')])).toBe(3);
      const read = await store.read(
        [
          key('/users/1', 'p1'),
          key('/users/1', 'p2'),
          key('/users/1?fields=x'),
          key('/users/10'),
          key('/users/1', 'p1', 'other'),
        ],
        NOW,
      );
      expect(bodies(read)).toEqual([[], [], [], ['d'], ['e']]);
    });

    it('purges by path prefix, literally (no glob)', async () => {
      const store = create();
      for (const path of ['/repos/a/x', '/repos/a/y', '/repos/ab', '/repos/*', '/other']) await put(store, path, path);
      expect(await store.purgePrefix('api', '/repos/a/')).toBe(2);
      expect(await store.purgePrefix('api', '/repos/*')).toBe(1);
      const read = await store.read(
        ['/repos/a/x', '/repos/a/y', '/repos/ab', '/repos/*', '/other'].map((path) => key(path)),
        NOW,
      );
      expect(bodies(read)).toEqual([[], [], ['/repos/ab'], [], ['/other']]);
    });

    it('gives a refresh to one claimant at a time, until released or expired', async () => {
      const first = create();
      const second = name === 'memory' ? first : create();
      expect(await first.claimRefresh(key('/r'), 30_000, NOW)).toBe(true);
      expect(await second.claimRefresh(key('/r'), 30_000, NOW)).toBe(false);
      await first.releaseRefresh(key('/r'));
      expect(await second.claimRefresh(key('/r'), 30_000, NOW)).toBe(true);
      await second.releaseRefresh(key('/r'));
    });
  });
}

conformance('memory', () => createMemoryCacheStore());
conformance('redis', () => createRedisCacheStore({ url: redisUrl, keyPrefix: PREFIX }), hasRedis);

describe('the memory cache store', () => {
  it('is bounded in bytes: the least recently used entries go first', async () => {
    const store = createMemoryCacheStore({ maxBytes: 10_000 });
    for (const path of ['/1', '/2', '/3']) await put(store, path, 'x'.repeat(3000));
    await store.read([key('/1')], NOW);
    await put(store, '/4', 'x'.repeat(3000));
    const present = (
      await store.read(
        ['/1', '/2', '/3', '/4'].map((path) => key(path)),
        NOW,
      )
    ).map((list) => list.length);
    expect(present).toEqual([1, 0, 1, 1]);
    expect(store.size().bytes).toBeLessThanOrEqual(10_000);
    // Evicted keys leave the resource index too.
    expect(await store.invalidate([resource('/2')])).toBe(0);
  });

  it('is bounded in entries, and refuses an entry larger than its whole size', async () => {
    const store = createMemoryCacheStore({ maxEntries: 2, maxBytes: 5000 });
    for (const path of ['/1', '/2', '/3']) await put(store, path, 'y');
    expect(store.size().entries).toBe(2);
    await put(store, '/huge', 'z'.repeat(6000));
    expect(await store.read([key('/huge')], NOW)).toEqual([[]]);
  });

  it('refuses bad bounds with the option named', () => {
    expect(() => createMemoryCacheStore({ maxBytes: 0 })).toThrow('cache.maxBytes: expected a positive integer, got 0');
  });
});

describe.skipIf(!hasRedis)('the Redis cache store', () => {
  const admin = hasRedis ? new Redis(redisUrl) : null;
  afterAll(async () => {
    const keys = (await admin?.keys(`${PREFIX}*`)) ?? [];
    if (keys.length > 0) await admin?.del(...keys);
    admin?.disconnect();
  });

  it('lets entries expire in Redis with the entry', async () => {
    const store = createRedisCacheStore({ url: redisUrl, keyPrefix: PREFIX });
    await store.write(key('/ttl'), resource('/ttl'), variant('t', { keepUntilEpochMs: NOW + 5000 }), NOW);
    const keys = (await admin?.keys(`${PREFIX}cache:{*`)) ?? [];
    expect(keys.length).toBeGreaterThan(0);
    for (const name of keys) {
      const ttl = (await admin?.pttl(name)) ?? -1;
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(3_600_000 + 5000);
    }
    expect(keys.join(' ')).not.toContain('/ttl');
    await store.invalidate([resource('/ttl')]);
    await store.close();
  });

  it('degrades to misses when Redis is down: no call fails, and the failures are reported', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as { port: number };
        server.close(() => resolve(free));
      });
    });
    const errors: unknown[] = [];
    const store = createRedisCacheStore({ url: `redis://127.0.0.1:${port}`, onError: (error) => errors.push(error) });
    expect(await store.read([key('/x')], NOW)).toEqual([[]]);
    await store.write(key('/x'), resource('/x'), variant('x'), NOW);
    expect(await store.invalidate([resource('/x')])).toBe(0);
    expect(await store.purgePrefix('api', '/')).toBe(0);
    expect(await store.claimRefresh(key('/x'), 1000, NOW)).toBe(true);
    expect(errors.length).toBeGreaterThanOrEqual(4);

    const clock = createManualClock(NOW);
    const upstream = await startUpstream(clock, () => ({ headers: { 'cache-control': 'max-age=60' }, body: 'fine' }));
    const client = createClient({ baseUrl: upstream.url, clock, cache: { enabled: true }, cacheStore: store });
    const responses = await drive(clock, Promise.all([client.fetch('/a'), client.fetch('/a')]));
    expect(await Promise.all(responses.map((response) => response.text()))).toEqual(['fine', 'fine']);
    await client.close();
    await upstream.close();
    await store.close();
  });

  it('is shared: an entry one client stored answers another client (another process)', async () => {
    const clock = createManualClock(NOW);
    const upstream = await startUpstream(clock, () => ({ headers: { 'cache-control': 'max-age=60' }, body: 'shared' }));
    const make = () =>
      createClient({
        baseUrl: upstream.url,
        name: 'shared-api',
        clock,
        cache: { enabled: true },
        cacheStore: createRedisCacheStore({ url: redisUrl, keyPrefix: PREFIX }),
      });
    const [first, second] = [make(), make()];
    await drive(
      clock,
      first.fetch('/doc').then((response) => response.text()),
    );
    const response = await drive(clock, second.fetch('/doc'));
    expect(await response.text()).toBe('shared');
    expect(response.headers.get('cache-status')).toBe('sluice; hit; ttl=60');
    expect(upstream.requests).toHaveLength(1);
    // A write through the second client invalidates for the first too.
    await drive(
      clock,
      second.fetch('/doc', { method: 'PUT', body: 'x' }).then((put) => put.text()),
    );
    await drive(
      clock,
      first.fetch('/doc').then((again) => again.text()),
    );
    expect(upstream.requests).toHaveLength(3);
    await second.pipeline.cache?.store.close();
    await first.pipeline.cache?.store.close();
    await first.close();
    await second.close();
    await upstream.close();
  });
});
