import type { StoreErrorPolicy } from '../limits/types.js';
import type { Cost } from '../pipeline/stage.js';
import type { LimitUnit, RateLimitSignal } from '../signals/types.js';

/**
 * How a limit gives budget back, which decides how the pacer spends it:
 * - `window`: the whole limit comes back at `resetAtEpochMs` (fixed windows; GitHub, Discord, X, IETF). The pacer
 *   spreads what is left evenly over the time to reset.
 * - `bucket`: budget drips back continuously at `refillPerMs` up to `limit` (token and leaky buckets; OpenAI,
 *   Anthropic, Shopify). The pacer spends what is there and then keeps pace with the refill.
 * - `sliding`: each unit comes back one window after it was spent (sliding windows; the IETF fields, which state
 *   the window's length). The pacer keeps when its own spent units come back and spends them again then.
 * - `concurrency`: slots held while a call is in flight.
 */
export type LimitModel = 'window' | 'bucket' | 'sliding' | 'concurrency';

/** What the budget believes about one limit right now. Plain data, so a shared store can keep it as JSON. */
export interface LimitEstimate {
  name: string;
  unit: LimitUnit;
  model: LimitModel;
  /** `configured` limits come from options and never go away; `learned` ones come from replies. */
  source: 'configured' | 'learned';
  /** Capacity: per window, bucket size, or slots. null when the provider never said. */
  limit: number | null;
  /** Units that may still be spent, with every admitted reservation already taken off. May go negative. */
  available: number;
  /** window: when `limit` comes back. null when unknown. */
  resetAtEpochMs: number | null;
  /** window: its length, when said or learned from two consecutive resets. */
  windowMs: number | null;
  /** bucket: units per millisecond flowing back. null until said or learned. */
  refillPerMs: number | null;
  /** bucket: when `available` last had refill added. window: when it was last set from a reply. */
  updatedAtEpochMs: number;
  /** window: when the last unit was spent; spreading counts from there. null at the start of a window. */
  lastSpendAtEpochMs: number | null;
  /** The newest reservation whose reply set `available` (older replies may only lower it). */
  observedSequence: number;
  /** Extra wait after a stated reset, learned when a call sent at the stated reset was still refused. */
  resetSlackMs: number;
  /**
   * window, for windows that start with the first call after the last one ended (GitHub's, Discord's): what the
   * replies so far allow the window's length to be. See `learnWindowPhase`.
   */
  windowBounds: { lowMs: number; highMs: number } | null;
  /** The current window started after this (when the call that opened it was sent)... */
  windowOpenedAfterEpochMs: number | null;
  /** ...and before this (when that call was answered). */
  windowOpenedByEpochMs: number | null;
  /** The latest send time of a call the current window is known to have counted: it ends after that. */
  windowLastCountedSendEpochMs: number | null;
  /**
   * Windows are nearly always whole seconds long: when the bounds leave one whole second possible, the length is
   * taken to be it — until a refusal proves otherwise, after which only the bounds are trusted.
   */
  windowRoundingRefuted: boolean;
  /**
   * sliding: units spent by answered calls, oldest first (at most `limit`): each comes back somewhere between its
   * call's send time and its answer time, plus the window. `returnsAtEpochMs` holds the latest, `returnsFromEpochMs`
   * the earliest of those times.
   */
  returnsAtEpochMs: number[];
  returnsFromEpochMs: number[];
  /** bucket: the last reply used to learn the refill rate (time, remaining, reservation sequence). */
  refillSample: { atEpochMs: number; remaining: number; sequence: number } | null;
}

/**
 * Rate discovery for upstreams that say nothing but 429. Rejections come in streaks where the upstream's window
 * (or bucket) is exhausted; from the end of one streak to the end of the next is one cycle of the upstream, and
 * what it accepted over a cycle is its true rate.
 */
export interface DiscoveryState {
  /** Current sending rate, calls per second. */
  ratePerSecond: number;
  /** False until the first rejection: slow start, where the calls in flight are bounded by `window`. */
  congested: boolean;
  /** Slow start: how many calls may be in flight; one more per accepted call, so it doubles every round trip. */
  window: number;
  /** When the last call was scheduled to go (it may have gone a little later). */
  lastSpendAtEpochMs: number | null;
  /** Consecutive rejections, for the back-off while the upstream keeps refusing. */
  rejectionStreak: number;
  lastIncreaseAtEpochMs: number;
  /**
   * When the current cycle began: the first acceptance after a rejection streak (the upstream's limit came back
   * since the last rejection). null before the first streak ended.
   */
  cycleStartedAtEpochMs: number | null;
  acceptedInCycle: number;
  /** The last cycle's length: back-offs stay under a fiftieth of it, so that a cycle's end is seen precisely. */
  lastCycleMs: number | null;
  lastRejectionAtEpochMs: number | null;
  /** Accepted calls per second, measured over the last second or more (the first rate after the first rejection). */
  acceptedRatePerSecond: number;
  acceptedSinceEpochMs: number;
  acceptedSinceCount: number;
}

export interface BudgetState {
  estimates: LimitEstimate[];
  /** Units reserved by admitted calls whose replies have not been observed yet. */
  inFlight: Partial<Record<LimitUnit, number>>;
  /** Nothing is admitted before this time (a 429's Retry-After, an exhausted limit's reset). */
  coolDownUntilEpochMs: number;
  /**
   * The provider said nothing can succeed before a time it did not state (a spend cap): calls fail at once until
   * this time, then one probe may go.
   */
  quotaExhaustedUntilEpochMs: number;
  /** Counts reservations; replies carry theirs, so a reply can be told newer or older than what is known. */
  sequence: number;
  discovery: DiscoveryState | null;
  /** Replies seen since the last rate-limit rejection: the safety margin shrinks as this grows. */
  cleanReplies: number;
  touchedAtEpochMs: number;
}

