/**
 * The budget core: pure decisions over plain-data budget states. `admitCall` reserves a call's cost on every limit
 * of every budget it draws on, or says how long to wait; `observeReply` folds what a reply said back in. Stores
 * (memory, Redis) only load and save states around these two functions, so every store decides alike.
 *
 * The functions update the states they are given in place (a store passes its own copy) and touch no clock, timer
 * or I/O: `now` comes in as an argument.
 */
import type { Cost } from '../pipeline/stage.js';
import type { LimitUnit, SignalLimit } from '../signals/types.js';
import type {
  BudgetPolicy,
  BudgetState,
  ConfiguredLimit,
  DiscoveryState,
  LimitEstimate,
  Observation,
  Reservation,
  Settlement,
} from './types.js';

/** Two resets closer than this are the same window (providers round reset times). */
const SAME_WINDOW_TOLERANCE_MS = 1000;
/** A refill-rate sample needs at least this much time between replies to say anything. */
const MIN_REFILL_SAMPLE_MS = 250;
const REFILL_SMOOTHING = 0.3;
/** Past this, discovery has found no limit worth pacing for (calls per second). */
const MAX_DISCOVERED_RATE = 1_000_000;

export function unitsOf(cost: Cost, unit: LimitUnit): number {
  if (unit === 'requests') return cost.requests ?? 1;
  if (unit === 'concurrency') return 1;
  return cost[unit] ?? 0;
}

function seedEstimate(configured: ConfiguredLimit, nowEpochMs: number): LimitEstimate {
  const bucket = configured.model === 'bucket';
  const capacity = bucket ? (configured.burst ?? configured.limit) : configured.limit;
  return {
    name: configured.name,
    unit: configured.unit,
    model: configured.model,
    source: 'configured',
    limit: capacity,
    available: capacity,
    // Configured windows are aligned to the epoch, like the limiter's fixed windows.
    resetAtEpochMs:
      configured.model === 'window'
        ? Math.floor(nowEpochMs / configured.windowMs) * configured.windowMs + configured.windowMs
        : null,
    windowMs: configured.windowMs,
    refillPerMs: bucket ? configured.limit / configured.windowMs : null,
    updatedAtEpochMs: nowEpochMs,
    lastSpendAtEpochMs: null,
    observedSequence: 0,
    resetSlackMs: 0,
    windowBounds: null,
    windowOpenedAfterEpochMs: null,
    windowOpenedByEpochMs: null,
    windowLastCountedSendEpochMs: null,
    windowRoundingRefuted: false,
    returnsAtEpochMs: [],
    returnsFromEpochMs: [],
    refillSample: null,
  };
}

export function createBudgetState(nowEpochMs: number, configured: readonly ConfiguredLimit[] = []): BudgetState {
  return {
    estimates: configured.map((limit) => seedEstimate(limit, nowEpochMs)),
    inFlight: {},
    coolDownUntilEpochMs: 0,
    quotaExhaustedUntilEpochMs: 0,
    sequence: 0,
    discovery: null,
    cleanReplies: 0,
    touchedAtEpochMs: nowEpochMs,
  };
}

/** The share of learned rates held back: large while estimates are young, shrinking as replies confirm them. */
export function effectiveMargin(state: BudgetState, policy: BudgetPolicy): number {
  return policy.safetyMargin / (1 + state.cleanReplies / policy.confidenceReplies);
}

