/**
 * Budgets shared by every process through Redis, so N processes pace as one: a 429 seen by one pauses all, what one
 * learns of remaining and reset is used by all, and two processes can never both spend the last unit.
 *
 * Each decision is atomic by optimistic concurrency (docs/distributed.md says why this over WATCH/MULTI or a Lua
 * port of the core): read the records and their versions with Redis TIME (one script), decide in TypeScript with the
 * same pure core as the memory store, then write with a compare-and-set script that succeeds only if no record read
 * has changed since; on a conflict that script answers the records as they are now, and the decision is made again
 * on them (no extra read). Operations waiting in this process for the same hash tag are decided together in one
 * read and one write (in order, as the memory store would one after the other), so a busy process makes few round
 * trips and contends only with other processes.
 *
 * Reservations are recorded per holder (this store instance), whose heartbeat keeps them; those of a holder that
 * stopped beating for `3 × heartbeatMs` are settled for it by the next decision on that budget.
 *
 * Optimistic writes favour the fastest writer: a process that loses the compare-and-set twice in a row takes a short
 * write lock (100 ms at most, released by its write), during which only its write can succeed, so every process
 * gets its turn under contention.
 */
import { randomUUID } from 'node:crypto';
import { InvalidOptionError, SluiceError } from '../errors.js';
import type { Cost } from '../pipeline/stage.js';
import { createOutageMonitor, isErrorReply, type OutageEvent, type OutageStats } from '../stores/outage.js';
import {
  connectionOptionsOf,
  openRedisConnection,
  type RedisClient,
  type RedisConnectionOptions,
} from '../stores/redis/connection.js';
import { createPresence, PROCESS_INSTANCE_ID } from '../stores/redis/presence.js';
import { BUDGET_READ_SCRIPT, BUDGET_WRITE_SCRIPT } from '../stores/redis/scripts.js';
import type { StoreLogger } from '../stores/store-logger.js';
import { type Clock, systemClock } from '../time.js';
import {
  admitOnRecords,
  type BudgetRecord,
  keysOfObservation,
  observeOnRecords,
  type RecordTable,
  reclaimAbandoned,
  recordTimeToLiveMs,
} from './redis-record.js';
import {
  type AdmitDecision,
  type AdmitOptions,
  type BudgetKey,
  type BudgetState,
  type BudgetStore,
  defaultBudgetPolicy,
  type Observation,
  type Settlement,
} from './types.js';

export interface RedisBudgetStoreOptions extends RedisConnectionOptions {
  /** Prefix of every key (default "sluice:"). */
  keyPrefix?: string;
  /**
   * The hash tag of a budget key. Every budget one call draws on must have the same tag (one Cluster slot, one
   * script). Default: the text before the first "|" — the upstream's name in the pipeline's budget keys.
   */
  hashTagOf?(budgetKey: string): string;
  /** How often this store renews its holder heartbeat (default 2000 ms); it lapses after 3 × that. */
  heartbeatMs?: number;
  /** Reservations older than this are settled even if their holder lives (their outcome was lost). Default 10 min. */
  maxHoldMs?: number;
  /** An operation still waiting to be sent after this fails (default 1000 ms). */
  operationTimeoutMs?: number;
  /** Refused compare-and-sets per decision before giving up (default 20). */
  maxAttempts?: number;
  /** Operations decided together at most (default 64). */
  maxBatch?: number;
  /** N, the number of processes sharing the budgets, when known; otherwise counted by heartbeat. */
  instances?: number;
  /** While Redis is down, how often a background PING probes it (default 1000 ms). */
  probeIntervalMs?: number;
  logger?: StoreLogger | false;
  onOutage?(event: OutageEvent): void;
  /** Times operation deadlines and outages (decisions use Redis TIME). Default: the system clock. */
  clock?: Clock;
}

