/**
 * A fixed window that starts at the first request after the previous one ended (GitHub's and Discord's
 * model, unlike windows aligned to the clock). A rejected request consumes nothing.
 */
export interface FixedWindowState {
  readonly startAtEpochMs: number;
  readonly used: number;
}

export interface FixedWindowDecision {
  allowed: boolean;
  state: FixedWindowState;
  /** This request opened a new window (capacity counts windows started). */
  started: boolean;
  limit: number;
  remaining: number;
  resetAtEpochMs: number;
}

export function takeFixedWindow(
  state: FixedWindowState | null,
  nowEpochMs: number,
  limit: number,
  windowMs: number,
  cost = 1,
): FixedWindowDecision {
  const started = state === null || nowEpochMs >= state.startAtEpochMs + windowMs;
  const current: FixedWindowState = started ? { startAtEpochMs: nowEpochMs, used: 0 } : state;
  const allowed = current.used + cost <= limit;
  const next = allowed ? { startAtEpochMs: current.startAtEpochMs, used: current.used + cost } : current;
  return {
    allowed,
    state: next,
    started,
    limit,
    remaining: limit - next.used,
    resetAtEpochMs: next.startAtEpochMs + windowMs,
  };
}
