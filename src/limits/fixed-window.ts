import type { CompiledPolicy, Step } from './types.js';

/** The count admitted in one window. Windows are aligned to the Unix epoch: [k·windowMs, (k+1)·windowMs). */
export interface FixedWindowState {
  readonly windowStartAtEpochMs: number;
  readonly count: number;
}

/**
 * Fixed window: at most `limit` units per epoch-aligned window. A rejection changes nothing (it costs nothing).
 * The state of an earlier window counts as empty.
 */
export function fixedWindow(
  state: FixedWindowState | undefined,
  nowEpochMs: number,
  cost: number,
  policy: CompiledPolicy,
): Step<FixedWindowState> {
  const { limit, windowMs } = policy;
  const windowStartAtEpochMs = Math.floor(nowEpochMs / windowMs) * windowMs;
  const windowEndAfterMs = windowStartAtEpochMs + windowMs - nowEpochMs;
  const count = state !== undefined && state.windowStartAtEpochMs === windowStartAtEpochMs ? state.count : 0;

  const allowed = count + cost <= limit;
  const counted = allowed ? count + cost : count;
  return {
    state: allowed && cost > 0 ? { windowStartAtEpochMs, count: counted } : state,
    result: {
      allowed,
      remaining: Math.max(0, limit - counted),
      resetAfterMs: counted > 0 ? windowEndAfterMs : 0,
      // A refused cost fits in the next window, which starts empty, unless it is above the limit.
      retryAfterMs: allowed ? 0 : cost > limit ? Number.POSITIVE_INFINITY : windowEndAfterMs,
      delayMs: 0,
    },
  };
}

/** After this time the state is equivalent to no state (a store may drop it). */
export function fixedWindowExpiresAtEpochMs(state: FixedWindowState, policy: CompiledPolicy): number {
  return state.windowStartAtEpochMs + policy.windowMs;
}
