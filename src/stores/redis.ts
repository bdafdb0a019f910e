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
 * `onStoreError` policy; the outage is logged and counted once. Instances renew a heartbeat, so `localShare()` is
 * 1 / the live instances: the share of each limit the limiter's 'local' fallback may use alone.
 */
import { randomUUID } from 'node:crypto';
import { InvalidOptionError, SluiceError } from '../errors.js';
import type { LimitStore, StoreRequest } from '../limits/store.js';
import type { CompiledPolicy, PolicyResult } from '../limits/types.js';
import type { Clock } from '../time.js';
import { createOutageMonitor, isErrorReply, type OutageEvent, type OutageStats } from './outage.js';
import {
  connectionOptionsOf,
  openRedisConnection,
  type RedisClient,
  type RedisConnection,
  type RedisConnectionOptions,
} from './redis/connection.js';
import { packIntegerArrays } from './redis/msgpack.js';
import { createPresence, PROCESS_INSTANCE_ID, type Presence } from './redis/presence.js';
import { ALGORITHM_CODES, algorithmBit, limitsScript } from './redis/scripts.js';
import type { StoreLogger } from './store-logger.js';

export interface RedisStoreOptions extends RedisConnectionOptions {
  /** Prefix of every key (default "sluice:"). */
  keyPrefix?: string;
  /** N, the number of instances sharing the limits, when known; otherwise it is counted by heartbeat. */
  instances?: number;
  /** How often this instance renews its heartbeat (default 2000 ms); it lapses after 3 × that. */
  heartbeatMs?: number;
  /** While Redis is down, how often a background PING probes it (default 1000 ms). */
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
  /** Script calls that carried them (fewer when decisions asked in the same tick went together). */
  calls: number;
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

/** Six integers per policy in the script's reply. */
const REPLY_WIDTH = 6;
/** Decisions sent in one script call at most. */
const MAX_BATCH = 128;

/** What a limiter's policies look like on the wire, computed once per policies array. */
interface PolicyLayout {
  /** The algorithms these policies use (scripts.ts algorithmBit). */
  algorithms: number;
  /** `}:<policy id>` per policy: a key is prefix + '{' + key + suffix. */
  suffixes: string[];
  /** All the policies as one argument: MessagePack arrays (see common.lua). */
  policiesArgument: Buffer;
  concurrency: boolean[];
  hasConcurrency: boolean;
}

/** A decision waiting to be sent, and its caller. */
interface PendingDecision {
  request: StoreRequest;
  layout: PolicyLayout;
  leaseId: string;
  resolve(results: PolicyResult[]): void;
  reject(error: unknown): void;
}

export const DEFAULT_KEY_PREFIX = 'sluice:';

/**
 * Opens a limit store on Redis: `createRedisStore('redis://127.0.0.1:6379')`, `createRedisStore(client)` (an
 * ioredis client; not closed by the store) or `createRedisStore({ url, keyPrefix, commandTimeoutMs, ... })`.
 *
 * On a single Redis (not a Cluster), the decisions callers ask for in the same tick go out in one script call,
 * decided one after the other inside it: one round trip and one script run for many callers, each decision still
 * atomic and all-or-nothing over its policies. On a Cluster, each decision is its own call (its keys share one slot;
 * different callers' keys need not).
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
  const batching = (connection.client as { isCluster?: boolean }).isCluster !== true;

  const layouts = new WeakMap<readonly CompiledPolicy[], PolicyLayout>();
  let lastPolicies: readonly CompiledPolicy[] | undefined;
  let lastLayout: PolicyLayout | undefined;
  let queue: PendingDecision[] = [];
  let flushScheduled = false;
  let requests = 0;
  let calls = 0;

  function layoutOf(policies: readonly CompiledPolicy[]): PolicyLayout {
    if (policies === lastPolicies && lastLayout !== undefined) return lastLayout;
    let layout = layouts.get(policies);
    if (layout === undefined) {
      let algorithms = 0;
      for (const policy of policies) algorithms |= algorithmBit(policy.algorithm);
      layout = {
        algorithms,
        suffixes: policies.map((policy) => `}:${policy.id}`),
        policiesArgument: packIntegerArrays(policies.map(policyFields)),
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
    const layout = layoutOf(request.policies);
    const leaseId =
      request.leaseId ??
      (request.operation === 'take' && layout.hasConcurrency && request.cost > 0 ? randomUUID() : '');
    requests++;
    return new Promise<PolicyResult[]>((resolve, reject) => {
      queue.push({ request, layout, leaseId, resolve, reject });
      if (!batching) flush();
      else if (!flushScheduled) {
        flushScheduled = true;
        // After the callers woken in this tick have asked: they go out together.
        process.nextTick(flush);
      }
    });
  }

  function flush(): void {
    flushScheduled = false;
    const pending = queue;
    queue = [];
    const size = batching ? MAX_BATCH : 1;
    for (let start = 0; start < pending.length; start += size) send(pending.slice(start, start + size));
  }

  function send(batch: PendingDecision[]): void {
    let algorithms = 0;
    let keyCount = 0;
    for (const pending of batch) {
      algorithms |= pending.layout.algorithms;
      keyCount += pending.request.policies.length;
    }
    const script = limitsScript(algorithms);
    const call: (string | number | Buffer)[] = [script.sha, keyCount];
    for (const { request, layout } of batch) {
      const tagged = `${keyPrefix}{${request.key}`;
      for (const suffix of layout.suffixes) call.push(tagged + suffix);
    }
    for (const { request, layout, leaseId } of batch) {
      call.push(
        request.operation,
        request.cost,
        request.nowEpochMs === undefined ? '' : request.nowEpochMs,
        leaseId,
        layout.policiesArgument,
      );
    }
    calls++;
    connection.run(script, call).then(
      (reply) => {
        monitor.succeeded();
        settle(batch, reply);
      },
      (error: unknown) => {
        // An error reply (a bad script argument) fails these decisions only: Redis did answer.
        if (isErrorReply(error)) monitor.succeeded();
        else monitor.failed(error);
        for (const pending of batch) pending.reject(error);
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
      calls,
      instances: configuredInstances ?? presence?.liveInstances() ?? 1,
    }),
    async close() {
      monitor.stop();
      await presence?.stop();
      await connection.close();
    },
  };
}

/** Hands each decision of a batch its results, or its own failure. */
function settle(batch: PendingDecision[], reply: unknown): void {
  if (!Array.isArray(reply)) {
    const error = protocolError(`the Redis limit script answered ${typeof reply}`);
    for (const pending of batch) pending.reject(error);
    return;
  }
  let at = 0;
  for (const pending of batch) {
    const status = reply[at];
    if (status === 1) {
      const count = pending.request.policies.length;
      if (reply.length < at + 1 + count * REPLY_WIDTH) {
        pending.reject(protocolError(`the Redis limit script answered too few numbers for ${count} policies`));
        at = reply.length;
        continue;
      }
      pending.resolve(readResults(reply, at + 1, pending));
      at += 1 + count * REPLY_WIDTH;
    } else if (status === 0) {
      pending.reject(new SluiceError('ERR_SLUICE_STORE_SCRIPT', `Redis could not decide: ${String(reply[at + 1])}`));
      at += 2;
    } else {
      pending.reject(protocolError('the Redis limit script answered in an unexpected shape'));
      at = reply.length;
    }
  }
}

function protocolError(message: string): SluiceError {
  return new SluiceError('ERR_SLUICE_STORE_PROTOCOL', message);
}

/** [algorithm, limit, windowMs, capacity, intervalUs, delay, leaseMs], the fields common.lua names. */
function policyFields(policy: CompiledPolicy): number[] {
  const { limit, windowMs, capacity, intervalUs, delay, leaseMs } = policy;
  return [ALGORITHM_CODES[policy.algorithm], limit, windowMs, capacity, intervalUs, delay, leaseMs];
}

function readResults(reply: unknown[], offset: number, pending: PendingDecision): PolicyResult[] {
  const { request, layout, leaseId } = pending;
  const count = request.policies.length;
  const results: PolicyResult[] = new Array(count);
  const { operation } = request;
  for (let i = 0; i < count; i++) {
    const at = offset + i * REPLY_WIDTH;
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
