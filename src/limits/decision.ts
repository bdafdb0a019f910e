import type { CompiledPolicy, Decision, PolicyResult } from './types.js';

/**
 * Turns the per-policy results of one operation into the limiter's decision. Allowed only if every policy
 * admitted. It reports the most restrictive policy: among those that limited, the one with the longest wait
 * (the caller must wait for all of them); when all admitted, the one with the least remaining (first on ties).
 */
export function toDecision(results: readonly PolicyResult[], policies: readonly CompiledPolicy[]): Decision {
  if (results.length === 1) return single(results[0] as PolicyResult, policies[0] as CompiledPolicy);
  let reported = 0;
  let allowed = true;
  let delayMs = 0;
  let lease: PolicyResult['lease'];
  for (let i = 0; i < results.length; i++) {
    const result = results[i] as PolicyResult;
    const best = results[reported] as PolicyResult;
    if (result.delayMs > delayMs) delayMs = result.delayMs;
    if (result.lease !== undefined && lease === undefined) lease = result.lease;
    if (!result.allowed) {
      if (allowed || result.retryAfterMs > best.retryAfterMs) reported = i;
      allowed = false;
    } else if (allowed && result.remaining < best.remaining) {
      reported = i;
    }
  }
  const result = results[reported] as PolicyResult;
  const policy = policies[reported] as CompiledPolicy;
  return {
    allowed,
    outcome: allowed ? 'allowed' : 'limited',
    limit: policy.limit,
    remaining: result.remaining,
    resetAfterMs: result.resetAfterMs,
    retryAfterMs: allowed ? 0 : result.retryAfterMs,
    policy,
    lease: allowed ? lease : undefined,
    delayMs: allowed ? delayMs : 0,
  };
}

function single(result: PolicyResult, policy: CompiledPolicy): Decision {
  const { allowed } = result;
  return {
    allowed,
    outcome: allowed ? 'allowed' : 'limited',
    limit: policy.limit,
    remaining: result.remaining,
    resetAfterMs: result.resetAfterMs,
    retryAfterMs: result.retryAfterMs,
    policy,
    lease: result.lease,
    delayMs: result.delayMs,
  };
}

/** A cost above a policy's capacity can never pass: said as a decision, not an error (see docs/algorithms.md). */
export function neverDecision(result: PolicyResult, policy: CompiledPolicy): Decision {
  return {
    allowed: false,
    outcome: 'limited',
    limit: policy.limit,
    remaining: result.remaining,
    resetAfterMs: result.resetAfterMs,
    retryAfterMs: Number.POSITIVE_INFINITY,
    policy,
    lease: undefined,
    delayMs: 0,
  };
}
