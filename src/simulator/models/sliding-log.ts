/**
 * An exact sliding window: at most `limit` accepted requests in any window of `windowMs` (a request at t
 * leaves the window at t + windowMs). Kept as the log of accepted times, oldest first: exact, and small
 * at the simulator's limits. A rejected request is not logged.
 */
export interface SlidingLogDecision {
  allowed: boolean;
  log: readonly number[];
  remaining: number;
  /** Whole milliseconds until the oldest logged request leaves the window (0 when the log is empty). */
  nextFreeAfterMs: number;
}

export function takeSlidingLog(
  log: readonly number[],
  nowEpochMs: number,
  limit: number,
  windowMs: number,
): SlidingLogDecision {
  const live = log.filter((acceptedAtEpochMs) => acceptedAtEpochMs > nowEpochMs - windowMs);
  const allowed = live.length < limit;
  const next = allowed ? [...live, nowEpochMs] : live;
  const oldest = next[0];
  return {
    allowed,
    log: next,
    remaining: limit - next.length,
    nextFreeAfterMs: oldest === undefined ? 0 : oldest + windowMs - nowEpochMs,
  };
}