/** Brings an estimate up to `now`: a window past its reset starts over; a bucket gets its refill. */
function advanceEstimate(estimate: LimitEstimate, state: BudgetState, nowEpochMs: number, policy: BudgetPolicy): void {
  if (estimate.model === 'window') {
    const reset = estimate.resetAtEpochMs;
    if (reset === null || nowEpochMs < reset + estimate.resetSlackMs) return;
    // A provider's window: calls still in flight may land in the new one, so count them until their replies say.
    const unsettled = estimate.source === 'learned' ? (state.inFlight[estimate.unit] ?? 0) : 0;
    if (estimate.limit !== null) {
      estimate.available = estimate.limit - unsettled;
    } else {
      estimate.available = Math.max(estimate.available, 1);
    }
    if (estimate.windowBounds !== null) {
      // A window that starts with the first call after the last one ended (GitHub's): this call opens it.
      estimate.resetAtEpochMs = nowEpochMs + longestWindow(estimate, estimate.windowBounds);
    } else if (estimate.windowMs !== null) {
      const windowsPassed = Math.floor((nowEpochMs - reset) / estimate.windowMs) + 1;
      estimate.resetAtEpochMs = reset + windowsPassed * estimate.windowMs;
    } else {
      estimate.resetAtEpochMs = null;
    }
    estimate.windowOpenedAfterEpochMs = null;
    estimate.windowOpenedByEpochMs = null;
    estimate.windowLastCountedSendEpochMs = null;
    estimate.lastSpendAtEpochMs = null;
    estimate.updatedAtEpochMs = nowEpochMs;
    return;
  }
  if (estimate.model === 'sliding') {
    // Units spent one window ago come back now (never above what the window holds beside calls in flight).
    const returns = estimate.returnsAtEpochMs;
    let returned = 0;
    while (returns.length > 0 && (returns[0] as number) <= nowEpochMs) {
      returns.shift();
      estimate.returnsFromEpochMs.shift();
      returned++;
    }
    if (returned > 0) {
      const ceiling =
        estimate.limit === null ? Number.POSITIVE_INFINITY : estimate.limit - (state.inFlight[estimate.unit] ?? 0);
      estimate.available = Math.min(ceiling, estimate.available + returned);
    }
    estimate.updatedAtEpochMs = Math.max(estimate.updatedAtEpochMs, nowEpochMs);
    return;
  }
  if (estimate.model === 'bucket') {
    const elapsed = nowEpochMs - estimate.updatedAtEpochMs;
    if (elapsed <= 0) return;
    if (estimate.refillPerMs !== null) {
      const refill = estimate.refillPerMs * (estimate.source === 'configured' ? 1 : 1 - effectiveMargin(state, policy));
      // A provider's bucket holds what we may spend plus what is in flight and not yet taken; ours only the former.
      const unsettled = estimate.source === 'learned' ? (state.inFlight[estimate.unit] ?? 0) : 0;
      const ceiling = estimate.limit === null ? Number.POSITIVE_INFINITY : estimate.limit - unsettled;
      estimate.available = Math.min(ceiling, estimate.available + refill * elapsed);
    }
    estimate.updatedAtEpochMs = nowEpochMs;
  }
}

/** How long until `units` may be spent on this estimate (0: now), and why not sooner. */
function waitForEstimate(
  estimate: LimitEstimate,
  units: number,
  state: BudgetState,
  nowEpochMs: number,
  policy: BudgetPolicy,
  priority: number,
): number {
  const held = priority < policy.reservePriority && estimate.limit !== null ? estimate.limit * policy.reserveShare : 0;
  const spendable = estimate.available - held;
  // A call that declares no cost in this unit (no token estimate) still waits while the unit is exhausted.
  const needed = Math.max(units, Number.MIN_VALUE);

  if (estimate.model === 'concurrency') {
    return spendable >= needed ? 0 : policy.probeIntervalMs;
  }

  if (spendable < needed) {
    if (estimate.model === 'sliding' && estimate.returnsAtEpochMs.length > 0) {
      // The next unit back: skip as many returns as are still needed beyond the first.
      const index = Math.min(estimate.returnsAtEpochMs.length - 1, Math.max(0, Math.ceil(needed - spendable) - 1));
      return Math.max(1, (estimate.returnsAtEpochMs[index] as number) - nowEpochMs);
    }
    if ((estimate.model === 'window' || estimate.model === 'sliding') && estimate.resetAtEpochMs !== null) {
      return Math.max(1, estimate.resetAtEpochMs + estimate.resetSlackMs - nowEpochMs);
    }
    if (estimate.model === 'bucket' && estimate.refillPerMs !== null && estimate.refillPerMs > 0) {
      const refill = estimate.refillPerMs * (estimate.source === 'configured' ? 1 : 1 - effectiveMargin(state, policy));
      return Math.max(1, Math.ceil((needed - spendable) / refill));
    }
    // Exhausted and the provider did not say when it comes back: probe now and then, one call at a time.
    const inFlight = state.inFlight[estimate.unit] ?? 0;
    const since = estimate.lastSpendAtEpochMs ?? estimate.updatedAtEpochMs;
    const probeAt = since + policy.probeIntervalMs;
    if (inFlight > 0) return policy.probeIntervalMs;
    return Math.max(0, probeAt - nowEpochMs);
  }

  if (estimate.model === 'window' && estimate.resetAtEpochMs !== null && estimate.lastSpendAtEpochMs !== null) {
    // Spread what is left evenly over the time to reset, instead of spending it in a burst and then waiting: the
    // time left is cut into one slot per unit left plus one, the last ending at the reset itself.
    const reset = estimate.resetAtEpochMs + estimate.resetSlackMs;
    const share = (reset - estimate.lastSpendAtEpochMs) * (units / (spendable + units));
    return Math.max(0, Math.ceil(estimate.lastSpendAtEpochMs + share - nowEpochMs));
  }
  return 0;
}