export interface RedisBudgetStats extends OutageStats {
  /** admit and observe calls. */
  operations: number;
  /** Read-decide-write rounds (several operations may share one). */
  batches: number;
  /** Writes refused because another process had changed a record since it was read. */
  conflicts: number;
  /** Script calls (reads + writes). */
  roundTrips: number;
  /** Reservations settled for holders that had died or whose outcome was lost. */
  reclaimed: number;
  instances: number;
}

export interface RedisBudgetStore extends BudgetStore {
  /** Several processes share it, and it may fail: the pipeline wraps it in its onStoreError fallback. */
  readonly shared: true;
  readonly client: RedisClient;
  /** 1 / the live instances (or the configured `instances`): each one's part during an outage. */
  localShare(): number;
  /** Called after every observe made through this store (waiting callers in this process may re-check). */
  onChange(listener: () => void): () => void;
  stats(): RedisBudgetStats;
}

interface AdmitOperation {
  kind: 'admit';
  keys: readonly BudgetKey[];
  cost: Cost;
  options: AdmitOptions;
  names: string[];
  deadlineAtEpochMs: number;
  resolve(decision: AdmitDecision): void;
  reject(error: unknown): void;
}

interface ObserveOperation {
  kind: 'observe';
  observation: Observation;
  settlement: Settlement | undefined;
  names: string[];
  deadlineAtEpochMs: number;
  resolve(): void;
  reject(error: unknown): void;
}

type Operation = AdmitOperation | ObserveOperation;

interface Lane {
  tag: string;
  queue: Operation[];
  running: boolean;
}

/** What a read (or a refused write) says: Redis time, live holders, the lock, each record's version and JSON. */
interface RecordsSnapshot {
  nowEpochMs: number;
  live: Set<string>;
  /** Who holds the write lock ('' = nobody), and for how much longer. */
  lockOwner: string;
  lockLeftMs: number;
  versions: number[];
  records: string[];
}

/** Conflicts in a row after which a decision asks for the write lock, and how long it may hold it. */
const LOCK_AFTER_CONFLICTS = 2;
const LOCK_MS = 100;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const defaultHashTag = (budgetKey: string) => {
  const end = budgetKey.indexOf('|');
  return end === -1 ? budgetKey : budgetKey.slice(0, end);
};

/**
 * Opens the budget store on Redis: `createRedisBudgetStore('redis://127.0.0.1:6379')`, `(client)` or
 * `({ url, keyPrefix, ... })`.
 */
