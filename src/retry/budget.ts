import { InvalidOptionError } from '../errors.js';
import { type Clock, type Duration, systemClock, toMilliseconds } from '../time.js';

/**
 * A retry budget in the manner of Finagle's and gRPC's: over a sliding window, retries may be at most
 * `ratio` × the calls made plus a reserve of `minRetriesPerSecond` × the window's seconds, so a service with
 * little traffic can still retry, and an outage (every call failing) costs at most ~`ratio` extra load
 * instead of multiplying it by the number of attempts.
 */
export interface RetryBudgetOptions {
  /** Retries allowed per call recorded in the window. Default 0.1. */
  ratio?: number;
  /** A floor so that low traffic can still retry: this many per second of window. Default 1. */
  minRetriesPerSecond?: number;
  /** The sliding window. Default 10 s. */
  window?: Duration;
}

export interface RetryBudgetSettings {
  ratio: number;
  minRetriesPerSecond: number;
  windowMs: number;
}

/** Counts for one slice of the window; `index` is `floor(epochMs / sliceMs)`. */
export interface RetryBudgetSlice {
  readonly index: number;
  readonly calls: number;
  readonly retries: number;
}

/** Oldest slice first; only slices inside the window are kept, so the state stays at most SLICES long. */
export interface RetryBudgetState {
  readonly slices: readonly RetryBudgetSlice[];
}

/** The window slides in tenths: counts leave it at most a tenth of a window late. */
const SLICES = 10;
/** 0.3 × 3 is 0.8999999999999999 in floating point: a budget of exactly 0.9 + 0.1 must still allow one retry. */
const EPSILON = 1e-9;

export const emptyRetryBudget: RetryBudgetState = { slices: [] };

function sliceIndex(settings: RetryBudgetSettings, nowEpochMs: number): number {
  return Math.floor(nowEpochMs / (settings.windowMs / SLICES));
}

/** Drops the slices that left the window and returns the current slice's index (never moving backwards). */
function advance(state: RetryBudgetState, settings: RetryBudgetSettings, nowEpochMs: number) {
  const newest = state.slices[state.slices.length - 1];
  const current = Math.max(sliceIndex(settings, nowEpochMs), newest ? newest.index : Number.NEGATIVE_INFINITY);
  const slices = state.slices.filter((slice) => slice.index > current - SLICES);
  return { current, slices };
}

function add(slices: RetryBudgetSlice[], current: number, calls: number, retries: number): RetryBudgetState {
  const last = slices[slices.length - 1];
  if (last && last.index === current) {
    return {
      slices: [...slices.slice(0, -1), { index: current, calls: last.calls + calls, retries: last.retries + retries }],
    };
  }
  return { slices: [...slices, { index: current, calls, retries }] };
}

/** How many retries the budget allows right now (fractional: 0.7 means none, 1.3 means one). */
export function retryBudgetAvailable(
  state: RetryBudgetState,
  settings: RetryBudgetSettings,
  nowEpochMs: number,
): number {
  const { slices } = advance(state, settings, nowEpochMs);
  let calls = 0;
  let retries = 0;
  for (const slice of slices) {
    calls += slice.calls;
    retries += slice.retries;
  }
  const reserve = settings.minRetriesPerSecond * (settings.windowMs / 1000);
  return settings.ratio * calls + reserve - retries;
}

/** Records one call (a first attempt; retries are not calls, or they would pay for themselves). */
export function recordRetryBudgetCall(
  state: RetryBudgetState,
  settings: RetryBudgetSettings,
  nowEpochMs: number,
): RetryBudgetState {
  const { current, slices } = advance(state, settings, nowEpochMs);
  return add(slices, current, 1, 0);
}

/** Withdraws one retry when the budget allows it; the state is unchanged when it does not. */
export function withdrawRetryBudget(
  state: RetryBudgetState,
  settings: RetryBudgetSettings,
  nowEpochMs: number,
): { allowed: boolean; state: RetryBudgetState } {
  if (retryBudgetAvailable(state, settings, nowEpochMs) + EPSILON < 1) return { allowed: false, state };
  const { current, slices } = advance(state, settings, nowEpochMs);
  return { allowed: true, state: add(slices, current, 0, 1) };
}

function nonNegative(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new InvalidOptionError(field, `expected a non-negative number, got ${JSON.stringify(value)}`);
  return value;
}

export function retryBudgetSettings(options: RetryBudgetOptions = {}): RetryBudgetSettings {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError(
      'retryBudget',
      `expected an object of retry budget options, got ${JSON.stringify(options)}`,
    );
  return {
    ratio: nonNegative(options.ratio ?? 0.1, 'retryBudget.ratio'),
    minRetriesPerSecond: nonNegative(options.minRetriesPerSecond ?? 1, 'retryBudget.minRetriesPerSecond'),
    windowMs: toMilliseconds(options.window ?? 10_000, 'retryBudget.window'),
  };
}

export interface RetryBudget {
  readonly settings: RetryBudgetSettings;
  /** Call once per call (not per attempt). */
  recordCall(): void;
  /** Withdraws one retry and says true, or says false (and withdraws nothing) when the budget is spent. */
  tryRetry(): boolean;
  /** Retries the budget would allow now (fractional). */
  available(): number;
}

/** The stateful wrapper over the pure core, for one process. */
export function createRetryBudget(options: RetryBudgetOptions = {}, clock: Clock = systemClock): RetryBudget {
  const settings = retryBudgetSettings(options);
  let state = emptyRetryBudget;
  return {
    settings,
    recordCall() {
      state = recordRetryBudgetCall(state, settings, clock.now());
    },
    tryRetry() {
      const result = withdrawRetryBudget(state, settings, clock.now());
      state = result.state;
      return result.allowed;
    },
    available: () => retryBudgetAvailable(state, settings, clock.now()),
  };
}
