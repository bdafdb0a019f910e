import { type GcraState, gcra } from './gcra.js';
import type { CompiledPolicy, Step } from './types.js';

export type LeakyBucketState = GcraState;

/**
 * Leaky bucket in nginx `limit_req` semantics: `rate = limit / window`, `burst` excess requests may queue beyond
 * the one in progress (capacity burst + 1), and without `nodelay` each admitted request carries the `delayMs`
 * nginx would hold it for (`delay=` excess requests go undelayed). Implemented as GCRA: one number per key, exact
 * `retryAfterMs`; a rejection changes nothing (nginx does not count rejected requests either).
 */
export function leakyBucket(
  state: LeakyBucketState | undefined,
  nowEpochMs: number,
  cost: number,
  policy: CompiledPolicy,
): Step<LeakyBucketState> {
  return gcra(state, nowEpochMs, cost, policy);
}
