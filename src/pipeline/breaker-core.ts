/**
 * The circuit breaker as pure functions of (state, now, policy, outcome) → new state and decision.
 *
 * closed --(consecutive failures, or failure ratio over the window)--> open --(openFor passes)--> half-open
 * half-open --(every probe succeeds)--> closed;  half-open --(a probe fails)--> open.
 *
 * Each state carries a generation that changes with every transition, so the outcome of a call let through in an
 * earlier state (a slow call that started while closed and ends while half-open) never counts in the later one.
 */

export type BreakerStateName = 'closed' | 'open' | 'half-open';

export interface BreakerPolicy {
  /** Failures in a row that open the breaker. */
  consecutiveFailures: number;
  /** Share of failed calls over the window that opens the breaker (0 < ratio ≤ 1). */
  failureRatio: number;
  windowMs: number;
  /** Calls the window must hold before the ratio counts. */
  minimumCalls: number;
  /** How long the breaker stays open before probing, unless the upstream's Retry-After asks for longer. */
  openForMs: number;
  /** The longest a Retry-After may keep the breaker open. */
  maxOpenForMs: number;
  /** Calls let through while half-open; all must succeed to close. */
  halfOpenProbes: number;
}

/** How a call through the breaker ended. `neutral` says nothing of the upstream's health (the caller gave up). */
export type CallOutcome = 'success' | 'failure' | 'neutral';

/**
 * Calls and failures over the window, in SLICES slices: slice n holds the calls made between n × sliceMs and
 * (n + 1) × sliceMs since the epoch. The window is the newest slice and the SLICES - 1 before it, so a call counts
 * for between 9/10 of the window and all of it.
 */
export interface FailureWindow {
  readonly newestSlice: number;
  /** Oldest slice first. */
  readonly calls: readonly number[];
  readonly failures: readonly number[];
}

export type BreakerState =
  | {
      readonly name: 'closed';
      readonly generation: number;
      readonly consecutiveFailures: number;
      readonly window: FailureWindow;
      /** The latest time a recent failure's Retry-After asked for: if the breaker opens, it stays open until then. */
      readonly retryNotBeforeEpochMs: number;
    }
  | { readonly name: 'open'; readonly generation: number; readonly halfOpenAtEpochMs: number }
  | {
      readonly name: 'half-open';
      readonly generation: number;
      readonly probesStarted: number;
      readonly probesSucceeded: number;
    };

export type BreakerDecision =
  | { readonly allowed: true; readonly generation: number }
  | { readonly allowed: false; readonly retryAfterMs: number };

export const SLICES = 10;

/**
 * While every probe is out, callers are told to come back after this long (capped by openFor): the probe usually
 * answers well within it, and if it fails the breaker re-opens and says how long itself.
 */
export const PROBE_RETRY_AFTER_MS = 1000;

const EMPTY_SLICES: readonly number[] = Object.freeze(new Array<number>(SLICES).fill(0));

const sliceMsOf = (policy: BreakerPolicy) => Math.max(1, Math.ceil(policy.windowMs / SLICES));

export function closedState(generation: number, now: number, policy: BreakerPolicy): BreakerState {
  return {
    name: 'closed',
    generation,
    consecutiveFailures: 0,
    window: { newestSlice: Math.floor(now / sliceMsOf(policy)), calls: EMPTY_SLICES, failures: EMPTY_SLICES },
    retryNotBeforeEpochMs: 0,
  };
}

export function initialBreakerState(now: number, policy: BreakerPolicy): BreakerState {
  return closedState(0, now, policy);
}

/** Moves the window so its newest slice is the one holding `now`, dropping slices that fell out. */
export function rollWindow(window: FailureWindow, now: number, policy: BreakerPolicy): FailureWindow {
  const slice = Math.floor(now / sliceMsOf(policy));
  const shift = slice - window.newestSlice;
  // A clock that went back leaves the window as it is rather than losing what it holds.
  if (shift <= 0) return window;
  if (shift >= SLICES) return { newestSlice: slice, calls: EMPTY_SLICES, failures: EMPTY_SLICES };
  const calls = window.calls.slice(shift);
  const failures = window.failures.slice(shift);
  for (let index = 0; index < shift; index++) {
    calls.push(0);
    failures.push(0);
  }
  return { newestSlice: slice, calls, failures };
}