function waitForDiscovery(
  discovery: DiscoveryState,
  state: BudgetState,
  nowEpochMs: number,
  policy: BudgetPolicy,
): number {
  const inFlight = state.inFlight.requests ?? 0;
  // Slow start: as many calls in flight as the window, which grows by one per accepted call (doubling every round
  // trip). A window, not a rate: nothing waits on a timer, so an upstream with no limit is not slowed down.
  if (!discovery.congested) return inFlight >= discovery.window ? policy.probeIntervalMs : 0;
  // While the upstream keeps refusing, one probe at a time: a burst would only collect more refusals.
  if (discovery.rejectionStreak > 0 && inFlight > 0) return policy.probeIntervalMs;
  if (discovery.lastSpendAtEpochMs === null) return 0;
  const spacing = 1000 / discovery.ratePerSecond;
  const wait = discovery.lastSpendAtEpochMs + spacing - nowEpochMs;
  // Timers do not wake in less than a millisecond: at high rates, calls go a few milliseconds' worth at a time.
  return wait <= DISCOVERY_BURST_MS ? 0 : Math.ceil(wait);
}

export type CoreAdmitResult =
  | { admitted: true; sequences: number[] }
  | { admitted: false; waitMs: number; why: string; keyIndex: number; quotaExhausted: boolean };

/**
 * Reserves `cost` on every limit of every state, or on none. `states` are the budgets a call draws on, broadest
 * first; `keys` name them in the reasons given.
 */
export function admitCall(
  states: BudgetState[],
  keys: readonly string[],
  cost: Cost,
  nowEpochMs: number,
  policy: BudgetPolicy,
  priority = 0,
): CoreAdmitResult {
  let waitMs = 0;
  let why = '';
  let keyIndex = -1;
  for (let index = 0; index < states.length; index++) {
    const state = states[index] as BudgetState;
    const key = keys[index] ?? String(index);
    state.touchedAtEpochMs = nowEpochMs;
    if (state.quotaExhaustedUntilEpochMs > nowEpochMs) {
      return {
        admitted: false,
        waitMs: state.quotaExhaustedUntilEpochMs - nowEpochMs,
        why: `${key}: the provider reported an exhausted quota (spend cap) without saying when it comes back`,
        keyIndex: index,
        quotaExhausted: true,
      };
    }
    const coolDown = state.coolDownUntilEpochMs - nowEpochMs;
    if (coolDown > waitMs) {
      waitMs = coolDown;
      why = `${key}: cooling down after a rate-limit rejection`;
      keyIndex = index;
    }
    for (const estimate of state.estimates) {
      advanceEstimate(estimate, state, nowEpochMs, policy);
      const wait = waitForEstimate(estimate, unitsOf(cost, estimate.unit), state, nowEpochMs, policy, priority);
      if (wait > waitMs) {
        waitMs = wait;
        why =
          estimate.available >= unitsOf(cost, estimate.unit)
            ? `${key}: pacing ${estimate.name} (${Math.max(0, Math.floor(estimate.available))} left until reset)`
            : `${key}: ${estimate.name} exhausted`;
        keyIndex = index;
      }
    }
    if (state.discovery && state.estimates.length === 0) {
      const wait = waitForDiscovery(state.discovery, state, nowEpochMs, policy);
      if (wait > waitMs) {
        waitMs = wait;
        why = `${key}: pacing at the discovered rate of ${state.discovery.ratePerSecond.toFixed(2)}/s`;
        keyIndex = index;
      }
    }
  }
  if (waitMs === 0 && knowsNothing(states)) {
    // First contact: until a reply says how this budget is limited, send one call at a time instead of a burst.
    const broadest = states[0];
    if (broadest && (broadest.inFlight.requests ?? 0) > 0) {
      waitMs = policy.probeIntervalMs;
      why = `${keys[0] ?? 'budget'}: waiting for the first reply to learn the limits`;
      keyIndex = 0;
    }
  }
  if (waitMs > 0) return { admitted: false, waitMs: Math.ceil(waitMs), why, keyIndex, quotaExhausted: false };

  const sequences: number[] = [];
  for (const state of states) {
    for (const estimate of state.estimates) {
      const units = unitsOf(cost, estimate.unit);
      if (units === 0) continue;
      estimate.available -= units;
      estimate.lastSpendAtEpochMs = nowEpochMs;
    }
    for (const unit of unitsInCost(cost)) {
      state.inFlight[unit] = (state.inFlight[unit] ?? 0) + unitsOf(cost, unit);
    }
    if (state.discovery) {
      // Keep to the schedule, not to when calls actually went: a call let out late (timers, a busy process) lets
      // the next one out that much sooner, so lateness does not add up into a lower rate.
      const spacing = 1000 / state.discovery.ratePerSecond;
      const scheduled = state.discovery.lastSpendAtEpochMs;
      state.discovery.lastSpendAtEpochMs =
        scheduled === null || !state.discovery.congested
          ? nowEpochMs
          : Math.max(scheduled + spacing, nowEpochMs - spacing);
    }
    state.sequence += 1;
    sequences.push(state.sequence);
  }
  return { admitted: true, sequences };
}

