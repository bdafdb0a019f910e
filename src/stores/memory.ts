import { randomUUID } from 'node:crypto';
import { InvalidOptionError } from '../errors.js';
import { ALGORITHM_FUNCTIONS, type AlgorithmFunctions, type LimitState } from '../limits/algorithms.js';
import { evaluatePolicies } from '../limits/evaluate.js';
import type { FixedWindowState } from '../limits/fixed-window.js';
import type { GcraState } from '../limits/gcra.js';
import type { SlidingWindowState } from '../limits/sliding-window.js';
import type { LimitStore, StoreRequest } from '../limits/store.js';
import type { Algorithm, CompiledPolicy, PolicyResult } from '../limits/types.js';
import { type Clock, systemClock } from '../time.js';
import { createSlotTable, type SlotTable } from './memory-table.js';

export interface MemoryStoreOptions {
  /** The store's own clock, used when a request carries no `nowEpochMs`. */
  clock?: Clock;
  /**
   * Slots examined for expiry each time a new key is stored (default 4): more reclaims sooner, fewer is cheaper.
   * Any value of 2 or more keeps the table within a small factor of the live keys.
   */
  sweepPerInsert?: number;
}

export interface MemoryStore extends LimitStore {
  /** Keys held across all policies, including expired ones not yet reclaimed. */
  size(): number;
}

/**
 * How one algorithm's state sits in a table's columns. `read` fills one scratch object per table rather than
 * allocating: the pure functions never keep their input, and a state they return unchanged is that same
 * object, which the store then does not write back. (Measured: one allocation less per decision on a hot key.)
 */
interface Codec {
  width: number;
  read(table: SlotTable, slot: number): LimitState;
  write(table: SlotTable, slot: number, state: LimitState): void;
}

function objectCodec(): Codec {
  return {
    width: 0,
    read: (table, slot) => table.object(slot) as LimitState,
    write: (table, slot, state) => table.setObject(slot, state),
  };
}

function gcraCodec(): Codec {
  const scratch = { theoreticalArrivalAtEpochUs: 0 };
  return {
    width: 1,
    read(table, slot) {
      scratch.theoreticalArrivalAtEpochUs = table.number(slot, 0);
      return scratch;
    },
    write: (table, slot, state) => table.setNumber(slot, 0, (state as GcraState).theoreticalArrivalAtEpochUs),
  };
}

const CODECS: Record<Algorithm, () => Codec> = {
  'fixed-window': () => {
    const scratch = { windowStartAtEpochMs: 0, count: 0 };
    return {
      width: 2,
      read(table, slot) {
        scratch.windowStartAtEpochMs = table.number(slot, 0);
        scratch.count = table.number(slot, 1);
        return scratch;
      },
      write(table, slot, state) {
        table.setNumber(slot, 0, (state as FixedWindowState).windowStartAtEpochMs);
        table.setNumber(slot, 1, (state as FixedWindowState).count);
      },
    };
  },
  'sliding-window': () => {
    const scratch = { windowStartAtEpochMs: 0, current: 0, previous: 0 };
    return {
      width: 3,
      read(table, slot) {
        scratch.windowStartAtEpochMs = table.number(slot, 0);
        scratch.current = table.number(slot, 1);
        scratch.previous = table.number(slot, 2);
        return scratch;
      },
      write(table, slot, state) {
        const { windowStartAtEpochMs, current, previous } = state as SlidingWindowState;
        table.setNumber(slot, 0, windowStartAtEpochMs);
        table.setNumber(slot, 1, current);
        table.setNumber(slot, 2, previous);
      },
    };
  },
  'sliding-log': objectCodec,
  'token-bucket': gcraCodec,
  'leaky-bucket': gcraCodec,
  concurrency: objectCodec,
};

interface PolicyTable {
  table: SlotTable;
  codec: Codec;
  algorithm: AlgorithmFunctions;
  /** A take on this policy acquires a lease. */
  leases: boolean;
}

