import type { SignalHeaders } from '../headers.js';
import { createLimit, type DialectReader, detailsOrNothing, hasFacts, withDetail } from '../reading.js';
import { resetFromText, type TimeFrame } from '../time-frame.js';
import type { SignalLimit } from '../types.js';
import { parseCount, parseRemaining } from '../values.js';

/** Kong's per-period headers (`X-RateLimit-Limit-Minute`...), each a limit with a known window. */
const PERIODS = (
  [
    ['second', 1000],
    ['minute', 60_000],
    ['hour', 3_600_000],
    ['day', 86_400_000],
    ['month', 30 * 86_400_000],
    ['year', 365 * 86_400_000],
  ] as const
).map(([period, windowMs]) => ({
  period,
  windowMs,
  limitName: `x-ratelimit-limit-${period}`,
  remainingName: `x-ratelimit-remaining-${period}`,
}));

/**
 * The de-facto `X-RateLimit-Limit` / `-Remaining` / `-Reset` (/ `-Used`) family that many APIs send, with
 * the reset as epoch seconds, epoch milliseconds or delta seconds (told apart by magnitude), or a date.
 * When only used and remaining are sent, the limit is their sum.
 */
export function readGenericLimits(headers: SignalHeaders, frame: TimeFrame): SignalLimit[] {
  const limits: SignalLimit[] = [];
  const used = parseCount(headers.get('x-ratelimit-used'));
  const remaining = parseRemaining(headers.get('x-ratelimit-remaining'));
  const stated = parseCount(headers.get('x-ratelimit-limit'));
  const main = createLimit({
    name: 'default',
    limit: stated ?? (used !== null && remaining !== null ? used + remaining : null),
    remaining,
    reset: resetFromText(frame, headers.get('x-ratelimit-reset')),
  });
  if (hasFacts(main)) limits.push(main);
  for (const { period, windowMs, limitName, remainingName } of PERIODS) {
    const limit = parseCount(headers.get(limitName));
    const left = parseRemaining(headers.get(remainingName));
    if (limit !== null || left !== null) limits.push(createLimit({ name: period, limit, remaining: left, windowMs }));
  }
  return limits;
}

/**
 * A 429 is a rate limit; so is a 403 whose limit is spent, the convention GitHub set and many copied.
 */
export const readGeneric: DialectReader = ({ status, headers, frame }) => {
  const limits = readGenericLimits(headers, frame);
  const details: Record<string, string | number | boolean> = {};
  withDetail(details, 'used', parseCount(headers.get('x-ratelimit-used')));
  const exhausted = limits.some((limit) => limit.remaining === 0);
  return {
    limited: status === 429 || (status === 403 && exhausted),
    limits,
    details: detailsOrNothing(details),
  };
};
