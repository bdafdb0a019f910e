import { type GcraState, gcra } from './gcra.js';
import type { CompiledPolicy, Step } from './types.js';

export type TokenBucketState = GcraState;

/**
 * Token bucket: a bucket of `capacity` (the policy's `burst`, default `limit`) tokens refilled at `limit` per
 * `windowMs`; a take of cost n needs n tokens. Implemented as GCRA: one number per key, exact `retryAfterMs`,
 * and a rejection takes no tokens. Never delays (`delay` is the capacity).
 */
export function tokenBucket(
  state: TokenBucketState | undefined,
  nowEpochMs: number,
  cost: number,
  policy: CompiledPolicy,
): Step<TokenBucketState> {
  return gcra(state, nowEpochMs, cost, policy);
}