function knowsNothing(states: readonly BudgetState[]): boolean {
  return states.every((state) => state.estimates.length === 0 && state.discovery === null);
}

function unitsInCost(cost: Cost): LimitUnit[] {
  const units: LimitUnit[] = ['requests'];
  for (const unit of ['tokens', 'points'] as const) if ((cost[unit] ?? 0) > 0) units.push(unit);
  return units;
}

/** Gives back what a reservation held in flight; refunds the difference when the call cost less than reserved. */
export function settleReservation(state: BudgetState, settlement: Settlement): void {
  const { reservation, actual } = settlement;
  for (const unit of unitsInCost(reservation.cost)) {
    const reserved = unitsOf(reservation.cost, unit);
    state.inFlight[unit] = Math.max(0, (state.inFlight[unit] ?? 0) - reserved);
  }
  for (const estimate of state.estimates) {
    if (estimate.model === 'concurrency') {
      estimate.available = Math.min(estimate.limit ?? Number.POSITIVE_INFINITY, estimate.available + 1);
      continue;
    }
    if (!actual) continue;
    const refund = unitsOf(reservation.cost, estimate.unit) - unitsOf({ requests: 1, ...actual }, estimate.unit);
    // Only refund within the window the reservation was made in; a later reply will say the truth anyway.
    const sameWindow =
      estimate.model !== 'window' ||
      estimate.resetAtEpochMs === null ||
      reservation.admittedAtEpochMs >= estimate.resetAtEpochMs - (estimate.windowMs ?? Number.POSITIVE_INFINITY);
    if (refund !== 0 && sameWindow) estimate.available += refund;
  }
}

function findEstimate(state: BudgetState, limit: SignalLimit): LimitEstimate | undefined {
  return state.estimates.find(
    (estimate) => estimate.source === 'learned' && estimate.name === limit.name && estimate.unit === limit.unit,
  );
}

/** A window whose length the provider states (the IETF `w`) is taken as sliding: safe for fixed ones too. */
function learnedModel(limit: SignalLimit, model: 'window' | 'bucket'): LimitEstimate['model'] {
  if (limit.unit === 'concurrency') return 'concurrency';
  if (model === 'window' && limit.windowMs !== null) return 'sliding';
  return model;
}

function createLearnedEstimate(limit: SignalLimit, model: 'window' | 'bucket', nowEpochMs: number): LimitEstimate {
  return {
    name: limit.name,
    unit: limit.unit,
    model: learnedModel(limit, model),
    source: 'learned',
    limit: limit.limit,
    available: limit.remaining ?? limit.limit ?? 0,
    resetAtEpochMs: null,
    windowMs: limit.windowMs,
    refillPerMs: null,
    updatedAtEpochMs: nowEpochMs,
    lastSpendAtEpochMs: null,
    observedSequence: 0,
    resetSlackMs: 0,
    windowBounds: null,
    windowOpenedAfterEpochMs: null,
    windowOpenedByEpochMs: null,
    windowLastCountedSendEpochMs: null,
    windowRoundingRefuted: false,
    returnsAtEpochMs: [],
    returnsFromEpochMs: [],
    refillSample: null,
  };
}

/**
 * Windows that start with the first call after the last one ended (GitHub's, Discord's) end at start + length,
 * which no header states precisely (GitHub's reset is rounded up to the second). Replies bound it:
 * - a reply saying its call opened a window (all but one unit left) brackets that window's start between the
 *   call's send and reply times;
 * - when the next window opens, the previous one had ended after the last call it counted was sent and before
 *   the opening call was answered — while calls are spread across the boundary, a bracket of a few milliseconds;
 * - a reset stated in whole seconds, rounded up, bounds the end to the second before it.
 * The bounds of every window are intersected; the current window is taken to end at its latest possible start
 * plus the longest possible length, so a call is never sent into a window that may still be the exhausted one.
 * Returns the reset to use for the current window.
 */
