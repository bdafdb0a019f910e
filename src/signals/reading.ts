import type { BodyView } from './body.js';
import type { SignalHeaders } from './headers.js';
import type { ResetTime, TimeFrame } from './time-frame.js';
import type { LimitUnit, SignalLimit } from './types.js';

/** What every dialect reader is given: the response, normalized, and the clocks to place resets on. */
export interface SignalInput {
  /** The HTTP status, or 0 when the caller gave none that makes sense. */
  readonly status: number;
  readonly headers: SignalHeaders;
  readonly body: BodyView;
  readonly frame: TimeFrame;
}

/** What a dialect reader found. `parse.ts` applies the rules every dialect shares on top of it. */
export interface DialectReading {
  /** This response is a rate-limit rejection in the dialect's terms. */
  limited: boolean;
  /** The dialect's own verdict: false for a spend cap or an exhausted quota whose reset is not stated. */
  retryable?: boolean;
  /** A wait the dialect found outside Retry-After (a body's retry_after, Google's RetryInfo, Shopify's cost). */
  waitAfterMs?: number | null;
  /** Every limit reported, primary first. */
  limits: SignalLimit[];
  resource?: string;
  bucket?: string;
  scope?: string;
  details?: Record<string, string | number | boolean>;
}

export type DialectReader = (input: SignalInput) => DialectReading;

export interface LimitFacts {
  name: string;
  unit?: LimitUnit;
  limit?: number | null;
  remaining?: number | null;
  reset?: ResetTime | null;
  windowMs?: number | null;
  scope?: string | undefined;
  partitionKey?: string | undefined;
}

/** A limit with every number checked: finite and non-negative, durations whole milliseconds. */
export function createLimit(facts: LimitFacts): SignalLimit {
  const limit: SignalLimit = {
    name: facts.name,
    unit: facts.unit ?? 'requests',
    limit: nonNegative(facts.limit),
    remaining: nonNegative(facts.remaining),
    resetAtEpochMs: facts.reset?.resetAtEpochMs ?? null,
    resetAfterMs: facts.reset?.resetAfterMs ?? null,
    windowMs: positiveMs(facts.windowMs),
  };
  if (facts.scope !== undefined) limit.scope = facts.scope;
  if (facts.partitionKey !== undefined) limit.partitionKey = facts.partitionKey;
  if (facts.reset?.precisionMs !== undefined) limit.resetPrecisionMs = facts.reset.precisionMs;
  return limit;
}

/** True when the limit carries any number at all (a name alone says nothing). */
export function hasFacts(limit: SignalLimit): boolean {
  return limit.limit !== null || limit.remaining !== null || limit.resetAfterMs !== null;
}

function nonNegative(value: number | null | undefined): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  return value < 0 ? 0 : value;
}

function positiveMs(value: number | null | undefined): number | null {
  if (value === null || value === undefined || !Number.isFinite(value) || value <= 0) return null;
  return Math.ceil(value);
}

/** The reading of a response that says nothing in the dialect's terms: a 429 is still a rate limit. */
export function statusReading(input: SignalInput): DialectReading {
  return { limited: input.status === 429, limits: [] };
}

/** Adds a detail only when it has a value, so `details` never carries undefined or NaN. */
export function withDetail(
  details: Record<string, string | number | boolean>,
  key: string,
  value: string | number | boolean | null | undefined,
): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'number' && !Number.isFinite(value)) return;
  details[key] = value;
}

/** A reading's details, or undefined when there are none (the signal then has no `details` key). */
export function detailsOrNothing(
  details: Record<string, string | number | boolean>,
): Record<string, string | number | boolean> | undefined {
  return Object.keys(details).length === 0 ? undefined : details;
}
