/**
 * What the limits benchmark measures: each case runs in its own child process (fresh heap and JIT state), so
 * that cases do not disturb each other and memory is measured with `--expose-gc`.
 */
import type { PolicyOptions } from '../../src/limits/types.js';

export type Implementation = 'sluice' | 'rate-limiter-flexible';
export type KeyMix = 'hot' | 'hot-limited' | 'distinct';
export type Measure = 'throughput' | 'memory';

export interface BenchCase {
  implementation: Implementation;
  /** Our algorithm (rate-limiter-flexible's RateLimiterMemory is a fixed window). */
  algorithm: PolicyOptions['algorithm'];
  mix: KeyMix;
  measure: Measure;
}

export const DISTINCT_KEYS = 1_000_000;

/**
 * Limits high enough that the hot key is never limited (the allowed path), except in `hot-limited`, and windows
 * long enough that no key's state expires during a run (so memory is measured on live states). The sliding log keeps one entry per admitted unit, so its hot
 * key uses a limit of 1000 and is mostly refused.
 */
export function policyFor(algorithm: PolicyOptions['algorithm'], mix: KeyMix): PolicyOptions {
  const limit = mix === 'hot-limited' ? 100 : 1_000_000_000;
  switch (algorithm) {
    case 'fixed-window':
    case 'sliding-window':
      return { algorithm, limit, window: '60s' };
    case 'sliding-log':
      return { algorithm, limit: mix === 'hot-limited' ? 100 : 1000, window: '60s' };
    // One unit per minute, so that a bucket stays below full (its state alive) for the whole run; the burst
    // (10M) is what the hot key spends.
    case 'token-bucket':
      return { algorithm, limit: 1, window: '60s', burst: mix === 'hot-limited' ? 100 : 10_000_000 };
    case 'leaky-bucket':
      return { algorithm, limit: 1, window: '60s', burst: mix === 'hot-limited' ? 100 : 10_000_000, nodelay: true };
    case 'concurrency':
      return { algorithm, limit: mix === 'hot-limited' ? 100 : limit };
  }
}

/** rate-limiter-flexible's equivalent of `policyFor('fixed-window', mix)`: points per duration (seconds). */
export function peerOptionsFor(mix: KeyMix): { points: number; duration: number } {
  return { points: mix === 'hot-limited' ? 100 : 1_000_000_000, duration: 60 };
}
