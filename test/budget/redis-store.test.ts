import { afterAll, describe } from 'vitest';
import { createRedisBudgetStore } from '../../src/budget/redis-store.js';
import { deleteKeys, inspector, uniquePrefix } from '../stores/redis-support.js';
import { hasRedis, redisUrl } from '../support/redis.js';
import { runBudgetConformance } from './conformance.js';

const keyPrefix = uniquePrefix('budget-conformance');
let scenario = 0;

// The budget conformance table, unchanged: the shared store decides exactly like the memory store.
describe.skipIf(!hasRedis)('on Redis', () => {
  runBudgetConformance('redis', () =>
    createRedisBudgetStore({ url: redisUrl, keyPrefix: `${keyPrefix}${scenario++}:`, logger: false }),
  );
});

afterAll(async () => {
  if (!hasRedis) return;
  const client = inspector(redisUrl);
  await deleteKeys(client, keyPrefix);
  client.disconnect();
});
