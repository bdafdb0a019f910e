/**
 * The limit store on Redis: every limiter decision is one EVALSHA of one Lua script (src/stores/redis/*.lua, a
 * port of the pure algorithms in src/limits/) that reads, decides and writes every policy of the key atomically,
 * in one round trip. Time is Redis `TIME`, one reading per decision, so every process agrees; a request carrying
 * `nowEpochMs` (an injected clock: tests) is decided at that time instead.
 *
 * Keys: `<keyPrefix>{<key>}:<policy id>`. The caller's key is the hash tag, so all policies of one key live in one
 * Cluster slot and one script may touch them all; every key expires when its state is equivalent to none.
 *
 * When Redis does not answer, `evaluate` rejects (fast: no offline queue, short command timeouts, and once it is
 * known to be down, at once, while a background PING probes it every second) and the limiter applies its
 * `onStoreError` policy; the outage is logged and counted once. Instances renew a heartbeat, so `localShare()` is 1 / the live instances: the share of
 * each limit the limiter's 'local' fallback may use alone.
 */
import { randomUUID } from 'node:crypto';
import { InvalidOptionError, SluiceError } from '../errors.js';
import type { LimitStore, StoreRequest } from '../limits/store.js';
import type { Algorithm, CompiledPolicy, PolicyResult } from '../limits/types.js';
import type { Clock } from '../time.js';
import { createOutageMonitor, isErrorReply, type OutageEvent, type OutageStats } from './outage.js';
import {
  connectionOptionsOf,
  openRedisConnection,
  type RedisClient,
  type RedisConnection,
  type RedisConnectionOptions,
} from './redis/connection.js';
import { createPresence, PROCESS_INSTANCE_ID, type Presence } from './redis/presence.js';
import { LIMITS_SCRIPT } from './redis/scripts.js';
import type { StoreLogger } from './store-logger.js';

export interface RedisStoreOptions extends RedisConnectionOptions {
  /** Prefix of every key (default "sluice:"). */
  keyPrefix?: string;
  /** N, the number of instances sharing the limits, when known; otherwise it is counted by heartbeat. */
  instances?: number;
  /** How often this instance renews its heartbeat (default 2000 ms); it lapses after 3 × that. */
  heartbeatMs?: number;
  /** While Redis is down, how often one decision probes it (default 1000 ms). */
  probeIntervalMs?: number;
  /** Where outages are logged (default: pino on stderr); false: not logged. */
  logger?: StoreLogger | false;
  onOutage?(event: OutageEvent): void;
  /** Times outages (not decisions). Default: the system clock. */
  clock?: Clock;
}

export interface RedisStoreStats extends OutageStats {
  /** Decisions (and releases, renewals, resets) sent to Redis. */
  requests: number;
  /** Live instances at the last heartbeat, or the configured `instances`. */
  instances: number;
}

export interface RedisStore extends LimitStore {
  readonly client: RedisClient;
  /** 1 / the live instances (or the configured `instances`). */
  localShare(): number;
  stats(): RedisStoreStats;
  /** Stops the heartbeat (leaving the instance registry) and closes the connection if the store opened it. */
  close(): Promise<void>;
}

/** Algorithm codes understood by evaluate.lua. */
const ALGORITHM_CODES: Record<Algorithm, number> = {
  'fixed-window': 1,
  'sliding-window': 2,
  'sliding-log': 3,
  'token-bucket': 4,
  'leaky-bucket': 5,
  concurrency: 6,
};

/** Six integers per policy in the script's reply. */
const REPLY_WIDTH = 6;

/** What a limiter's policies look like on the wire, computed once per policies array. */
interface PolicyLayout {
  /** `}:<policy id>` per policy: a key is prefix + '{' + key + suffix. */
  suffixes: string[];
  /** One ARGV entry per policy. */
  descriptors: string[];
  concurrency: boolean[];
  hasConcurrency: boolean;
}

export const DEFAULT_KEY_PREFIX = 'sluice:';

/**
 * Opens a limit store on Redis: `createRedisStore('redis://127.0.0.1:6379')`, `createRedisStore(client)` (an
 * ioredis client; not closed by the store) or `createRedisStore({ url, keyPrefix, commandTimeoutMs, ... })`.
 */
