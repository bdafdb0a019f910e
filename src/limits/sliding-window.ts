import type { CompiledPolicy, Step } from './types.js';

/** Counts of the current and the previous epoch-aligned window. */
export interface SlidingWindowState {
  readonly windowStartAtEpochMs: number;
  readonly current: number;
  readonly previous: number;
}

/**
 * Sliding window counter (Cloudflare's approximation): the count over the last `windowMs` is estimated as
 * `previous × (windowMs − elapsed) / windowMs + current`, where `elapsed` is the time into the current
 * epoch-aligned window. A rejection changes nothing.
 *
 * All comparisons are scaled by `windowMs` so they stay in integers (the policy keeps `limit × windowMs` below
 * 2^51): Lua computes exactly the same.
 */
export function slidingWindow(
  state: SlidingWindowState | undefined,
  nowEpochMs: number,
  cost: number,
  policy: CompiledPolicy,
): Step<SlidingWindowState> {
  const { limit, windowMs } = policy;
  const windowStartAtEpochMs = Math.floor(nowEpochMs / windowMs) * windowMs;
  const elapsedMs = nowEpochMs - windowStartAtEpochMs;
  const windowEndAfterMs = windowMs - elapsedMs;
  let current = 0;
  let previous = 0;
  if (state !== undefined) {
    if (state.windowStartAtEpochMs === windowStartAtEpochMs) {
      current = state.current;
      previous = state.previous;
    } else if (state.windowStartAtEpochMs === windowStartAtEpochMs - windowMs) {
      previous = state.current;
    }
  }
  // The previous window's share, scaled by windowMs.
  const previousScaled = previous * windowEndAfterMs;
  const limitScaled = limit * windowMs;

  if (previousScaled + (current + cost) * windowMs <= limitScaled) {
    const next = current + cost;
    return {
      state: cost === 0 ? state : { windowStartAtEpochMs, current: next, previous },
      result: {
        allowed: true,
        remaining: Math.floor((limitScaled - previousScaled - next * windowMs) / windowMs),
        resetAfterMs: resetAfterMs(next, previous, windowEndAfterMs, windowMs),
        retryAfterMs: 0,
        delayMs: 0,
      },
    };
  }
  return {
    state,
    result: {
      allowed: false,
      remaining: Math.max(0, Math.floor((limitScaled - previousScaled - current * windowMs) / windowMs)),
      resetAfterMs: resetAfterMs(current, previous, windowEndAfterMs, windowMs),
      retryAfterMs: cost > limit ? Number.POSITIVE_INFINITY : retryAfterMs(current, previous, elapsedMs, cost, policy),
      delayMs: 0,
    },
  };
}

/** The estimate reaches 0 once the current count has slid fully out: the end of the next window. */
function resetAfterMs(current: number, previous: number, windowEndAfterMs: number, windowMs: number): number {
  if (current > 0) return windowEndAfterMs + windowMs;
  if (previous > 0) return windowEndAfterMs;
  return 0;
}

/**
 * The least wait after which `cost` fits: either later in this window, once the previous window's weight has
 * decayed enough, or in the next window, where this window's count becomes the decaying one.
 */
function retryAfterMs(current: number, previous: number, elapsedMs: number, cost: number, policy: CompiledPolicy) {
  const { limit, windowMs } = policy;
  const room = limit - current - cost;
  if (room >= 0 && previous > 0) {
    // previous × (windowMs − e) ≤ room × windowMs  ⇔  e ≥ windowMs − room × windowMs / previous
    const fitsAtElapsedMs = windowMs - Math.floor((room * windowMs) / previous);
    if (fitsAtElapsedMs < windowMs) return fitsAtElapsedMs - elapsedMs;
  }
  // In the next window: current × (windowMs − e) + cost × windowMs ≤ limit × windowMs.
  const fitsAtElapsedMs = current > 0 ? Math.max(0, windowMs - Math.floor(((limit - cost) * windowMs) / current)) : 0;
  return windowMs - elapsedMs + fitsAtElapsedMs;
}

/** After this time the state is equivalent to no state (a store may drop it). */
export function slidingWindowExpiresAtEpochMs(state: SlidingWindowState, policy: CompiledPolicy): number {
  return state.windowStartAtEpochMs + 2 * policy.windowMs;
}