function learnWindowPhase(
  estimate: LimitEstimate,
  limit: SignalLimit,
  sentAtEpochMs: number | null,
  nowEpochMs: number,
  newWindow: boolean,
): number | null {
  const statedReset = limit.resetAtEpochMs;
  if (sentAtEpochMs === null || limit.limit === null || limit.remaining === null) return statedReset;
  const lastCounted = estimate.windowLastCountedSendEpochMs;
  const opened =
    limit.remaining === limit.limit - 1 &&
    (newWindow || estimate.windowOpenedByEpochMs === null || lastCounted === null || sentAtEpochMs > lastCounted);
  const narrow = (lowMs: number, highMs: number) => {
    const known = estimate.windowBounds;
    const low = known ? Math.max(known.lowMs, lowMs) : lowMs;
    const high = known ? Math.min(known.highMs, highMs) : highMs;
    // Bounds that no longer meet mean the window changed length: start learning again from these.
    estimate.windowBounds = low <= high ? { lowMs: low, highMs: high } : { lowMs, highMs };
  };
  if (opened) {
    const previousAfter = estimate.windowOpenedAfterEpochMs;
    const previousBy = estimate.windowOpenedByEpochMs;
    if (previousAfter !== null && previousBy !== null && lastCounted !== null && sentAtEpochMs > lastCounted) {
      narrow(lastCounted - previousBy, nowEpochMs - previousAfter);
    }
    if (statedReset !== null && (limit.resetPrecisionMs ?? 0) >= 1000) {
      narrow(statedReset - (limit.resetPrecisionMs ?? 0) - nowEpochMs, statedReset - sentAtEpochMs);
    }
    estimate.windowOpenedAfterEpochMs = sentAtEpochMs;
    estimate.windowOpenedByEpochMs = nowEpochMs;
    estimate.windowLastCountedSendEpochMs = sentAtEpochMs;
  } else if (estimate.windowOpenedByEpochMs !== null) {
    estimate.windowLastCountedSendEpochMs = Math.max(lastCounted ?? sentAtEpochMs, sentAtEpochMs);
  }
  if (estimate.windowBounds === null || estimate.windowOpenedByEpochMs === null) return statedReset;
  const learnedEnd = estimate.windowOpenedByEpochMs + longestWindow(estimate, estimate.windowBounds);
  return statedReset === null ? learnedEnd : Math.min(statedReset, learnedEnd);
}

/** Slack over a whole-second window length for the time a call takes to reach the provider. */
const ROUNDED_WINDOW_SLACK_MS = 10;

/** The longest the window can be: the bounds' high end, or the one whole second they allow (see windowRoundingRefuted). */
function longestWindow(estimate: LimitEstimate, bounds: { lowMs: number; highMs: number }): number {
  if (estimate.windowRoundingRefuted) return bounds.highMs;
  const first = Math.ceil(bounds.lowMs / 1000) * 1000;
  const onlyOne = first > 0 && first <= bounds.highMs && first + 1000 > bounds.highMs;
  return onlyOne ? Math.min(bounds.highMs, first + ROUNDED_WINDOW_SLACK_MS) : bounds.highMs;
}

/** Folds one reported window limit in: newer replies set what is left, older ones may only lower it. */
function foldWindowLimit(
  estimate: LimitEstimate,
  limit: SignalLimit,
  state: BudgetState,
  sequence: number,
  nowEpochMs: number,
  rejected: boolean,
  sentAtEpochMs: number | null,
): void {
  const knownReset = estimate.resetAtEpochMs;
  const statedReset = limit.resetAtEpochMs;
  if (statedReset !== null && knownReset !== null && statedReset < knownReset - SAME_WINDOW_TOLERANCE_MS) {
    // A late reply from a window that is already over: what it says is left no longer applies.
    return;
  }
  if (limit.windowMs !== null) estimate.windowMs = limit.windowMs;
  if (limit.limit !== null) estimate.limit = limit.limit;
  const newWindow = statedReset !== null && knownReset !== null && statedReset > knownReset + SAME_WINDOW_TOLERANCE_MS;
  const reportedReset = learnWindowPhase(estimate, limit, sentAtEpochMs, nowEpochMs, newWindow);
  if (newWindow && limit.windowMs === null && knownReset !== null && reportedReset !== null) {
    // Two consecutive resets tell the window's length (close enough: the next reply corrects the reset itself).
    const gap = reportedReset - knownReset;
    if (estimate.windowMs === null || gap < estimate.windowMs) estimate.windowMs = gap;
  }
  if (rejected && estimate.windowBounds !== null && !estimate.windowRoundingRefuted) {
    // Refused while the window was taken to be a whole number of seconds: it is not; trust only the bounds.
    estimate.windowRoundingRefuted = longestWindow(estimate, estimate.windowBounds) < estimate.windowBounds.highMs;
  }
  if (rejected && statedReset !== null && statedReset <= nowEpochMs && limit.remaining === 0) {
    // Refused although the stated reset has passed: the provider rounds its reset down; wait a little longer.
    estimate.resetSlackMs = Math.min(SAME_WINDOW_TOLERANCE_MS, estimate.resetSlackMs + SAME_WINDOW_TOLERANCE_MS / 2);
  }
  if (reportedReset !== null) estimate.resetAtEpochMs = reportedReset;
  if (limit.remaining === null) return;
  const candidate = limit.remaining - (state.inFlight[estimate.unit] ?? 0);
  if (newWindow || sequence >= estimate.observedSequence) {
    estimate.available = candidate;
    estimate.observedSequence = Math.max(estimate.observedSequence, sequence);
  } else {
    estimate.available = Math.min(estimate.available, candidate);
  }
  estimate.updatedAtEpochMs = nowEpochMs;
}