/**
 * A store for one process: calls the pure algorithms directly on states kept in typed-array columns (about
 * 100 bytes per key for counters and buckets; see docs/algorithms.md), reclaiming expired keys incrementally.
 * Every request runs synchronously, so it is atomic within the process.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const clock = options.clock ?? systemClock;
  if (typeof clock.now !== 'function') {
    throw new InvalidOptionError('clock', 'expected a clock (an object with now()), such as systemClock');
  }
  const sweepPerInsert = options.sweepPerInsert ?? 4;
  if (!Number.isSafeInteger(sweepPerInsert) || sweepPerInsert < 1) {
    throw new InvalidOptionError('sweepPerInsert', `expected a positive integer, got ${String(sweepPerInsert)}`);
  }
  const tablesById = new Map<string, PolicyTable>();
  // Limiters pass the same policies array on every request: resolve its tables once.
  const tablesByPolicies = new WeakMap<readonly CompiledPolicy[], PolicyTable[]>();
  let lastPolicies: readonly CompiledPolicy[] | undefined;
  let lastTables: PolicyTable[] = [];

  function tablesFor(policies: readonly CompiledPolicy[]): PolicyTable[] {
    if (policies === lastPolicies) return lastTables;
    let tables = tablesByPolicies.get(policies);
    if (tables === undefined) {
      tables = policies.map((policy) => {
        let entry = tablesById.get(policy.id);
        if (entry === undefined) {
          const codec = CODECS[policy.algorithm]();
          entry = {
            table: createSlotTable(codec.width),
            codec,
            algorithm: ALGORITHM_FUNCTIONS[policy.algorithm],
            leases: policy.algorithm === 'concurrency',
          };
          tablesById.set(policy.id, entry);
        }
        return entry;
      });
      tablesByPolicies.set(policies, tables);
    }
    lastPolicies = policies;
    lastTables = tables;
    return tables;
  }

  function read({ table, codec }: PolicyTable, slot: number, nowEpochMs: number): LimitState | undefined {
    return slot !== -1 && table.isLive(slot, nowEpochMs) ? codec.read(table, slot) : undefined;
  }

  function persist(
    { table, codec, algorithm }: PolicyTable,
    key: string,
    slot: number,
    state: LimitState | undefined,
    policy: CompiledPolicy,
    nowEpochMs: number,
  ): void {
    if (state === undefined) {
      table.remove(key);
      return;
    }
    const expiresAtEpochMs = algorithm.expiresAtEpochMs(state, policy);
    if (expiresAtEpochMs <= nowEpochMs) {
      // Already equivalent to no state (the last lease released): leave the slot to expire rather than delete
      // the key, so that a key taken and released in turn does not churn the Map. The sweep reclaims it.
      if (slot !== -1) table.claim(key, slot, 0);
      return;
    }
    codec.write(table, table.claim(key, slot, expiresAtEpochMs), state);
    // Only a new key grows the table, so that is when expired ones are looked for.
    if (slot === -1) table.sweep(nowEpochMs, sweepPerInsert);
  }

  function leaseIdFor(request: StoreRequest): string | undefined {
    if (request.leaseId !== undefined || request.operation !== 'take') return request.leaseId;
    for (const policy of request.policies) if (policy.algorithm === 'concurrency') return randomUUID();
    return undefined;
  }

  function evaluateSync(request: StoreRequest): PolicyResult[] {
    const { key, policies, operation, cost } = request;
    const nowEpochMs = request.nowEpochMs ?? clock.now();
    const tables = tablesFor(policies);
    if (operation === 'take' && tables.length === 1) {
      // The common case, without the arrays of the general path: one policy is trivially all-or-nothing.
      const entry = tables[0] as PolicyTable;
      const policy = policies[0] as CompiledPolicy;
      const slot = entry.table.slotOf(key);
      const state = read(entry, slot, nowEpochMs);
      const leaseId = entry.leases ? (request.leaseId ?? randomUUID()) : undefined;
      const taken = entry.algorithm.step(state, nowEpochMs, cost, policy, leaseId);
      if (taken.state !== state) persist(entry, key, slot, taken.state, policy, nowEpochMs);
      return [taken.result];
    }
    const slots = tables.map(({ table }) => table.slotOf(key));
    const states = tables.map((entry, i) => read(entry, slots[i] as number, nowEpochMs));
    const evaluation = evaluatePolicies(states, nowEpochMs, operation, cost, policies, leaseIdFor(request));
    tables.forEach((entry, i) => {
      const state = evaluation.states[i];
      if (state !== states[i])
        persist(entry, key, slots[i] as number, state, policies[i] as CompiledPolicy, nowEpochMs);
    });
    return evaluation.results;
  }

  return {
    evaluateSync,
    evaluate(request) {
      try {
        return Promise.resolve(evaluateSync(request));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    // A method, not a getter: a getter would slow every call on this object (see memory-table.ts).
    size() {
      let size = 0;
      for (const { table } of tablesById.values()) size += table.size();
      return size;
    },
    close: () => Promise.resolve(),
  };
}
