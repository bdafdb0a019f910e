/**
 * The cache store shared by every instance, in Redis. Each key's variants are one hash; each resource has a set of
 * its keys (in the same hash slot, so one script drops them all, on Redis Cluster too); each upstream has a sorted
 * set of its resource paths, for purges by prefix. Everything expires with the entries it describes.
 *
 * Redis is an optimisation here: when it fails or is slow, reads are misses and writes are dropped (never an error
 * for the call). The client is created with `enableOfflineQueue: false` and a `commandTimeout`, so an outage fails
 * fast instead of queueing.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { InvalidOptionError } from '../errors.js';
import { type CachedVariant, decodeVariant, encodeVariant } from './entry.js';
import { type CacheResource, digest, resourceOfKey } from './key.js';
import { type CacheStore, MAX_VARIANTS_PER_KEY } from './store.js';

export interface RedisCacheStoreOptions {
  /** A client to share (the store does not close it). Give it enableOfflineQueue: false and a commandTimeout. */
  client?: Redis;
  /** Or a URL: the store then owns its own client. */
  url?: string;
  /** Default "sluice:". */
  keyPrefix?: string;
  /** Longest wait for Redis before an operation counts as failed. Default 250 ms. */
  commandTimeoutMs?: number;
  /** Told of every Redis failure (the call goes on as a miss). */
  onError?: (error: unknown) => void;
}

const WRITE_SCRIPT = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('HLEN', KEYS[1]) > tonumber(ARGV[4]) then
  for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
    if field ~= ARGV[1] then redis.call('HDEL', KEYS[1], field) break end
  end
end
local ttl = tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
redis.call('SADD', KEYS[2], KEYS[1])
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
`;

const INVALIDATE_SCRIPT = `
local dropped = 0
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do dropped = dropped + redis.call('DEL', key) end
redis.call('DEL', KEYS[1])
return dropped
`;

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const WRITE_SHA = sha1(WRITE_SCRIPT);
const INVALIDATE_SHA = sha1(INVALIDATE_SCRIPT);

/** Escapes Redis glob characters so that a path prefix matches only itself. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (character) => `\\${character}`);
}

export function createRedisCacheStore(options: RedisCacheStoreOptions): CacheStore {
  const timeoutMs = options.commandTimeoutMs ?? 250;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new InvalidOptionError('commandTimeoutMs', `expected a positive integer, got ${JSON.stringify(timeoutMs)}`);
  }
  if (options.client === undefined && options.url === undefined) {
    throw new InvalidOptionError(
      'redis',
      'give either client (an ioredis client) or url (such as redis://127.0.0.1:6379)',
    );
  }
  const onError = options.onError ?? (() => {});
  const owned = options.client === undefined;
  const client =
    options.client ??
    new Redis(options.url as string, { enableOfflineQueue: false, commandTimeout: timeoutMs, maxRetriesPerRequest: 1 });
  // Without a listener, a connection error would be thrown as an unhandled 'error' event.
  if (owned) client.on('error', onError);
  const prefix = `${options.keyPrefix ?? 'sluice:'}cache:`;
  // Without an offline queue, commands sent before the first connection is up fail at once: the first calls wait
  // for it (at most commandTimeoutMs). Later outages are not waited for; they are misses.
  let connecting: Promise<void> | null =
    client.status === 'ready'
      ? null
      : new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            client.off('ready', done);
            client.off('error', done);
            connecting = null;
            resolve();
          };
          const timer = setTimeout(done, timeoutMs);
          timer.unref?.();
          client.once('ready', done);
          client.once('error', done);
        });

  const slotOf = (resource: CacheResource) => `{${digest(`${resource.upstream} ${resource.path}`)}}`;
  const entryKeyOf = (key: string) => `${prefix}${slotOf(resourceOfKey(key))}:e:${digest(key)}`;
  const indexKeyOf = (resource: CacheResource) => `${prefix}${slotOf(resource)}:keys`;
  const resourcesKeyOf = (upstream: string) => `${prefix}resources:${upstream}`;

  /** Runs a Redis operation; on failure or timeout reports it and answers `fallback`. */
  async function guarded<T>(operation: () => Promise<T>, fallback: T): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      if (connecting) await connecting;
      if (owned) return await operation();
      // A shared client may queue commands while disconnected: bound the wait here too.
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
      });
      return await Promise.race([operation(), timeout]);
    } catch (error) {
      onError(error);
      return fallback;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  async function script(sha: string, source: string, keys: string[], args: Array<string | Buffer | number>) {
    try {
      return await client.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error)?.message).includes('NOSCRIPT')) throw error;
      return await client.eval(source, keys.length, ...keys, ...args);
    }
  }

  async function dropResources(resources: readonly CacheResource[]): Promise<number> {
    const counts = await Promise.all(
      resources.map(async (resource) => {
        const [dropped] = await Promise.all([
          script(INVALIDATE_SHA, INVALIDATE_SCRIPT, [indexKeyOf(resource)], []),
          client.zrem(resourcesKeyOf(resource.upstream), resource.path),
        ]);
        return Number(dropped) || 0;
      }),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }

  return {
    read(keys, nowEpochMs) {
      return guarded(
        () =>
          Promise.all(
            keys.map(async (key) => {
              const fields = await client.hgetallBuffer(entryKeyOf(key));
              const variants: CachedVariant[] = [];
              for (const bytes of Object.values(fields)) {
                const variant = decodeVariant(bytes);
                if (variant && variant.keepUntilEpochMs > nowEpochMs) variants.push(variant);
              }
              return variants;
            }),
          ),
        keys.map(() => []),
      );
    },
    async write(key, resource, variant, nowEpochMs) {
      const ttlMs = Math.ceil(variant.keepUntilEpochMs - nowEpochMs);
      if (ttlMs <= 0) return;
      await guarded(async () => {
        const resources = resourcesKeyOf(resource.upstream);
        await Promise.all([
          script(
            WRITE_SHA,
            WRITE_SCRIPT,
            [entryKeyOf(key), indexKeyOf(resource)],
            [variant.variantId || '-', encodeVariant(variant), ttlMs, MAX_VARIANTS_PER_KEY],
          ),
          client.zadd(resources, 'GT', variant.keepUntilEpochMs, resource.path),
          client.zremrangebyscore(resources, '-inf', `(${nowEpochMs}`),
        ]);
      }, undefined);
    },
    invalidate(resources) {
      return guarded(() => dropResources(resources), 0);
    },
    purgePrefix(upstream, pathPrefix) {
      return guarded(async () => {
        let cursor = '0';
        let count = 0;
        do {
          const [next, flat] = await client.zscan(
            resourcesKeyOf(upstream),
            cursor,
            'MATCH',
            `${escapeGlob(pathPrefix)}*`,
            'COUNT',
            500,
          );
          cursor = next;
          const paths = flat.filter((_, index) => index % 2 === 0);
          if (paths.length > 0) count += await dropResources(paths.map((path) => ({ upstream, path })));
        } while (cursor !== '0');
        return count;
      }, 0);
    },
    claimRefresh(key, ttlMs) {
      // When Redis cannot say, refresh anyway: this process still refreshes each key once (the stage sees to it).
      return guarded(
        async () => (await client.set(`${prefix}refresh:${digest(key)}`, '1', 'PX', ttlMs, 'NX')) === 'OK',
        true,
      );
    },
    async releaseRefresh(key) {
      await guarded(() => client.del(`${prefix}refresh:${digest(key)}`), 0);
    },
    async close() {
      if (owned) client.disconnect();
    },
  };
}
