import { type ConcurrencyState, concurrency, concurrencyExpiresAtEpochMs } from './concurrency.js';
import { type FixedWindowState, fixedWindow, fixedWindowExpiresAtEpochMs } from './fixed-window.js';
import { type GcraState, gcraExpiresAtEpochMs } from './gcra.js';
import { leakyBucket } from './leaky-bucket.js';
import { type SlidingLogState, slidingLog, slidingLogExpiresAtEpochMs } from './sliding-log.js';
import { type SlidingWindowState, slidingWindow, slidingWindowExpiresAtEpochMs } from './sliding-window.js';
import { tokenBucket } from './token-bucket.js';
import type { Algorithm, CompiledPolicy, Step } from './types.js';

/** The state of any algorithm; which one is known from the policy. */
export type LimitState = FixedWindowState | SlidingWindowState | SlidingLogState | GcraState | ConcurrencyState;

/** An algorithm's pure step and the time after which its state is equivalent to none. */
export interface AlgorithmFunctions {
  step(
    state: LimitState | undefined,
    nowEpochMs: number,
    cost: number,
    policy: CompiledPolicy,
    leaseId?: string,
  ): Step<LimitState>;
  expiresAtEpochMs(state: LimitState, policy: CompiledPolicy): number;
}

type AnyStep = AlgorithmFunctions['step'];
type AnyExpiry = AlgorithmFunctions['expiresAtEpochMs'];

/** The one dispatch table from an algorithm's name to its pure functions. */
export const ALGORITHM_FUNCTIONS: Readonly<Record<Algorithm, AlgorithmFunctions>> = {
  'fixed-window': {
    step: fixedWindow as AnyStep,
    expiresAtEpochMs: fixedWindowExpiresAtEpochMs as AnyExpiry,
  },
  'sliding-window': {
    step: slidingWindow as AnyStep,
    expiresAtEpochMs: slidingWindowExpiresAtEpochMs as AnyExpiry,
  },
  'sliding-log': { step: slidingLog as AnyStep, expiresAtEpochMs: slidingLogExpiresAtEpochMs as AnyExpiry },
  'token-bucket': { step: tokenBucket as AnyStep, expiresAtEpochMs: gcraExpiresAtEpochMs as AnyExpiry },
  'leaky-bucket': { step: leakyBucket as AnyStep, expiresAtEpochMs: gcraExpiresAtEpochMs as AnyExpiry },
  concurrency: { step: concurrency as AnyStep, expiresAtEpochMs: concurrencyExpiresAtEpochMs as AnyExpiry },
};

/** Runs the policy's algorithm. */
export function stepPolicy(
  state: LimitState | undefined,
  nowEpochMs: number,
  cost: number,
  policy: CompiledPolicy,
  leaseId?: string,
): Step<LimitState> {
  return ALGORITHM_FUNCTIONS[policy.algorithm].step(state, nowEpochMs, cost, policy, leaseId);
}

/** After this time `state` is equivalent to no state, so a store may drop it (a TTL for Redis). */
export function stateExpiresAtEpochMs(state: LimitState, policy: CompiledPolicy): number {
  return ALGORITHM_FUNCTIONS[policy.algorithm].expiresAtEpochMs(state, policy);
}