export function createRedisBudgetStore(target: string | RedisClient | RedisBudgetStoreOptions): RedisBudgetStore {
  const options = connectionOptionsOf<RedisBudgetStoreOptions>(target);
  const keyPrefix = options.keyPrefix ?? 'sluice:';
  const hashTagOf = options.hashTagOf ?? defaultHashTag;
  const clock = options.clock ?? systemClock;
  const maxHoldMs = positive(options.maxHoldMs, 'maxHoldMs', 600_000);
  const operationTimeoutMs = positive(options.operationTimeoutMs, 'operationTimeoutMs', 1000);
  const maxAttempts = positive(options.maxAttempts, 'maxAttempts', 20);
  const maxBatch = positive(options.maxBatch, 'maxBatch', 64);
  const heartbeatMs = positive(options.heartbeatMs, 'heartbeatMs', 2000);
  const configuredInstances = options.instances === undefined ? undefined : positive(options.instances, 'instances', 1);

  const connection = openRedisConnection(options);
  const monitor = createOutageMonitor({
    store: 'redis-budgets',
    clock,
    probeIntervalMs: options.probeIntervalMs,
    logger: options.logger,
    onOutage: options.onOutage,
    probe: () => connection.client.ping(),
  });
  connection.onReady(() => monitor.probeNow());
  // This store's reservations are kept by its own heartbeat; processes are counted apart (several stores, one N).
  const holder = `${PROCESS_INSTANCE_ID}:${randomUUID().slice(0, 8)}`;
  const holders = createPresence({ connection, instanceId: holder, heartbeatMs });
  const instances =
    configuredInstances === undefined
      ? createPresence({ connection, instanceId: PROCESS_INSTANCE_ID, heartbeatMs })
      : undefined;
  instances?.track(`${keyPrefix}instances`);

  const lanes = new Map<string, Lane>();
  const listeners = new Set<() => void>();
  const counts = { operations: 0, batches: 0, conflicts: 0, roundTrips: 0, reclaimed: 0 };
  let closed = false;

  const recordKey = (tag: string, budgetKey: string) => `${keyPrefix}budget:{${tag}}:${budgetKey}`;
  const holdersKey = (tag: string) => `${keyPrefix}budget-holders:{${tag}}`;
  const lockKey = (tag: string) => `${keyPrefix}budget-lock:{${tag}}`;

  function tagOf(names: readonly string[]): string {
    const tag = hashTagOf(names[0] ?? '');
    for (const name of names) {
      if (hashTagOf(name) !== tag) {
        throw new InvalidOptionError(
          'keys',
          `budgets drawn on together must share a hash tag (one Redis Cluster slot), got "${names[0]}" (${tag}) and "${name}" (${hashTagOf(name)}); adjust hashTagOf`,
        );
      }
    }
    return tag;
  }

  function enqueue(operation: Operation): void {
    if (closed) {
      operation.reject(new SluiceError('ERR_SLUICE_STORE_CLOSED', 'the Redis budget store is closed'));
      return;
    }
    if (!monitor.shouldTry()) {
      operation.reject(
        new SluiceError('ERR_SLUICE_STORE_UNAVAILABLE', 'Redis is not answering; the budget fallback decides'),
      );
      return;
    }
    let tag: string;
    try {
      tag = tagOf(operation.names);
    } catch (error) {
      operation.reject(error);
      return;
    }
    counts.operations++;
    let lane = lanes.get(tag);
    if (lane === undefined) {
      lane = { tag, queue: [], running: false };
      lanes.set(tag, lane);
    }
    lane.queue.push(operation);
    if (!lane.running) void runLane(lane);
  }

  async function runLane(lane: Lane): Promise<void> {
    lane.running = true;
    try {
      while (lane.queue.length > 0) {
        const batch = lane.queue.splice(0, maxBatch);
        const now = clock.now();
        const due = batch.filter((operation) => {
          if (operation.deadlineAtEpochMs > now) return true;
          operation.reject(
            new SluiceError(
              'ERR_SLUICE_STORE_TIMEOUT',
              `the budget store could not decide within ${operationTimeoutMs} ms (Redis slow or contended)`,
            ),
          );
          return false;
        });
        if (due.length === 0) continue;
        try {
          await decide(lane.tag, due);
          monitor.succeeded();
        } catch (error) {
          // Redis answered (an error reply, or writes kept colliding): this batch failed, the store is not down.
          if (isErrorReply(error) || (error as SluiceError).code === 'ERR_SLUICE_STORE_CONTENTION') monitor.succeeded();
          else monitor.failed(error);
          for (const operation of due) operation.reject(error);
        }
      }
    } finally {
      lane.running = false;
    }
  }

  async function decide(tag: string, batch: Operation[]): Promise<void> {
    counts.batches++;
    const names: string[] = [];
    for (const operation of batch) for (const name of operation.names) if (!names.includes(name)) names.push(name);
    const keys = names.map((name) => recordKey(tag, name));
    const registry = holdersKey(tag);
    const lock = lockKey(tag);
    const read = async (lockMs: number) => {
      counts.roundTrips++;
      const call = [BUDGET_READ_SCRIPT.sha, keys.length + 2, ...keys, registry, lock, holder, lockMs];
      return readSnapshot(await connection.run(BUDGET_READ_SCRIPT, call), 0, names.length);
    };
    const deadlineAtEpochMs = Math.min(...batch.map((operation) => operation.deadlineAtEpochMs));
    let snapshot = await read(0);
    let conflicts = 0;
    for (;;) {
      if (conflicts >= maxAttempts) {
        throw new SluiceError(
          'ERR_SLUICE_STORE_CONTENTION',
          `budgets ${names.join(', ')} changed under ${maxAttempts} attempts in a row; giving up this decision`,
        );
      }
      if (snapshot.lockOwner !== '' && snapshot.lockOwner !== holder) {
        // Another process has its turn (it kept losing): a write now would be refused. Wait a moment, then ask
        // for the next turn ourselves — within the operations' deadline (a dead owner's lock lapses by itself).
        if (clock.now() >= deadlineAtEpochMs) {
          throw new SluiceError(
            'ERR_SLUICE_STORE_TIMEOUT',
            `budgets ${names.join(', ')}: another process held the write lock past this decision's deadline`,
          );
        }
        await pause(Math.min(snapshot.lockLeftMs, 1 + Math.random() * 2));
        snapshot = await read(LOCK_MS);
        continue;
      }
      const outcomes = applyBatch(batch, names, snapshot);
      const write: (string | number)[] = [
        BUDGET_WRITE_SCRIPT.sha,
        keys.length + 2,
        ...keys,
        registry,
        lock,
        holder,
        holders.ttlMs,
      ];
      let changed = false;
      // Refusals alone change nothing that matters: time moved on (estimates advanced, touched), which the next
      // decision derives again from the same records. Not writing them spares a round trip and a conflict for
      // every caller that re-checks while it waits.
      const onlyRefusals =
        outcomes.reclaimed === 0 && outcomes.results.every((result) => result !== undefined && !result.admitted);
      names.forEach((name, index) => {
        const record = outcomes.table.get(name);
        const json = record && !onlyRefusals ? JSON.stringify(record) : '';
        const version = snapshot.versions[index] as number;
        if (record && json !== '' && json !== snapshot.records[index]) {
          changed = true;
          write.push(version, json, recordTimeToLiveMs(record, outcomes.nowEpochMs, outcomes.policy));
        } else {
          write.push(version, '', 0);
        }
      });
      // Holding the lock, always write: the write releases it.
      if (changed || snapshot.lockOwner === holder) {
        counts.roundTrips++;
        const reply = await connection.run(BUDGET_WRITE_SCRIPT, write);
        if (!Array.isArray(reply) || reply[0] !== 1) {
          counts.conflicts++;
          conflicts++;
          snapshot = readSnapshot(reply, 1, names.length);
          // Lost again and again to faster writers: ask for a turn of our own.
          if (conflicts >= LOCK_AFTER_CONFLICTS && snapshot.lockOwner === '') snapshot = await read(LOCK_MS);
          continue;
        }
        if (changed) holders.track(registry);
      }
      counts.reclaimed += outcomes.reclaimed;
      batch.forEach((operation, index) => {
        const outcome = outcomes.results[index];
        if (operation.kind === 'admit') operation.resolve(outcome as AdmitDecision);
        else operation.resolve();
      });
      if (batch.some((operation) => operation.kind === 'observe')) for (const listener of listeners) listener();
      return;
    }
  }

  /** Decides every operation of the batch, in order, on the records of `snapshot`. */
  function applyBatch(batch: Operation[], names: string[], snapshot: RecordsSnapshot) {
    const table: RecordTable = new Map();
    names.forEach((name, index) => {
      const json = snapshot.records[index] as string;
      table.set(name, json === '' ? null : parseRecord(json, name));
    });
    const first = batch[0] as Operation;
    const firstOptions = first.kind === 'admit' ? first.options : first.observation;
    const batchNow = firstOptions.nowEpochMs ?? snapshot.nowEpochMs;
    const policy = firstOptions.policy ?? defaultBudgetPolicy;
    let reclaimed = 0;
    for (const record of table.values()) {
      if (record) reclaimed += reclaimAbandoned(record, (id) => snapshot.live.has(id), batchNow, maxHoldMs);
    }
    const results = batch.map((operation) => {
      if (operation.kind === 'admit') {
        return admitOnRecords(table, operation.keys, operation.cost, operation.options.priority ?? 0, {
          nowEpochMs: operation.options.nowEpochMs ?? snapshot.nowEpochMs,
          policy: operation.options.policy ?? defaultBudgetPolicy,
          holder,
        });
      }
      observeOnRecords(table, operation.observation, operation.settlement, {
        nowEpochMs: operation.observation.nowEpochMs ?? snapshot.nowEpochMs,
        policy: operation.observation.policy ?? defaultBudgetPolicy,
        holder,
      });
      return undefined;
    });
    return { table, results, reclaimed, nowEpochMs: batchNow, policy };
  }

  return {
    shared: true,
    client: connection.client,
    admit(keys, cost, admitOptions = {}) {
      return new Promise<AdmitDecision>((resolve, reject) => {
        enqueue({
          kind: 'admit',
          keys,
          cost,
          options: admitOptions,
          names: keys.map((key) => key.key),
          deadlineAtEpochMs: clock.now() + operationTimeoutMs,
          resolve,
          reject,
        });
      });
    },
    observe(observation, settlement) {
      return new Promise<void>((resolve, reject) => {
        const names = keysOfObservation(observation, settlement);
        if (names.length === 0) {
          // Nothing to fold in; but a store that is down says so, rather than passing for one that answered.
          if (monitor.down) reject(new SluiceError('ERR_SLUICE_STORE_UNAVAILABLE', 'Redis is not answering'));
          else resolve();
          return;
        }
        enqueue({
          kind: 'observe',
          observation,
          settlement,
          names,
          deadlineAtEpochMs: clock.now() + operationTimeoutMs,
          resolve,
          reject,
        });
      });
    },
    async snapshot() {
      const found: Record<string, BudgetState> = {};
      const pattern = `${escapeGlob(keyPrefix)}budget:*`;
      let cursor = '0';
      do {
        const [next, keys] = (await connection.client.scan(cursor, 'MATCH', pattern, 'COUNT', 500)) as [
          string,
          string[],
        ];
        cursor = next;
        for (const key of keys) {
          const json = await connection.client.hget(key, 's');
          if (!json) continue;
          const record = parseRecord(json, key);
          found[record.key] = record.state;
        }
      } while (cursor !== '0');
      return found;
    },
    localShare: () => 1 / (configuredInstances ?? instances?.liveInstances() ?? 1),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stats: () => ({
      ...monitor.stats(),
      ...counts,
      instances: configuredInstances ?? instances?.liveInstances() ?? 1,
    }),
    async close() {
      if (closed) return;
      closed = true;
      monitor.stop();
      listeners.clear();
      await Promise.all([holders.stop(), instances?.stop()]);
      await connection.close();
    },
  };
}

