import type { PolicyOptions } from './types.js';

/**
 * The policies an in-process fallback enforces while the shared store is unavailable: each limit (and burst)
 * scaled by `share`, the process's part of the whole, rounded down but never below 1 (a limit of 0 would
 * refuse everything).
 */
export function shareOfPolicies(policies: readonly PolicyOptions[], share: number): PolicyOptions[] {
  const scale = (units: number) => Math.max(1, Math.floor(units * share));
  return policies.map((policy) => {
    const scaled: PolicyOptions = { ...policy, limit: scale(policy.limit) };
    if (typeof policy.burst === 'number' && share < 1) {
      scaled.burst = policy.algorithm === 'leaky-bucket' ? Math.floor(policy.burst * share) : scale(policy.burst);
      if (typeof policy.delay === 'number') scaled.delay = Math.min(policy.delay, scaled.burst);
    }
    return scaled;
  });
}
