/**
 * The Redis connection every Sluice store uses: ioredis (Cluster-aware, auto-pipelining, per-command timeouts, and
 * already a dependency), configured so that an outage fails fast instead of hanging callers:
 * - `enableOfflineQueue: false`: while disconnected, a command fails at once instead of waiting in a queue;
 * - `commandTimeout`: a command on a connection that stopped answering fails after `commandTimeoutMs`;
 * - `maxRetriesPerRequest: 0` and `autoResendUnfulfilledCommands: false`: a command whose answer was lost with the
 *   connection fails rather than being sent again after reconnecting (a take must not be counted twice);
 * - no auto-pipelining: the stores do better themselves — the limit store sends the decisions asked in one tick as
 *   one script call, the budget store decides the operations waiting on one budget together — and ioredis's
 *   (a pipeline object per tick, flushed on setImmediate) would only add latency to each of those calls.
 * It reconnects by itself (every second at most), so stores return to Redis when it answers again.
 */
import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import { InvalidOptionError, SluiceError } from '../../errors.js';
import type { RedisScript } from './scripts.js';

export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  /** `redis://[user@]host:port[/db]` or `rediss://...`. Ignored when `client` is given. */
  url?: string;
  /** Use this client (not closed by the store). Give it `enableOfflineQueue: false` and a `commandTimeout`. */
  client?: RedisClient;
  username?: string;
  password?: string;
  /** The longest one command may take before it counts as failed (default 500 ms). */
  commandTimeoutMs?: number;
  /** The longest the first connection may take (default 2000 ms). */
  connectTimeoutMs?: number;
}

export interface RedisConnection {
  readonly client: RedisClient;
  /**
   * Runs a script with EVALSHA. `call` is `[script.sha, numberOfKeys, ...keys, ...args]` (built by the caller in one
   * array, which saves copies on the hot path). NOSCRIPT (a restarted or flushed Redis) runs it with EVAL, which
   * loads it again.
   */
  run(script: RedisScript, call: (string | number | Buffer)[]): Promise<unknown>;
  /** Calls `listener` each time the connection becomes ready (again). */
  onReady(listener: () => void): () => void;
  /** Closes the client if this connection created it. */
  close(): Promise<void>;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 500;
const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
const MAX_RECONNECT_DELAY_MS = 1000;

/** The ioredis options of a client Sluice creates itself. */
export function safeRedisOptions(options: RedisConnectionOptions = {}): RedisOptions {
  return {
    enableOfflineQueue: false,
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableAutoPipelining: false,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 10), MAX_RECONNECT_DELAY_MS),
    ...(options.username ? { username: options.username } : {}),
    ...(options.password ? { password: options.password } : {}),
  };
}

/** What `createRedisStore` and `createRedisBudgetStore` accept: a URL, a client, or options. */
export type RedisTarget = string | RedisClient | RedisConnectionOptions;

export function isRedisClient(value: unknown): value is RedisClient {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { evalsha?: unknown }).evalsha === 'function' &&
    typeof (value as { status?: unknown }).status === 'string'
  );
}

/** Normalizes a store's target into connection options (a string is a URL, a client is used as is). */
export function connectionOptionsOf<T extends RedisConnectionOptions>(target: string | RedisClient | T): T {
  if (typeof target === 'string') return { url: target } as T;
  if (isRedisClient(target)) return { client: target } as T;
  if (typeof target !== 'object' || target === null) {
    throw new InvalidOptionError(
      'redis',
      'expected a Redis URL such as "redis://127.0.0.1:6379", an ioredis client, or { url } / { client }',
    );
  }
  return target;
}

export function openRedisConnection(options: RedisConnectionOptions): RedisConnection {
  if (options.client !== undefined && !isRedisClient(options.client)) {
    throw new InvalidOptionError('client', 'expected an ioredis client (new Redis(...) or new Cluster(...))');
  }
  if (options.client === undefined && (typeof options.url !== 'string' || options.url === '')) {
    throw new InvalidOptionError('url', 'expected a Redis URL such as "redis://127.0.0.1:6379", or give a client');
  }
  for (const field of ['commandTimeoutMs', 'connectTimeoutMs'] as const) {
    const value = options[field];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
      throw new InvalidOptionError(field, `expected a positive whole number of milliseconds, got ${String(value)}`);
    }
  }
  const owned = options.client === undefined;
  let client: RedisClient;
  if (options.client) {
    client = options.client;
  } else {
    try {
      client = new Redis(options.url as string, safeRedisOptions(options));
    } catch (error) {
      throw new InvalidOptionError('url', `could not use ${redactUrl(options.url as string)}: ${String(error)}`);
    }
    // Failures reach callers as rejected commands (and the store's outage log); do not print every reconnect.
    client.on('error', () => {});
  }
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  // A client given without a command timeout could hang a caller on a dead connection: bound it here instead.
  const ownTimeout = owned || hasCommandTimeout(client) ? 0 : commandTimeoutMs;
  let everReady = client.status === 'ready';
  const readyListeners = new Set<() => void>();
  client.on('ready', () => {
    everReady = true;
    for (const listener of readyListeners) listener();
  });

  // Until the first connection is up, a call waits for it briefly (a new process's first calls should not fail
  // while it connects), but no longer than the connection keeps failing.
  const firstReady = (): Promise<void> =>
    new Promise((resolve, reject) => {
      if (client.status === 'wait') (client as Redis).connect().catch(() => {});
      const finish = (error?: unknown) => {
        clearTimeout(timer);
        client.off('ready', onReady);
        client.off('error', onError);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onReady = () => finish();
      const onError = (error: unknown) => finish(error);
      const timer = setTimeout(
        () =>
          finish(new SluiceError('ERR_SLUICE_STORE_UNAVAILABLE', `Redis did not answer within ${commandTimeoutMs} ms`)),
        commandTimeoutMs,
      );
      client.once('ready', onReady);
      client.once('error', onError);
    });

  // ioredis flattens an array argument: the call goes out as is, without spreading it into arguments.
  const evalsha = client.evalsha as unknown as (call: (string | number | Buffer)[]) => Promise<unknown>;
  const evaluate = client.eval as unknown as (call: (string | number | Buffer)[]) => Promise<unknown>;

  function send(script: RedisScript, call: (string | number | Buffer)[]): Promise<unknown> {
    return evalsha.call(client, call).catch((error: unknown) => {
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
      const again = call.slice();
      again[0] = script.source;
      return evaluate.call(client, again);
    });
  }

  function run(script: RedisScript, call: (string | number | Buffer)[]): Promise<unknown> {
    const pending =
      everReady || client.status === 'end' ? send(script, call) : firstReady().then(() => send(script, call));
    return ownTimeout === 0 ? pending : withTimeout(pending, ownTimeout);
  }

  return {
    client,
    run,
    onReady(listener) {
      readyListeners.add(listener);
      return () => readyListeners.delete(listener);
    },
    async close() {
      readyListeners.clear();
      if (!owned) return;
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}

function hasCommandTimeout(client: RedisClient): boolean {
  const options = (client as { options?: { commandTimeout?: unknown; redisOptions?: { commandTimeout?: unknown } } })
    .options;
  return typeof (options?.commandTimeout ?? options?.redisOptions?.commandTimeout) === 'number';
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new SluiceError('ERR_SLUICE_STORE_TIMEOUT', `Redis did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** A Redis URL fit for messages: without its password. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return '(not a URL)';
  }
}
