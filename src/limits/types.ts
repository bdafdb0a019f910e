import type { Duration } from '../time.js';

/** The six limit algorithms. docs/algorithms.md describes each one's behaviour, cost of a rejection and memory. */
export type Algorithm =
  | 'fixed-window'
  | 'sliding-window'
  | 'sliding-log'
  | 'token-bucket'
  | 'leaky-bucket'
  | 'concurrency';

export const ALGORITHMS: readonly Algorithm[] = [
  'fixed-window',
  'sliding-window',
  'sliding-log',
  'token-bucket',
  'leaky-bucket',
  'concurrency',
];

/** A limit as a user writes it (in code or config). `createLimiter` validates it and compiles it to a `CompiledPolicy`. */
export interface PolicyOptions {
  algorithm: Algorithm;
  /**
   * Units per `window`: requests (or cost units) per window for the window algorithms, the refill rate for the
   * buckets (`limit` per `window`), the number of slots held at once for `concurrency`. A positive integer.
   */
  limit: number;
  /** The window (or the refill period for the buckets). Required except for `concurrency`, which has none. */
  window?: Duration;
  /**
   * token-bucket: the bucket's capacity, the most units that can pass at once (default `limit`).
   * leaky-bucket: nginx `limit_req` burst, the excess units accepted beyond the one in progress (default 0).
   */
  burst?: number;
  /** leaky-bucket: nginx `delay=`: excess units accepted without delay (default 0: every excess unit is delayed). */
  delay?: number;
  /** leaky-bucket: nginx `nodelay`: accept the whole burst without delay (same as `delay: burst`). */
  nodelay?: boolean;
  /** concurrency: how long a lease lives if its holder never releases it (default: the limiter's `leaseMs`). */
  lease?: Duration;
  /** Names the policy's state: policies with the same name share state on a store; defaults to a signature. */
  name?: string;
}

/**
 * A validated policy as plain data: everything a store needs to evaluate it, in whole integers (milliseconds,
 * microseconds for the bucket interval) so that a Lua script with doubles computes exactly what JavaScript does.
 * Fields an algorithm does not use are 0.
 */
export interface CompiledPolicy {
  /**
   * Identifies the policy's state on a store: `[prefix:]algorithm:name-or-signature`, e.g.
   * `fixed-window:100/1000ms`. The state of (policy, key) lives under (id, key). Unique within a limiter.
   */
  readonly id: string;
  /** The user's `name`, or `policies[i]` when none was given. For messages and decisions. */
  readonly name: string;
  /** Position in the limiter's list of policies. */
  readonly index: number;
  readonly algorithm: Algorithm;
  /** As given: units per window (rate for the buckets), or slots for concurrency. */
  readonly limit: number;
  /** Window (refill period for the buckets) in ms; 0 for concurrency. */
  readonly windowMs: number;
  /** The most units that can pass at once: `limit` for windows, logs and concurrency; the bucket size for buckets. */
  readonly capacity: number;
  /** token-bucket and leaky-bucket: time to earn one unit, `ceil(windowMs * 1000 / limit)` microseconds. */
  readonly intervalUs: number;
  /**
   * token-bucket and leaky-bucket: excess units (beyond the one in progress) admitted without delay. Beyond it a
   * decision carries `delayMs` (nginx `limit_req` without `nodelay`). token-bucket: `capacity` (never delays).
   */
  readonly delay: number;
  /** concurrency: lease lifetime in ms; 0 otherwise. */
  readonly leaseMs: number;
}

/** A held concurrency slot. Release it with `limiter.release(key, lease)`; it frees itself at `expiresAtEpochMs`. */
export interface Lease {
  readonly id: string;
  readonly expiresAtEpochMs: number;
}

/** What one policy says about one operation. Stores return one per policy, in the limiter's order. */
export interface PolicyResult {
  /** This policy admits the cost (for a take: it was consumed, if every policy admitted it). */
  allowed: boolean;
  /** Units that could still pass now, after this operation. Never negative. */
  remaining: number;
  /** Time until this policy is back to its full capacity if nothing more arrives (0 when it already is). */
  resetAfterMs: number;
  /** 0 when allowed; otherwise the least wait after which the same cost would be admitted (Infinity: never). */
  retryAfterMs: number;
  /** leaky-bucket without `nodelay`: how long the caller should hold the admitted request (nginx delay); else 0. */
  delayMs: number;
  /** concurrency, on an admitted take: the lease that holds the slots. */
  lease?: Lease;
  /** concurrency, on a release: whether the lease was held (false: unknown, already released or expired). */
  released?: boolean;
}

/** The outcome of a pure algorithm step: the state to keep (undefined: none) and what the policy says. */
export interface Step<State> {
  state: State | undefined;
  result: PolicyResult;
}

export type Outcome = 'allowed' | 'limited' | 'unavailable';

/** What decided when the store could not answer (`onStoreError`). */
export type StoreErrorPolicy = 'open' | 'closed' | 'local';

/** The limiter's answer (DESIGN.md "Limiter"). With several policies it reports the most restrictive one. */
export interface Decision {
  allowed: boolean;
  /** 'unavailable': the store could not answer and `fallback` decided; never disguised as 'limited'. */
  outcome: Outcome;
  /** The reported policy's `limit`. */
  limit: number;
  /** Units that could still pass now under the reported policy. */
  remaining: number;
  /** Time until the reported policy is back to full capacity if nothing more arrives. */
  resetAfterMs: number;
  /**
   * 0 when allowed; otherwise the least wait after which the same cost would be admitted (the latest among the
   * policies that limited). `Infinity` when the cost exceeds a policy's capacity: it can never pass.
   */
  retryAfterMs: number;
  /** The most restrictive policy: the one that limited (longest wait), else the one with the least remaining. */
  policy: CompiledPolicy;
  /** Concurrency: the lease to release. */
  lease?: Lease;
  /** leaky-bucket without `nodelay`: hold the admitted request this long before sending it (nginx delay); else 0. */
  delayMs: number;
  /** Present when `outcome` is 'unavailable': which `onStoreError` policy decided. */
  fallback?: StoreErrorPolicy;
  /** Present when `outcome` is 'unavailable': what the store threw. */
  error?: unknown;
}

/** The result of `limiter.release`. 'not-held': unknown, already released or expired (its slot is free anyway). */
export type ReleaseOutcome = 'released' | 'not-held' | 'unavailable';
