import { afterAll, describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/problems.js';
import { createLimiter } from '../../src/limits/limiter.js';
import { openStores } from '../../src/stores/from-config.js';
import { hasRedis, redisUrl } from '../support/redis.js';
import { deleteKeys, inspector, keysUnder, uniquePrefix } from './redis-support.js';

const keyPrefix = uniquePrefix('from-config');
const upstreams = { api: { url: 'https://api.example.com' } };

afterAll(async () => {
  if (!hasRedis) return;
  const client = inspector(redisUrl);
  await deleteKeys(client, keyPrefix);
  client.disconnect();
});

describe('stores from the configuration', () => {
  it('memory: one process', async () => {
    const stores = openStores(normalizeConfig({ upstreams }).store);
    expect(stores.kind).toBe('memory');
    const limiter = createLimiter({ algorithm: 'fixed-window', limit: 1, window: '1m' }, { store: stores.limits });
    expect(await limiter.take('k')).toMatchObject({ allowed: true });
    expect(await limiter.take('k')).toMatchObject({ allowed: false });
    await stores.close();
  });

  it.skipIf(!hasRedis)(
    'store: { redis: { url, keyPrefix } } shares limits between every process on that Redis',
    async () => {
      const config = normalizeConfig({ store: { redis: { url: redisUrl, keyPrefix } }, upstreams });
      const [one, two] = [openStores(config.store, { logger: false }), openStores(config.store, { logger: false })];
      try {
        expect(one.kind).toBe('redis');
        expect(one.budgets.shared).toBe(true);
        const policy = { algorithm: 'fixed-window', limit: 1, window: '1m' } as const;
        expect(await createLimiter(policy, { store: one.limits }).take('k')).toMatchObject({ allowed: true });
        expect(await createLimiter(policy, { store: two.limits }).take('k')).toMatchObject({
          allowed: false,
          outcome: 'limited',
        });
        const client = inspector(redisUrl);
        expect((await keysUnder(client, keyPrefix)).some((key) => key.includes('{k}'))).toBe(true);
        client.disconnect();
      } finally {
        await Promise.all([one.close(), two.close()]);
      }
    },
  );

  it('reads the Redis password from its secret reference, and says which one is missing', () => {
    const config = normalizeConfig({
      store: { redis: { url: 'redis://127.0.0.1:6379', password: { env: 'SLUICE_TEST_REDIS_PASSWORD' } } },
      upstreams,
    });
    expect(() => openStores(config.store, { env: {} })).toThrow(ConfigError);
    expect(() => openStores(config.store, { env: {} })).toThrow(/SLUICE_TEST_REDIS_PASSWORD is not set/);
  });
});
