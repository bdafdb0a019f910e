import type { StoreOperation } from './evaluate.js';
import type { CompiledPolicy, PolicyResult } from './types.js';

export type { StoreOperation } from './evaluate.js';

/**
 * One request to a store: evaluate every policy of one key, atomically. Everything in it is plain data (strings
 * and integers), so a Redis store can pass it to one Lua script as KEYS and ARGV.
 */
export interface StoreRequest {
  /** 'take' | 'peek' | 'release' | 'renew' | 'reset'; the semantics are `evaluatePolicies` in src/limits/evaluate.ts. */
  operation: StoreOperation;
  /** The caller's key (a user, a tenant, an IP...). Any string. */
  key: string;
  /**
   * The limiter's compiled policies, in order. A policy's state for this key is identified by (policy.id, key);
   * ids are unique within one request. Algorithms and their states are the pure functions in src/limits/.
   */
  policies: readonly CompiledPolicy[];
  /**
   * A non-negative integer. For take and peek it never exceeds any policy's `capacity` (the limiter answers
   * larger costs itself), so a store never has to report an infinite `retryAfterMs`. 0 for release and reset.
   */
  cost: number;
  /** take: the id for the lease a concurrency policy acquires; release, renew: the lease. Absent otherwise. */
  leaseId?: string;
  /**
   * The injected clock's time, in whole epoch ms. Absent in production: the store then uses its own clock
   * (Redis: `TIME`, as whole ms: seconds × 1000 + floor(microseconds / 1000)), one reading for the whole request.
   */
  nowEpochMs?: number;
}

/**
 * Where limit states live. One method, one round trip, one atomic step per decision for all policies together.
 *
 * `evaluate` must behave exactly as `evaluatePolicies(states, now, operation, cost, policies, leaseId)` from
 * src/limits/evaluate.ts applied to the stored states of (policy.id, request.key) for every policy, followed by
 * storing the returned states — as one atomic step with respect to every other request on the same key. It
 * resolves with one `PolicyResult` per policy, in the request's order. test/limits/conformance.ts checks this;
 * run `runConformanceSuite` against a new store.
 *
 * Numbers: all arithmetic is on integers below 2^53 (policies are validated for it), so a Lua port with doubles
 * computes the same results when it performs the same operations; divisions are followed by floor/ceil exactly
 * where the TypeScript has Math.floor/Math.ceil. The bucket state is in microseconds (`intervalUs`).
 *
 * Expiry: each algorithm file exports `<algorithm>ExpiresAtEpochMs(state, policy)`; after that time the state is
 * equivalent to no state, so the store may drop it. A store must reclaim expired states without a full scan on
 * the hot path. On Redis, set the TTL relative to the request's now (`PEXPIRE key (expiresAtEpochMs − now)`), not
 * with `PEXPIREAT`: an injected `nowEpochMs` is not Redis time.
 *
 * Layout (Redis, suggested): one key per policy, `<prefix>{<key>}:<policy.id>`. The hash tag on the caller's key
 * puts all policies of one request in one Cluster slot, so the single script may touch them all.
 *
 * Failure: when the backend cannot answer (connection lost, timeout, script error), reject. Never resolve a
 * failure as a rejection: the limiter turns a rejected promise into an 'unavailable' decision and applies its
 * `onStoreError` policy.
 */
export interface LimitStore {
  evaluate(request: StoreRequest): Promise<PolicyResult[]>;
  /**
   * Optional, for stores that answer without I/O (the memory store): the same as `evaluate`, synchronously,
   * throwing where `evaluate` would reject. The limiter prefers it, saving a promise per decision.
   */
  evaluateSync?(request: StoreRequest): PolicyResult[];
  /** Releases the store's resources (connections, timers). */
  close?(): Promise<void>;
  /**
   * Optional, for shared stores: this process's share of each limit while the store cannot answer (1 / the number
   * of live instances). The limiter's 'local' fallback uses it unless `localShare` is given.
   */
  localShare?(): number;
}