function readSnapshot(reply: unknown, offset: number, count: number): RecordsSnapshot {
  if (!Array.isArray(reply) || reply.length !== offset + 4 + 2 * count) {
    throw new SluiceError('ERR_SLUICE_STORE_PROTOCOL', 'the Redis budget script answered in an unexpected shape');
  }
  const versions: number[] = [];
  const records: string[] = [];
  for (let index = 0; index < count; index++) {
    versions.push(Number(reply[offset + 4 + 2 * index]));
    records.push(String(reply[offset + 5 + 2 * index]));
  }
  return {
    nowEpochMs: Number(reply[offset]),
    live: new Set((reply[offset + 1] as string[]) ?? []),
    lockOwner: String(reply[offset + 2] ?? ''),
    lockLeftMs: Number(reply[offset + 3]),
    versions,
    records,
  };
}

function parseRecord(json: string, where: string): BudgetRecord {
  try {
    const record = JSON.parse(json) as BudgetRecord;
    if (typeof record === 'object' && record !== null && typeof record.state === 'object') {
      record.held ??= {};
      return record;
    }
  } catch {
    // Reported below.
  }
  throw new SluiceError('ERR_SLUICE_STORE_PROTOCOL', `the budget record at ${where} is not one Sluice wrote`);
}

function positive(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidOptionError(field, `expected a positive whole number, got ${String(value)}`);
  }
  return value;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (character) => `\\${character}`);
}