/** Folds one reported sliding-window limit in, remembering when the unit this reply's call spent comes back. */
function foldSlidingLimit(
  estimate: LimitEstimate,
  limit: SignalLimit,
  state: BudgetState,
  sequence: number,
  nowEpochMs: number,
  rejected: boolean,
  sentAtEpochMs: number | null,
): void {
  if (limit.limit !== null) estimate.limit = limit.limit;
  if (limit.windowMs !== null) estimate.windowMs = limit.windowMs;
  if (limit.resetAtEpochMs !== null) estimate.resetAtEpochMs = limit.resetAtEpochMs;
  const returnsAt = estimate.returnsAtEpochMs;
  const returnsFrom = estimate.returnsFromEpochMs;
  if (limit.remaining !== null) {
    // Units that may have come back already are in what this reply says is left: drop them, or they would be
    // counted twice (dropping one that had not come back only costs it until the next reply says so).
    let stale = 0;
    while (stale < returnsFrom.length && (returnsFrom[stale] as number) <= nowEpochMs) stale++;
    returnsAt.splice(0, stale);
    returnsFrom.splice(0, stale);
  }
  if (!rejected && sequence > 0 && estimate.windowMs !== null && sentAtEpochMs !== null) {
    // Counted after it was sent and before it was answered: back a window after that.
    returnsAt.push(nowEpochMs + estimate.windowMs);
    returnsFrom.push(sentAtEpochMs + estimate.windowMs);
    const excess = returnsAt.length - Math.max(1, estimate.limit ?? 1);
    if (excess > 0) {
      returnsAt.splice(0, excess);
      returnsFrom.splice(0, excess);
    }
  }
  if (limit.remaining === null) return;
  const candidate = limit.remaining - (state.inFlight[estimate.unit] ?? 0);
  if (sequence >= estimate.observedSequence) {
    estimate.available = candidate;
    estimate.observedSequence = sequence;
  } else {
    estimate.available = Math.min(estimate.available, candidate);
  }
  estimate.updatedAtEpochMs = nowEpochMs;
}

/** Folds one reported bucket limit in, learning the refill rate from the time to full or from successive replies. */
function foldBucketLimit(
  estimate: LimitEstimate,
  limit: SignalLimit,
  state: BudgetState,
  sequence: number,
  nowEpochMs: number,
): void {
  if (limit.limit !== null) estimate.limit = limit.limit;
  const capacity = estimate.limit;
  const remaining = limit.remaining;
  if (remaining === null) return;

  let sampledRate: number | null = null;
  if (capacity !== null && limit.resetAfterMs !== null && limit.resetAfterMs > 0 && remaining < capacity) {
    // "Time until full" and what is missing give the refill rate directly (OpenAI, Anthropic, Shopify GraphQL).
    sampledRate = (capacity - remaining) / limit.resetAfterMs;
  } else if (estimate.refillSample && sequence > estimate.refillSample.sequence && limit.unit === 'requests') {
    // No time given (Shopify REST "used/size"): what came back between two replies, net of the calls between them.
    const elapsed = nowEpochMs - estimate.refillSample.atEpochMs;
    const bucketWasDraining = capacity === null || (remaining < capacity && estimate.refillSample.remaining < capacity);
    if (elapsed >= MIN_REFILL_SAMPLE_MS && bucketWasDraining) {
      const spentBetween = sequence - estimate.refillSample.sequence;
      const cameBack = remaining - estimate.refillSample.remaining + spentBetween;
      if (cameBack > 0) sampledRate = cameBack / elapsed;
    }
  }
  if (sampledRate !== null && Number.isFinite(sampledRate) && sampledRate > 0) {
    estimate.refillPerMs =
      estimate.refillPerMs === null
        ? sampledRate
        : estimate.refillPerMs + REFILL_SMOOTHING * (sampledRate - estimate.refillPerMs);
  }
  if (
    !estimate.refillSample ||
    nowEpochMs - estimate.refillSample.atEpochMs >= MIN_REFILL_SAMPLE_MS ||
    sequence < estimate.refillSample.sequence
  ) {
    estimate.refillSample = { atEpochMs: nowEpochMs, remaining, sequence };
  }

  const candidate = remaining - (state.inFlight[estimate.unit] ?? 0);
  if (sequence >= estimate.observedSequence) {
    estimate.available = candidate;
    estimate.observedSequence = sequence;
  } else {
    estimate.available = Math.min(estimate.available, candidate);
  }
  estimate.updatedAtEpochMs = nowEpochMs;
}

