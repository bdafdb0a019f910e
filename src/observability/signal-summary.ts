import type { RateLimitSignal, SignalLimit } from '../signals/types.js';

/**
 * A rate-limit signal as one log line carries it: the primary limit's numbers flat (easy to query), every limit the
 * reply reported as one short string each ("tokens 9000/10000 reset 6000ms window 60000ms"), and where the provider
 * keys it. Provider details (bodies' messages) are left out: they are free text and may echo what was sent.
 */
export interface SignalSummary {
  dialect: string;
  limited: boolean;
  retryable: boolean | null;
  retryAfterMs: number | null;
  limit: number | null;
  remaining: number | null;
  resetAfterMs: number | null;
  resource?: string;
  bucket?: string;
  scope?: string;
  limits?: string[];
}

export function describeLimit(limit: SignalLimit): string {
  const remaining = limit.remaining === null ? '?' : String(limit.remaining);
  const capacity = limit.limit === null ? '?' : String(limit.limit);
  let text = `${limit.name} ${remaining}/${capacity}`;
  if (limit.unit !== 'requests' && limit.name !== limit.unit) text += ` ${limit.unit}`;
  if (limit.resetAfterMs !== null) text += ` reset ${limit.resetAfterMs}ms`;
  if (limit.windowMs !== null) text += ` window ${limit.windowMs}ms`;
  if (limit.scope !== undefined) text += ` scope ${limit.scope}`;
  return text;
}

export function summarizeSignal(signal: RateLimitSignal): SignalSummary {
  const summary: SignalSummary = {
    dialect: signal.dialect,
    limited: signal.limited,
    retryable: signal.retryable,
    retryAfterMs: signal.retryAfterMs,
    limit: signal.limit,
    remaining: signal.remaining,
    resetAfterMs: signal.resetAfterMs,
  };
  if (signal.resource !== undefined) summary.resource = signal.resource;
  if (signal.bucket !== undefined) summary.bucket = signal.bucket;
  if (signal.scope !== undefined) summary.scope = signal.scope;
  if (Array.isArray(signal.limits) && signal.limits.length > 0) summary.limits = signal.limits.map(describeLimit);
  return summary;
}
