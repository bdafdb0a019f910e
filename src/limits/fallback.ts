import { randomUUID } from 'node:crypto';
import { createMemoryStore } from '../stores/memory.js';
import type { Clock } from '../time.js';
import { neverDecision, toDecision } from './decision.js';
import { shareOfPolicies } from './local-share.js';
import { type CompileOptions, compilePolicies } from './policy.js';
import type { LimitStore, StoreOperation } from './store.js';
import type { CompiledPolicy, Decision, PolicyOptions, PolicyResult, StoreErrorPolicy } from './types.js';

export interface FallbackSettings extends CompileOptions {
  onStoreError: StoreErrorPolicy;
  unavailableRetryAfterMs: number;
}

const LOCAL_LEASE = 'local:';
const OPEN_LEASE = 'open:';

/**
 * What decides while the store cannot answer (`onStoreError`): 'open' admits, 'closed' refuses, 'local' asks an
 * in-process memory store holding `localShare` of each limit. Every decision it makes says 'unavailable', which
 * fallback decided, and the store's error. Leases it hands out carry a prefix, so their release finds them.
 */
export interface StoreErrorFallback {
  decide(
    operation: 'take' | 'peek',
    key: string,
    cost: number,
    nowEpochMs: number | undefined,
    error: unknown,
  ): Promise<Decision>;
  /** The store that holds a lease this fallback gave ('local'), 'none' for an 'open' one, undefined if not ours. */
  storeOf(leaseId: string): { store: LimitStore; policies: readonly CompiledPolicy[] } | 'none' | undefined;
  /** Forgets the key's local state, if there is any. */
  reset(key: string, nowEpochMs: number | undefined): Promise<void>;
}

export function createStoreErrorFallback(
  given: readonly PolicyOptions[],
  policies: readonly CompiledPolicy[],
  settings: FallbackSettings,
  clock: Clock | undefined,
  /** This process's share of each limit (it may change between outages: live instances come and go). */
  shareOf: () => number,
): StoreErrorFallback {
  const hasConcurrency = policies.some((policy) => policy.algorithm === 'concurrency');
  let local: { store: LimitStore; policies: CompiledPolicy[]; share: number } | undefined;

  function localLimiter() {
    const share = shareOf();
    if (local === undefined || local.share !== share) {
      local = {
        store: createMemoryStore(clock ? { clock } : {}),
        policies: compilePolicies(shareOfPolicies(given, share), settings),
        share,
      };
    }
    return local;
  }

  async function decideLocally(operation: 'take' | 'peek', key: string, cost: number, nowEpochMs?: number) {
    const { store, policies: shared } = localLimiter();
    const oversized = shared.find((policy) => policy.capacity < cost);
    const results: PolicyResult[] = await store.evaluate({
      operation: oversized ? 'peek' : operation,
      key,
      policies: shared,
      cost: oversized ? 0 : cost,
      leaseId: hasConcurrency && operation === 'take' ? LOCAL_LEASE + randomUUID() : undefined,
      nowEpochMs,
    });
    const decision = oversized
      ? neverDecision(results[oversized.index] as PolicyResult, oversized)
      : toDecision(results, shared);
    // Locally too small for this cost is not "never": the shared limit may hold it once the store is back.
    if (!Number.isFinite(decision.retryAfterMs)) decision.retryAfterMs = settings.unavailableRetryAfterMs;
    return decision;
  }

  return {
    async decide(operation, key, cost, nowEpochMs, error) {
      const said = { outcome: 'unavailable' as const, fallback: settings.onStoreError, error };
      if (settings.onStoreError === 'local')
        return { ...(await decideLocally(operation, key, cost, nowEpochMs)), ...said };
      const policy = policies[0] as CompiledPolicy;
      const open = settings.onStoreError === 'open';
      const lease =
        open && hasConcurrency && operation === 'take'
          ? { id: OPEN_LEASE + randomUUID(), expiresAtEpochMs: (nowEpochMs ?? Date.now()) + settings.leaseMs }
          : undefined;
      return {
        ...said,
        allowed: open,
        limit: policy.limit,
        // Unknown: the store did not say.
        remaining: 0,
        resetAfterMs: 0,
        retryAfterMs: open ? 0 : settings.unavailableRetryAfterMs,
        policy,
        lease,
        delayMs: 0,
      };
    },
    storeOf(leaseId) {
      if (leaseId.startsWith(OPEN_LEASE)) return 'none';
      if (leaseId.startsWith(LOCAL_LEASE)) return localLimiter();
      return undefined;
    },
    async reset(key, nowEpochMs) {
      if (local === undefined) return;
      const operation: StoreOperation = 'reset';
      await local.store.evaluate({ operation, key, policies: local.policies, cost: 0, nowEpochMs });
    },
  };
}