export function createRedisStore(target: string | RedisClient | RedisStoreOptions): RedisStore {
  const options = connectionOptionsOf<RedisStoreOptions>(target);
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  if (typeof keyPrefix !== 'string') {
    throw new InvalidOptionError('keyPrefix', `expected a string such as "sluice:", got ${String(keyPrefix)}`);
  }
  const configuredInstances = checkInstances(options.instances);
  const connection: RedisConnection = openRedisConnection(options);
  const monitor = createOutageMonitor({
    store: 'redis-limits',
    clock: options.clock,
    probeIntervalMs: options.probeIntervalMs,
    logger: options.logger,
    onOutage: options.onOutage,
    probe: () => connection.client.ping(),
  });
  connection.onReady(() => monitor.probeNow());
  const presence: Presence | undefined =
    configuredInstances === undefined
      ? createPresence({ connection, instanceId: PROCESS_INSTANCE_ID, heartbeatMs: options.heartbeatMs })
      : undefined;
  presence?.track(`${keyPrefix}instances`);

  const layouts = new WeakMap<readonly CompiledPolicy[], PolicyLayout>();
  let lastPolicies: readonly CompiledPolicy[] | undefined;
  let lastLayout: PolicyLayout | undefined;
  let requests = 0;

  function layoutOf(policies: readonly CompiledPolicy[]): PolicyLayout {
    if (policies === lastPolicies && lastLayout !== undefined) return lastLayout;
    let layout = layouts.get(policies);
    if (layout === undefined) {
      layout = {
        suffixes: policies.map((policy) => `}:${policy.id}`),
        descriptors: policies.map(describePolicy),
        concurrency: policies.map((policy) => policy.algorithm === 'concurrency'),
        hasConcurrency: policies.some((policy) => policy.algorithm === 'concurrency'),
      };
      layouts.set(policies, layout);
    }
    lastPolicies = policies;
    lastLayout = layout;
    return layout;
  }

  function evaluate(request: StoreRequest): Promise<PolicyResult[]> {
    if (!monitor.shouldTry()) {
      return Promise.reject(
        new SluiceError(
          'ERR_SLUICE_STORE_UNAVAILABLE',
          `Redis is not answering (down since ${new Date(monitor.stats().downSinceEpochMs ?? 0).toISOString()}); the limiter's onStoreError policy decides`,
        ),
      );
    }
    const { policies, operation, key } = request;
    const layout = layoutOf(policies);
    const count = policies.length;
    const leaseId =
      request.leaseId ?? (operation === 'take' && layout.hasConcurrency && request.cost > 0 ? randomUUID() : '');
    const call: (string | number)[] = new Array(2 * count + 6);
    call[0] = LIMITS_SCRIPT.sha;
    call[1] = count;
    const tagged = `${keyPrefix}{${key}`;
    for (let i = 0; i < count; i++) call[2 + i] = tagged + (layout.suffixes[i] as string);
    const base = 2 + count;
    call[base] = operation;
    call[base + 1] = request.cost;
    call[base + 2] = request.nowEpochMs === undefined ? '' : request.nowEpochMs;
    call[base + 3] = leaseId;
    for (let i = 0; i < count; i++) call[base + 4 + i] = layout.descriptors[i] as string;
    requests++;
    return connection.run(LIMITS_SCRIPT, call).then(
      (reply) => {
        monitor.succeeded();
        return readReply(reply, request, layout, leaseId);
      },
      (error: unknown) => {
        // An error reply (a key holding something else) fails this decision only: Redis did answer.
        if (isErrorReply(error)) monitor.succeeded();
        else monitor.failed(error);
        throw error;
      },
    );
  }

  return {
    client: connection.client,
    evaluate,
    localShare: () => 1 / (configuredInstances ?? presence?.liveInstances() ?? 1),
    stats: () => ({
      ...monitor.stats(),
      requests,
      instances: configuredInstances ?? presence?.liveInstances() ?? 1,
    }),
    async close() {
      monitor.stop();
      await presence?.stop();
      await connection.close();
    },
  };
}

/** "algorithm limit windowMs capacity intervalUs delay leaseMs", as common.lua parses it. */
function describePolicy(policy: CompiledPolicy): string {
  const { limit, windowMs, capacity, intervalUs, delay, leaseMs } = policy;
  return `${ALGORITHM_CODES[policy.algorithm]} ${limit} ${windowMs} ${capacity} ${intervalUs} ${delay} ${leaseMs}`;
}

function readReply(reply: unknown, request: StoreRequest, layout: PolicyLayout, leaseId: string): PolicyResult[] {
  const count = request.policies.length;
  if (!Array.isArray(reply) || reply.length !== count * REPLY_WIDTH) {
    throw new SluiceError(
      'ERR_SLUICE_STORE_PROTOCOL',
      `the Redis limit script answered ${Array.isArray(reply) ? `${reply.length} numbers` : typeof reply} for ${count} policies`,
    );
  }
  const results: PolicyResult[] = new Array(count);
  const { operation } = request;
  for (let i = 0; i < count; i++) {
    const at = i * REPLY_WIDTH;
    const retryAfterMs = reply[at + 3] as number;
    const extra = reply[at + 5] as number;
    const result: PolicyResult = {
      allowed: reply[at] === 1,
      remaining: reply[at + 1] as number,
      resetAfterMs: reply[at + 2] as number,
      retryAfterMs: retryAfterMs === -1 ? Number.POSITIVE_INFINITY : retryAfterMs,
      delayMs: reply[at + 4] as number,
    };
    if (layout.concurrency[i]) {
      if (operation === 'release') result.released = extra === 1;
      else if (extra >= 0 && (operation === 'take' || operation === 'renew')) {
        result.lease = { id: leaseId, expiresAtEpochMs: extra };
      }
    }
    results[i] = result;
  }
  return results;
}

function checkInstances(instances: unknown): number | undefined {
  if (instances === undefined) return undefined;
  if (typeof instances !== 'number' || !Number.isSafeInteger(instances) || instances < 1) {
    throw new InvalidOptionError('instances', `expected a positive whole number, got ${String(instances)}`);
  }
  return instances;
}
