import type { CompiledPolicy, Step } from './types.js';

/**
 * The admission times of the units admitted in the last window, oldest first, one entry per unit of cost
 * (a take of cost 3 adds three equal times). At most `limit` entries: 8 bytes each.
 */
export interface SlidingLogState {
  readonly times: readonly number[];
}

/**
 * Sliding log: exact. A unit admitted at t counts until t + windowMs (exclusive), so at most `limit` units are
 * admitted in any window of `windowMs`. A rejection changes nothing. An admitted take copies the live entries
 * (the state is immutable), which costs O(limit): the log suits small limits.
 */
export function slidingLog(
  state: SlidingLogState | undefined,
  nowEpochMs: number,
  cost: number,
  policy: CompiledPolicy,
): Step<SlidingLogState> {
  const { limit, windowMs } = policy;
  const times = state?.times ?? [];
  let firstLive = 0;
  while (firstLive < times.length && (times[firstLive] as number) + windowMs <= nowEpochMs) firstLive++;
  const used = times.length - firstLive;
  const newest = times.length > 0 ? (times[times.length - 1] as number) : 0;

  if (used + cost <= limit) {
    if (cost === 0) {
      return {
        state,
        result: {
          allowed: true,
          remaining: limit - used,
          resetAfterMs: used > 0 ? newest + windowMs - nowEpochMs : 0,
          retryAfterMs: 0,
          delayMs: 0,
        },
      };
    }
    const next = times.slice(firstLive);
    for (let unit = 0; unit < cost; unit++) next.push(nowEpochMs);
    return {
      state: { times: next },
      result: { allowed: true, remaining: limit - used - cost, resetAfterMs: windowMs, retryAfterMs: 0, delayMs: 0 },
    };
  }
  // `cost` fits once the oldest (used + cost − limit) units have slid out.
  const mustExpire = used + cost - limit;
  return {
    state,
    result: {
      allowed: false,
      remaining: Math.max(0, limit - used),
      resetAfterMs: used > 0 ? newest + windowMs - nowEpochMs : 0,
      retryAfterMs:
        cost > limit ? Number.POSITIVE_INFINITY : (times[firstLive + mustExpire - 1] as number) + windowMs - nowEpochMs,
      delayMs: 0,
    },
  };
}

/** After this time the state is equivalent to no state (a store may drop it). */
export function slidingLogExpiresAtEpochMs(state: SlidingLogState, policy: CompiledPolicy): number {
  const newest = state.times.length > 0 ? (state.times[state.times.length - 1] as number) : 0;
  return newest + policy.windowMs;
}
