/**
 * Turns an upstream's configured limits (and `concurrency`) into the budget core's seeds, grouped by the budget
 * they belong to: one shared by every credential of the upstream, each credential's own, and route buckets.
 */
import type { ConfiguredLimit } from '../budget/types.js';
import type { UpstreamLimit } from '../config/policy.js';

export interface ConfiguredBudgets {
  /** Limits shared by every credential (scope: upstream), applying to every call. */
  upstream: ConfiguredLimit[];
  /** Shared by every credential, for calls routed to a bucket. */
  upstreamBuckets: Record<string, ConfiguredLimit[]>;
  /** Each credential's own, applying to every call. */
  credential: ConfiguredLimit[];
  /** Each credential's own, for calls routed to a bucket. */
  credentialBuckets: Record<string, ConfiguredLimit[]>;
}

/**
 * How each algorithm is paced. Fixed windows are epoch-aligned windows, spread like a provider's. Token and leaky
 * buckets are buckets of `burst` refilling at `limit` per window. Sliding windows may never hold more than `limit`
 * in any window, which only a steady pace guarantees: a bucket of one unit refilling at `limit` per window.
 */
export function toConfiguredLimit(limit: UpstreamLimit): ConfiguredLimit {
  const name = limit.name;
  switch (limit.algorithm) {
    case 'fixed-window':
      return { name, unit: limit.unit, model: 'window', limit: limit.limit, windowMs: limit.windowMs };
    case 'sliding-window':
    case 'sliding-log':
      return { name, unit: limit.unit, model: 'bucket', limit: limit.limit, windowMs: limit.windowMs, burst: 1 };
    case 'token-bucket':
    case 'leaky-bucket':
      return {
        name,
        unit: limit.unit,
        model: 'bucket',
        limit: limit.limit,
        windowMs: limit.windowMs,
        burst: limit.burst,
      };
    case 'concurrency':
      return { name, unit: 'concurrency', model: 'concurrency', limit: limit.limit, windowMs: 1 };
  }
}

export function configuredBudgets(limits: readonly UpstreamLimit[], concurrency: number | null): ConfiguredBudgets {
  const budgets: ConfiguredBudgets = { upstream: [], upstreamBuckets: {}, credential: [], credentialBuckets: {} };
  for (const limit of limits) {
    const seed = toConfiguredLimit(limit);
    const shared = limit.scope === 'upstream';
    if (limit.bucket === null) (shared ? budgets.upstream : budgets.credential).push(seed);
    else {
      const byBucket = shared ? budgets.upstreamBuckets : budgets.credentialBuckets;
      (byBucket[limit.bucket] ??= []).push(seed);
    }
  }
  if (concurrency !== null) {
    budgets.credential.push({
      name: 'concurrency',
      unit: 'concurrency',
      model: 'concurrency',
      limit: concurrency,
      windowMs: 1,
    });
  }
  return budgets;
}
