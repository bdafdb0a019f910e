import { afterAll } from 'vitest';
import { createRedisStore } from '../../src/stores/redis.js';
import { runConformanceSuite } from '../limits/conformance.js';
import { hasRedis, redisUrl } from '../support/redis.js';
import { deleteKeys, inspector, uniquePrefix } from './redis-support.js';

const keyPrefix = uniquePrefix('conformance');

// The foundation's table, unchanged: the Lua port must decide exactly as the pure TypeScript algorithms.
runConformanceSuite('redis', () => createRedisStore({ url: redisUrl, keyPrefix, logger: false }), { skip: !hasRedis });

afterAll(async () => {
  if (!hasRedis) return;
  const client = inspector(redisUrl);
  await deleteKeys(client, keyPrefix);
  client.disconnect();
});