/** A limit the user configured (or a preset gave), seeded into a budget the first time it is used. */
export interface ConfiguredLimit {
  name: string;
  unit: LimitUnit;
  model: LimitModel;
  limit: number;
  /** window: its length (windows aligned to the epoch); bucket: limit / windowMs is the refill rate. */
  windowMs: number;
  /** bucket: its size (a token bucket's burst); default `limit`. */
  burst?: number;
}

/** One budget a call draws on: its key, and the configured limits to seed it with. Broadest first. */
export interface BudgetKey {
  key: string;
  configured?: readonly ConfiguredLimit[];
}

/** A reservation made by `admit`: what to give back or settle when the reply comes. */
export interface Reservation {
  keys: string[];
  cost: Cost;
  /** The budget's sequence number for each key (same order as `keys`). */
  sequences: number[];
  admittedAtEpochMs: number;
}

export type AdmitDecision =
  | { admitted: true; reservation: Reservation; fallback?: StoreErrorPolicy }
  | {
      admitted: false;
      waitMs: number;
      why: string;
      key: string;
      quotaExhausted?: boolean;
      fallback?: StoreErrorPolicy;
    };

export interface AdmitOptions {
  /** Higher may use the held-back share of a budget. */
  priority?: number;
  /** The call's injected time; when absent the store uses its own clock. */
  nowEpochMs?: number;
  policy?: BudgetPolicy;
}

/** What the pacer knows of a call's outcome, folded into a budget by `observe`. */
export interface Observation {
  /** The parsed signal of the reply, or null when the call failed without a reply. */
  signal: RateLimitSignal | null;
  /** Which key the signal's limits belong to (normally the narrowest; the broadest for a global limit). */
  signalKey: string | null;
  /** The reply was a rate-limit rejection (429 or the dialect's equivalent), with or without headers. */
  rejected: boolean;
  /** How the provider's learned limits give budget back (by dialect: buckets for OpenAI, windows for GitHub...). */
  model: 'window' | 'bucket';
  nowEpochMs?: number;
  policy?: BudgetPolicy;
}

export interface Settlement {
  reservation: Reservation;
  /** What the call really cost (defaults to what was reserved). A 304 that the provider does not count costs 0. */
  actual?: Cost;
}

/**
 * Where budgets live: in memory for one process, in Redis for many. Both operations are atomic per call, so two
 * callers (or processes) can never both spend the last unit.
 *
 * An admit decision made while a shared store could not answer carries `fallback`: which `onStoreError` policy
 * decided ('open', 'closed' or 'local'); a refusal with it is an outage, never a rate limit.
 */
export interface BudgetStore {
  /** Reserves `cost` on every limit of every key, or says how long to wait. */
  admit(keys: readonly BudgetKey[], cost: Cost, options?: AdmitOptions): Promise<AdmitDecision>;
  /** Folds a reply into the budgets and settles the reservation it answered. */
  observe(observation: Observation, settlement?: Settlement): Promise<void>;
  /** A snapshot of every budget, for the admin view and tests. */
  snapshot(): Promise<Record<string, BudgetState>>;
  /**
   * Optional: calls `listener` whenever budgets may have changed (a reply folded in, a slot freed), so that waiting
   * callers re-check at once instead of at their next poll. Returns the function that unsubscribes.
   */
  onChange?(listener: () => void): () => void;
  close(): Promise<void>;
  /**
   * Shared stores (Redis) say so: several processes use them and they may fail, so the pipeline wraps them in its
   * `onStoreError` fallback (createResilientBudgetStore).
   */
  readonly shared?: boolean;
  /** Shared stores: this process's part of every limit while the store cannot answer (1 / live instances). */
  localShare?(): number;
}

/** Tuning of how budgets are spent; the defaults suit most providers. */
export interface BudgetPolicy {
  /**
   * Fraction of a learned refill rate held back while estimates are young; it shrinks as replies confirm them
   * (margin / (1 + cleanReplies / confidenceReplies)).
   */
  safetyMargin: number;
  confidenceReplies: number;
  /** Share of each limit only calls with priority ≥ `reservePriority` may use. */
  reserveShare: number;
  reservePriority: number;
  /** Wait before probing a limit that is exhausted and whose reset is unknown. */
  probeIntervalMs: number;
  /**
   * Header-less upstreams: the starting rate; the share of a measured rate to send at (`settle`, below 1 so the
   * upstream's limit is not met every cycle); how fast the rate then creeps up to find a higher limit (a fraction
   * per second); and the longest back-off while rejections continue.
   */
  discovery: { initialRatePerSecond: number; settle: number; increasePerSecond: number; maxBackoffMs: number };
  /** Forget budgets untouched for this long (their windows are long over). */
  idleExpiryMs: number;
}

export const defaultBudgetPolicy: BudgetPolicy = {
  safetyMargin: 0.05,
  confidenceReplies: 50,
  reserveShare: 0,
  reservePriority: 1,
  probeIntervalMs: 1000,
  discovery: { initialRatePerSecond: 5, settle: 0.97, increasePerSecond: 0.005, maxBackoffMs: 30_000 },
  idleExpiryMs: 3_600_000,
};
