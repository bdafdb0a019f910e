import { randomUUID } from 'node:crypto';
import { InvalidOptionError, SluiceError } from '../errors.js';
import { createMemoryStore } from '../stores/memory.js';
import type { Clock } from '../time.js';
import { neverDecision, toDecision } from './decision.js';
import { createStoreErrorFallback } from './fallback.js';
import { compilePolicies, describe, nonNegativeInteger, positiveInteger } from './policy.js';
import type { LimitStore, StoreRequest } from './store.js';
import type {
  CompiledPolicy,
  Decision,
  Lease,
  PolicyOptions,
  PolicyResult,
  ReleaseOutcome,
  StoreErrorPolicy,
} from './types.js';

export interface LimiterOptions {
  /** Where states live (default: a new memory store). A Redis store shares limits across processes. */
  store?: LimitStore;
  /** Inject a clock (tests): its time is sent with every request. Without one, the store uses its own clock. */
  clock?: Clock;
  /**
   * When the store cannot answer: 'open' admits, 'closed' refuses, 'local' (default) decides with an in-process
   * limiter holding `localShare` of each limit. Either way the decision's outcome is 'unavailable'.
   */
  onStoreError?: StoreErrorPolicy;
  /**
   * This process's share of each limit for the 'local' fallback, in (0, 1]. Default: what the store says
   * (a Redis store: 1 / the live instances it counts by heartbeat), else 1.
   */
  localShare?: number;
  /** Lease lifetime for concurrency policies without their own `lease` (default 60 000 ms). */
  leaseMs?: number;
  /** Namespaces this limiter's state on a shared store. */
  prefix?: string;
  /** `retryAfterMs` of a refusal by the 'closed' fallback (default 1000 ms). */
  unavailableRetryAfterMs?: number;
}

export interface CostOptions {
  /** Units this call consumes: a non-negative integer (default 1). */
  cost?: number;
}

export interface Limiter {
  readonly policies: readonly CompiledPolicy[];
  /** Consumes `cost` from every policy, or from none, and says so. */
  take(key: string, options?: CostOptions): Promise<Decision>;
  /** What a take of `cost` would get, consuming nothing. `remaining` is what is left now. */
  peek(key: string, options?: CostOptions): Promise<Decision>;
  /** Frees a concurrency lease before it expires. */
  release(key: string, lease: Lease): Promise<ReleaseOutcome>;
  /**
   * Extends a concurrency lease that is still held to now + its lease time, so a live holder keeps a short lease
   * for as long as its call runs (see `holdLease`). 'not-held': released, expired or never held.
   */
  renew(key: string, lease: Lease): Promise<RenewResult>;
  /** Forgets every policy's state for `key` (the full limit is available again). */
  reset(key: string): Promise<void>;
}

export type RenewResult = { outcome: 'renewed'; lease: Lease } | { outcome: 'not-held' | 'unavailable' };

const STORE_ERROR_POLICIES: readonly StoreErrorPolicy[] = ['open', 'closed', 'local'];

/**
 * A limiter over one policy or several (all-or-nothing): a thin shell that validates input, asks the store to
 * evaluate every policy in one call, and turns the per-policy results into a decision.
 */