function startDiscovery(state: BudgetState, nowEpochMs: number, policy: BudgetPolicy): DiscoveryState {
  const discovery: DiscoveryState = {
    ratePerSecond: policy.discovery.initialRatePerSecond,
    congested: false,
    window: 2,
    lastSpendAtEpochMs: null,
    rejectionStreak: 0,
    lastIncreaseAtEpochMs: nowEpochMs,
    cycleStartedAtEpochMs: null,
    acceptedInCycle: 0,
    lastCycleMs: null,
    lastRejectionAtEpochMs: null,
    acceptedRatePerSecond: 0,
    acceptedSinceEpochMs: nowEpochMs,
    acceptedSinceCount: 0,
  };
  state.discovery = discovery;
  return discovery;
}

/** How far ahead of its schedule a discovered rate may run (a burst of this many milliseconds' worth of calls). */
const DISCOVERY_BURST_MS = 2;
/** Slow start's window stops growing here: by then nothing suggests a limit worth the bookkeeping. */
const MAX_SLOW_START_WINDOW = 1_000_000;
/** Accepted calls are counted over spans this long to know the rate slow start may grow to. */
const ACCEPTED_RATE_WINDOW_MS = 250;
const MIN_BACKOFF_MS = 5;
/** Once a cycle is known, back-offs stay under this share of it: a window reopening is seen within 2% of a cycle. */
const CYCLE_BACKOFF_SHARE = 50;
/** After an imprecise first measurement, the rate is set this much above it, to meet the limit again. */
const REMEASURE_FACTOR = 1.5;
/** Cycles shorter than this say too little to measure a rate by. */
const MIN_CYCLE_MS = 100;

/**
 * Header-less upstreams: the only signal is a rejection. Until the first one, slow start bounds the calls in
 * flight by a window that doubles every round trip. From then on, calls are paced by a rate, each rejection streak
 * backs off exponentially (never more than a fiftieth of a cycle), and when it ends the cycle since the previous
 * streak's end is measured: what the upstream accepted over it is its rate, and the pacer settles just below it,
 * creeping up slowly to find out whether the limit has risen.
 */
function discover(
  state: BudgetState,
  rejected: boolean,
  nowEpochMs: number,
  policy: BudgetPolicy,
  sentAtEpochMs: number | null,
): void {
  const discovery = state.discovery ?? startDiscovery(state, nowEpochMs, policy);
  // A reply to a call sent before the last rejection was seen tells nothing new about the upstream's state now.
  const sentSinceLastRejection =
    sentAtEpochMs === null ||
    discovery.lastRejectionAtEpochMs === null ||
    sentAtEpochMs > discovery.lastRejectionAtEpochMs;
  if (rejected) {
    if (!discovery.congested) {
      // The first sign of a limit: pace from here at what was being accepted (a cycle will measure better).
      discovery.congested = true;
      const elapsed = nowEpochMs - discovery.acceptedSinceEpochMs;
      const recent = elapsed >= MIN_CYCLE_MS ? (discovery.acceptedSinceCount * 1000) / elapsed : 0;
      discovery.ratePerSecond = Math.max(
        policy.discovery.initialRatePerSecond,
        discovery.acceptedRatePerSecond,
        recent,
      );
      discovery.lastIncreaseAtEpochMs = nowEpochMs;
    }
    if (discovery.rejectionStreak > 0 && !sentSinceLastRejection) return;
    discovery.rejectionStreak += 1;
    discovery.lastRejectionAtEpochMs = nowEpochMs;
    const backoff = Math.min(
      policy.discovery.maxBackoffMs,
      discovery.lastCycleMs === null
        ? Number.POSITIVE_INFINITY
        : Math.max(MIN_BACKOFF_MS, discovery.lastCycleMs / CYCLE_BACKOFF_SHARE),
      (1000 / discovery.ratePerSecond) * 2 ** discovery.rejectionStreak,
    );
    state.coolDownUntilEpochMs = Math.max(state.coolDownUntilEpochMs, nowEpochMs + backoff);
    return;
  }
  if (discovery.rejectionStreak > 0 && sentSinceLastRejection) {
    // A streak just ended: the upstream has budget again. Measure the cycle that ends here, and start the next.
    // The limit came back between the last rejection and now. Windows that start with the first call after the
    // last one ended (GitHub's model) start now; so cycles run from one streak's end to the next's.
    const boundary = nowEpochMs;
    const started = discovery.cycleStartedAtEpochMs;
    if (started !== null && boundary - started >= MIN_CYCLE_MS && discovery.acceptedInCycle > 0) {
      const measured = (discovery.acceptedInCycle * 1000) / (boundary - started);
      // A cycle whose back-offs were not yet bounded by a known cycle length may have overshot its end by a lot:
      // measure again, sending fast enough to meet the limit once more, before settling.
      const precise = discovery.lastCycleMs !== null;
      discovery.ratePerSecond = Math.max(0.1, measured * (precise ? policy.discovery.settle : REMEASURE_FACTOR));
      discovery.lastIncreaseAtEpochMs = nowEpochMs;
      discovery.lastCycleMs = boundary - started;
    }
    discovery.cycleStartedAtEpochMs = boundary;
    discovery.acceptedInCycle = 0;
    discovery.rejectionStreak = 0;
    // The back-off is over too: the upstream just said yes.
    state.coolDownUntilEpochMs = Math.min(state.coolDownUntilEpochMs, nowEpochMs);
  }
  discovery.acceptedInCycle += 1;
  discovery.acceptedSinceCount += 1;
  const measuredFor = nowEpochMs - discovery.acceptedSinceEpochMs;
  if (measuredFor >= ACCEPTED_RATE_WINDOW_MS) {
    discovery.acceptedRatePerSecond = (discovery.acceptedSinceCount * 1000) / measuredFor;
    discovery.acceptedSinceEpochMs = nowEpochMs;
    discovery.acceptedSinceCount = 0;
  }
  if (!discovery.congested) {
    discovery.window = Math.min(MAX_SLOW_START_WINDOW, discovery.window + 1);
    return;
  }
  const elapsedMs = nowEpochMs - discovery.lastIncreaseAtEpochMs;
  if (elapsedMs <= 0) return;
  // Creep up, to find out whether the limit has risen.
  const grown = discovery.ratePerSecond * (1 + (policy.discovery.increasePerSecond * elapsedMs) / 1000);
  discovery.ratePerSecond = Math.min(MAX_DISCOVERED_RATE, grown);
  discovery.lastIncreaseAtEpochMs = nowEpochMs;
}

