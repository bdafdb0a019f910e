import { parseDurationText } from '../../time.js';
import { asString, pathOf } from '../body.js';
import type { SignalHeaders } from '../headers.js';
import { createLimit, type DialectReader, type DialectReading, detailsOrNothing, withDetail } from '../reading.js';
import { resetAfter, type TimeFrame } from '../time-frame.js';
import type { LimitUnit, SignalLimit } from '../types.js';
import { parseCount, parseRemaining, parseSecondsToMs } from '../values.js';

const FIELDS = ['limit', 'remaining', 'reset'] as const;
type Field = (typeof FIELDS)[number];
const PREFIXES = FIELDS.map((field) => [field, `x-ratelimit-${field}-`] as const);

/** Error codes that mean the account cannot spend more until someone pays or raises a cap. */
const QUOTA_CODES = new Set(['insufficient_quota', 'billing_hard_limit_reached', 'billing_not_active']);

/**
 * OpenAI (and Azure OpenAI): one `x-ratelimit-{limit,remaining,reset}-<name>` triple per limit (`requests`,
 * `tokens`, and any others such as `tokens_usage_based`). Resets are Go durations relative to now ("6m0s",
 * "2m59.56s", "20ms") until the limit is fully replenished. A 429 whose error code is `insufficient_quota` is
 * a spend cap, not throttling.
 */
export function readOpenAiLimits(headers: SignalHeaders, frame: TimeFrame): SignalLimit[] {
  const byName = new Map<string, Partial<Record<Field, string>>>();
  for (const [header, value] of headers) {
    if (!header.startsWith('x-ratelimit-')) continue;
    for (const [field, prefix] of PREFIXES) {
      if (header.startsWith(prefix) && header.length > prefix.length) {
        const name = header.slice(prefix.length);
        const entry = byName.get(name) ?? {};
        entry[field] = value;
        byName.set(name, entry);
      }
    }
  }
  const names = [...byName.keys()].sort(primaryFirst);
  return names.map((name) => {
    const fields = byName.get(name)!;
    const resetMs = durationMs(fields.reset);
    return createLimit({
      name,
      unit: unitOf(name),
      limit: parseCount(fields.limit),
      remaining: parseRemaining(fields.remaining),
      reset: resetMs === null ? null : resetAfter(frame, resetMs),
    });
  });
}

export const readOpenAi: DialectReader = ({ status, headers, body, frame }) => {
  const reading: DialectReading = { limited: status === 429, limits: readOpenAiLimits(headers, frame) };
  if (status === 429) {
    const error = pathOf(body.json(), 'error');
    const code = asString(pathOf(error, 'code')) ?? asString(pathOf(error, 'type'));
    const details: Record<string, string | number | boolean> = {};
    withDetail(details, 'errorCode', code);
    if (code !== null && QUOTA_CODES.has(code)) reading.retryable = false;
    reading.details = detailsOrNothing(details);
  }
  return reading;
};

/** Go's time.Duration text, or plain seconds from providers that send a bare number. */
function durationMs(text: string | undefined): number | null {
  if (text === undefined) return null;
  return parseDurationText(text) ?? parseSecondsToMs(text);
}

function unitOf(name: string): LimitUnit {
  if (name.includes('token')) return 'tokens';
  if (name.includes('request')) return 'requests';
  return 'points';
}

function primaryFirst(left: string, right: string): number {
  const rank = (name: string) => (name === 'requests' ? 0 : name === 'tokens' ? 1 : 2);
  return rank(left) - rank(right) || (left < right ? -1 : left > right ? 1 : 0);
}