export function createLimiter(
  policyOrPolicies: PolicyOptions | readonly PolicyOptions[],
  options: LimiterOptions = {},
): Limiter {
  const settings = readOptions(options);
  const policies = compilePolicies(policyOrPolicies, settings);
  const store = options.store ?? createMemoryStore(options.clock ? { clock: options.clock } : {});
  const { clock } = options;
  const hasConcurrency = policies.some((policy) => policy.algorithm === 'concurrency');
  const given = Array.isArray(policyOrPolicies) ? policyOrPolicies : [policyOrPolicies as PolicyOptions];
  // A shared store says which share of each limit this process may use alone (1 / the live instances).
  const fallback = createStoreErrorFallback(
    given,
    policies,
    settings,
    clock,
    () => settings.localShare ?? storeShare(store),
  );

  const minimumCapacity = Math.min(...policies.map((policy) => policy.capacity));

  function decide(operation: 'take' | 'peek', key: string, costOptions: CostOptions | undefined): Promise<Decision> {
    let request: StoreRequest;
    let oversized: CompiledPolicy | undefined;
    let cost: number;
    try {
      checkKey(key);
      cost = readCost(costOptions);
      // A cost no policy can ever hold is answered here (with the current state), so stores never see one.
      oversized = cost > minimumCapacity ? firstBelowCapacity(policies, cost) : undefined;
      request = {
        operation: oversized ? 'peek' : operation,
        key,
        policies,
        cost: oversized ? 0 : cost,
        leaseId: hasConcurrency && operation === 'take' && !oversized ? randomUUID() : undefined,
        nowEpochMs: clock?.now(),
      };
    } catch (error) {
      return Promise.reject(error);
    }
    if (store.evaluateSync === undefined) return decideAsync(operation, request, cost, oversized);
    let results: PolicyResult[];
    try {
      results = store.evaluateSync(request);
    } catch (error) {
      return unavailable(operation, key, cost, request.nowEpochMs, error);
    }
    // The common case first: one policy, a sane answer.
    if (oversized === undefined && policies.length === 1 && Array.isArray(results) && results.length === 1) {
      return Promise.resolve(toDecision(results, policies));
    }
    return Promise.resolve(settle(operation, request, cost, oversized, results));
  }

  function decideAsync(
    operation: 'take' | 'peek',
    request: StoreRequest,
    cost: number,
    oversized: CompiledPolicy | undefined,
  ): Promise<Decision> {
    return store.evaluate(request).then(
      (results) => settle(operation, request, cost, oversized, results),
      (error: unknown) => unavailable(operation, request.key, cost, request.nowEpochMs, error),
    );
  }

  function settle(
    operation: 'take' | 'peek',
    request: StoreRequest,
    cost: number,
    oversized: CompiledPolicy | undefined,
    results: unknown,
  ): Decision | Promise<Decision> {
    let checked: PolicyResult[];
    try {
      checked = checkResults(results, policies.length);
    } catch (error) {
      return unavailable(operation, request.key, cost, request.nowEpochMs, error);
    }
    if (oversized) return neverDecision(checked[oversized.index] as PolicyResult, oversized);
    return toDecision(checked, policies);
  }

  function unavailable(
    operation: 'take' | 'peek',
    key: string,
    cost: number,
    nowEpochMs: number | undefined,
    error: unknown,
  ): Promise<Decision> {
    return fallback.decide(operation, key, cost, nowEpochMs, error);
  }

  function checkLease(key: string, lease: Lease): void {
    checkKey(key);
    if (typeof lease !== 'object' || lease === null || typeof lease.id !== 'string') {
      throw new InvalidOptionError(
        'lease',
        `expected the lease of a concurrency decision ({ id, expiresAtEpochMs }), got ${describe(lease)}`,
      );
    }
  }

  /**
   * Runs a release or a renewal on the store that gave the lease (the shared one, or the local fallback's); 'none'
   * for a lease the 'open' fallback gave, which holds nothing.
   */
  async function changeLease(
    operation: 'release' | 'renew',
    key: string,
    lease: Lease,
  ): Promise<PolicyResult[] | 'none'> {
    const owner = fallback.storeOf(lease.id);
    if (owner === 'none') return 'none';
    const target = owner ?? { store, policies };
    return checkResults(
      await target.store.evaluate({
        operation,
        key,
        policies: target.policies,
        cost: 0,
        leaseId: lease.id,
        nowEpochMs: clock?.now(),
      }),
      target.policies.length,
    );
  }

  async function release(key: string, lease: Lease): Promise<ReleaseOutcome> {
    checkLease(key, lease);
    try {
      const results = await changeLease('release', key, lease);
      return results !== 'none' && results.some((result) => result.released) ? 'released' : 'not-held';
    } catch {
      // The lease expires by itself: its slots are freed at expiresAtEpochMs at the latest.
      return 'unavailable';
    }
  }

  async function renew(key: string, lease: Lease): Promise<RenewResult> {
    checkLease(key, lease);
    try {
      const results = await changeLease('renew', key, lease);
      if (results === 'none') return { outcome: 'not-held' };
      const renewed = results.find((result) => result.lease !== undefined)?.lease;
      return renewed ? { outcome: 'renewed', lease: renewed } : { outcome: 'not-held' };
    } catch {
      return { outcome: 'unavailable' };
    }
  }

  async function reset(key: string): Promise<void> {
    checkKey(key);
    const nowEpochMs = clock?.now();
    await fallback.reset(key, nowEpochMs);
    const request: StoreRequest = { operation: 'reset', key, policies, cost: 0, nowEpochMs };
    try {
      await store.evaluate(request);
    } catch (error) {
      throw new SluiceError(
        'ERR_SLUICE_STORE_UNAVAILABLE',
        `could not reset "${key}": the limit store did not answer`,
        {
          cause: error,
        },
      );
    }
  }

  return {
    policies,
    take: (key, costOptions) => decide('take', key, costOptions),
    peek: (key, costOptions) => decide('peek', key, costOptions),
    release,
    renew,
    reset,
  };
}