/**
 * Folds a reply into the budget its signal belongs to. `signalSequence` is the reservation's sequence on that
 * budget (0 when the call did not reserve on it), which tells a newer reply from a late older one.
 */
export function observeReply(
  signalState: BudgetState | undefined,
  observation: Observation,
  nowEpochMs: number,
  policy: BudgetPolicy,
  signalSequence: number,
  sentAtEpochMs: number | null = null,
): void {
  if (!signalState) return;
  signalState.touchedAtEpochMs = nowEpochMs;
  const { signal, rejected } = observation;
  let learnedSomething = false;
  if (signal) {
    for (const limit of signal.limits) {
      if (limit.limit === null && limit.remaining === null) continue;
      let estimate = findEstimate(signalState, limit);
      if (!estimate) {
        estimate = createLearnedEstimate(limit, observation.model, nowEpochMs);
        signalState.estimates.push(estimate);
      }
      learnedSomething = true;
      if (estimate.model === 'bucket') foldBucketLimit(estimate, limit, signalState, signalSequence, nowEpochMs);
      else if (estimate.model === 'sliding') {
        foldSlidingLimit(estimate, limit, signalState, signalSequence, nowEpochMs, rejected, sentAtEpochMs);
      } else if (estimate.model === 'window')
        foldWindowLimit(estimate, limit, signalState, signalSequence, nowEpochMs, rejected, sentAtEpochMs);
      else if (limit.limit !== null) estimate.limit = limit.limit;
    }
  }

  if (rejected) {
    signalState.cleanReplies = 0;
    if (signal?.retryable === false && signal.retryAfterMs === null) {
      signalState.quotaExhaustedUntilEpochMs = nowEpochMs + policy.probeIntervalMs * 60;
      return;
    }
    let wait = signal?.retryAfterMs ?? null;
    if (wait === null && signal) {
      for (const limit of signal.limits) {
        if (limit.remaining !== null && limit.remaining <= 0 && limit.resetAfterMs !== null) {
          wait = Math.max(wait ?? 0, limit.resetAfterMs);
        }
      }
    }
    if (wait !== null) {
      signalState.coolDownUntilEpochMs = Math.max(signalState.coolDownUntilEpochMs, nowEpochMs + wait);
      if (signalState.discovery) signalState.discovery.rejectionStreak = 0;
    } else if (!learnedSomething) {
      discover(signalState, true, nowEpochMs, policy, sentAtEpochMs);
    }
    return;
  }
  signalState.cleanReplies += 1;
  if (!learnedSomething) discover(signalState, false, nowEpochMs, policy, sentAtEpochMs);
}

/** Whether a budget holds nothing worth keeping: no calls in flight, no cool-down, untouched for `idleMs`. */
export function isIdle(state: BudgetState, nowEpochMs: number, idleMs: number): boolean {
  if (nowEpochMs - state.touchedAtEpochMs < idleMs) return false;
  if (state.coolDownUntilEpochMs > nowEpochMs || state.quotaExhaustedUntilEpochMs > nowEpochMs) return false;
  return Object.values(state.inFlight).every((units) => !units);
}

export type { Reservation };
