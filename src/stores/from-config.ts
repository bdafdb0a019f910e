/**
 * The stores a configuration names (`store: memory` or `store: { redis: { url, keyPrefix, username, password } }`):
 * one limit store for every limiter and one budget store for every upstream's pacer, opened at start-up. With
 * Redis, every gateway and client process configured with the same URL and key prefix shares limits and budgets.
 */
import { createMemoryBudgetStore } from '../budget/memory-store.js';
import { createRedisBudgetStore } from '../budget/redis-store.js';
import type { BudgetStore } from '../budget/types.js';
import type { StoreConfig } from '../config/gateway.js';
import { type ResolveSecretOptions, resolveSecret } from '../config/secrets.js';
import type { LimitStore } from '../limits/store.js';
import { createMemoryStore } from './memory.js';
import type { OutageEvent } from './outage.js';
import { createRedisStore } from './redis.js';
import type { StoreLogger } from './store-logger.js';

export interface OpenStoresOptions extends ResolveSecretOptions {
  logger?: StoreLogger | false;
  onOutage?(event: OutageEvent): void;
  /** Redis: the longest one command may take (default 500 ms). */
  commandTimeoutMs?: number;
}

export interface Stores {
  readonly kind: StoreConfig['kind'];
  /** For createLimiter({ store }) (inbound limits). */
  readonly limits: LimitStore;
  /** For createPipeline / createClient({ store }) (pacing); shared stores get the onStoreError fallback there. */
  readonly budgets: BudgetStore;
  close(): Promise<void>;
}

/** Opens the stores of a normalized configuration. The Redis password is read from its secret reference now. */
export function openStores(config: StoreConfig, options: OpenStoresOptions = {}): Stores {
  if (config.kind === 'memory') {
    const limits = createMemoryStore();
    const budgets = createMemoryBudgetStore();
    return {
      kind: 'memory',
      limits,
      budgets,
      async close() {
        await Promise.all([limits.close?.(), budgets.close()]);
      },
    };
  }
  const connection = {
    url: config.url,
    keyPrefix: config.keyPrefix,
    ...(config.username ? { username: config.username } : {}),
    ...(config.password ? { password: resolveSecret(config.password, options) } : {}),
    ...(options.commandTimeoutMs ? { commandTimeoutMs: options.commandTimeoutMs } : {}),
    logger: options.logger,
    onOutage: options.onOutage,
  };
  const limits = createRedisStore(connection);
  const budgets = createRedisBudgetStore(connection);
  return {
    kind: 'redis',
    limits,
    budgets,
    async close() {
      await Promise.all([limits.close(), budgets.close()]);
    },
  };
}