/** The share a shared store says this process may use alone, kept within (0, 1]. */
function storeShare(store: LimitStore): number {
  const share = store.localShare?.();
  return typeof share === 'number' && share > 0 && share <= 1 ? share : 1;
}

function firstBelowCapacity(policies: readonly CompiledPolicy[], cost: number): CompiledPolicy | undefined {
  for (const policy of policies) if (policy.capacity < cost) return policy;
  return undefined;
}

function readOptions(options: LimiterOptions) {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', `expected an object, got ${describe(options)}`);
  }
  const onStoreError = options.onStoreError ?? 'local';
  if (!STORE_ERROR_POLICIES.includes(onStoreError)) {
    throw new InvalidOptionError('onStoreError', `expected "open", "closed" or "local", got ${describe(onStoreError)}`);
  }
  const { localShare } = options;
  if (localShare !== undefined && (typeof localShare !== 'number' || !(localShare > 0 && localShare <= 1))) {
    throw new InvalidOptionError(
      'localShare',
      `expected a number greater than 0 and at most 1, got ${describe(localShare)}`,
    );
  }
  if (options.store !== undefined && typeof options.store?.evaluate !== 'function') {
    throw new InvalidOptionError(
      'store',
      'expected a limit store (an object with evaluate), such as createMemoryStore()',
    );
  }
  if (options.clock !== undefined && typeof options.clock?.now !== 'function') {
    throw new InvalidOptionError('clock', 'expected a clock (an object with now()), such as createManualClock()');
  }
  if (options.prefix !== undefined && (typeof options.prefix !== 'string' || options.prefix === '')) {
    throw new InvalidOptionError('prefix', `expected a non-empty string, got ${describe(options.prefix)}`);
  }
  return {
    onStoreError,
    localShare,
    leaseMs: options.leaseMs === undefined ? 60_000 : positiveInteger(options.leaseMs, 'leaseMs'),
    prefix: options.prefix,
    unavailableRetryAfterMs:
      options.unavailableRetryAfterMs === undefined
        ? 1000
        : nonNegativeInteger(options.unavailableRetryAfterMs, 'unavailableRetryAfterMs'),
  };
}

// The checks are small enough to inline on the hot path; building the error is kept out of line.
function checkKey(key: unknown): void {
  if (typeof key !== 'string' || key.length === 0) throw invalidKey(key);
}

function invalidKey(key: unknown): InvalidOptionError {
  return new InvalidOptionError('key', `expected a non-empty string, got ${describe(key)}`);
}

function readCost(options: CostOptions | undefined): number {
  const cost = options === undefined ? undefined : options.cost;
  if (cost === undefined) return 1;
  if (typeof cost !== 'number' || !Number.isSafeInteger(cost) || cost < 0) throw invalidCost(cost);
  return cost;
}

function invalidCost(cost: unknown): InvalidOptionError {
  return new InvalidOptionError('cost', `expected a non-negative integer, got ${describe(cost)}`);
}

function checkResults(results: unknown, expected: number): PolicyResult[] {
  if (!Array.isArray(results) || results.length !== expected) {
    throw new SluiceError(
      'ERR_SLUICE_STORE_PROTOCOL',
      `the limit store returned ${Array.isArray(results) ? results.length : describe(results)} results for ${expected} policies`,
    );
  }
  return results as PolicyResult[];
}