function addToWindow(window: FailureWindow, failed: boolean): FailureWindow {
  const calls = window.calls.slice();
  calls[SLICES - 1] = (calls[SLICES - 1] as number) + 1;
  if (!failed) return { newestSlice: window.newestSlice, calls, failures: window.failures };
  const failures = window.failures.slice();
  failures[SLICES - 1] = (failures[SLICES - 1] as number) + 1;
  return { newestSlice: window.newestSlice, calls, failures };
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

export function windowTotals(window: FailureWindow): { calls: number; failures: number } {
  return { calls: sum(window.calls), failures: sum(window.failures) };
}

function openState(
  generation: number,
  now: number,
  retryNotBeforeEpochMs: number,
  policy: BreakerPolicy,
): BreakerState {
  const openForMs = Math.min(policy.maxOpenForMs, Math.max(policy.openForMs, retryNotBeforeEpochMs - now));
  return { name: 'open', generation: generation + 1, halfOpenAtEpochMs: now + openForMs };
}

/** Lets time pass: an open breaker whose time is up becomes half-open. */
export function advanceBreaker(state: BreakerState, now: number): BreakerState {
  if (state.name === 'open' && now >= state.halfOpenAtEpochMs) {
    return { name: 'half-open', generation: state.generation + 1, probesStarted: 0, probesSucceeded: 0 };
  }
  return state;
}

/** Whether a call may go through now; a call let through carries the generation to settle it with. */
export function admitCall(
  current: BreakerState,
  now: number,
  policy: BreakerPolicy,
): { state: BreakerState; decision: BreakerDecision } {
  const state = advanceBreaker(current, now);
  switch (state.name) {
    case 'closed':
      return { state, decision: { allowed: true, generation: state.generation } };
    case 'open':
      return { state, decision: { allowed: false, retryAfterMs: state.halfOpenAtEpochMs - now } };
    case 'half-open':
      if (state.probesStarted >= policy.halfOpenProbes) {
        return {
          state,
          decision: { allowed: false, retryAfterMs: Math.min(PROBE_RETRY_AFTER_MS, policy.openForMs) },
        };
      }
      return {
        state: { ...state, probesStarted: state.probesStarted + 1 },
        decision: { allowed: true, generation: state.generation },
      };
  }
}

export interface SettledCall {
  /** The generation the call was admitted in. */
  generation: number;
  outcome: CallOutcome;
  /** For a failure: how long the upstream asked callers to wait (Retry-After), when it said. */
  retryAfterMs?: number | null;
}

/** Folds the outcome of a call in; may open or close the breaker. */
export function settleCall(
  current: BreakerState,
  settled: SettledCall,
  now: number,
  policy: BreakerPolicy,
): BreakerState {
  const state = advanceBreaker(current, now);
  if (settled.generation !== state.generation || settled.outcome === 'neutral') {
    if (state.name === 'half-open' && settled.generation === state.generation) {
      // A probe whose caller gave up frees its place for another probe.
      return { ...state, probesStarted: Math.max(0, state.probesStarted - 1) };
    }
    return state;
  }
  const retryNotBeforeEpochMs =
    settled.outcome === 'failure' && settled.retryAfterMs != null && settled.retryAfterMs > 0
      ? now + settled.retryAfterMs
      : 0;
  switch (state.name) {
    case 'open':
      return state;
    case 'half-open':
      if (settled.outcome === 'failure') return openState(state.generation, now, retryNotBeforeEpochMs, policy);
      if (state.probesSucceeded + 1 >= policy.halfOpenProbes) return closedState(state.generation + 1, now, policy);
      return { ...state, probesSucceeded: state.probesSucceeded + 1 };
    case 'closed': {
      const failed = settled.outcome === 'failure';
      const window = addToWindow(rollWindow(state.window, now, policy), failed);
      const consecutiveFailures = failed ? state.consecutiveFailures + 1 : 0;
      const notBefore = failed ? Math.max(state.retryNotBeforeEpochMs, retryNotBeforeEpochMs) : 0;
      if (failed && shouldOpen(consecutiveFailures, window, policy)) {
        return openState(state.generation, now, notBefore, policy);
      }
      return { ...state, window, consecutiveFailures, retryNotBeforeEpochMs: notBefore };
    }
  }
}

function shouldOpen(consecutiveFailures: number, window: FailureWindow, policy: BreakerPolicy): boolean {
  if (consecutiveFailures >= policy.consecutiveFailures) return true;
  const { calls, failures } = windowTotals(window);
  return calls >= policy.minimumCalls && failures >= policy.failureRatio * calls;
}
