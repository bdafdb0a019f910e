import { asString, pathOf } from '../body.js';
import { createLimit, type DialectReader, type DialectReading, detailsOrNothing, withDetail } from '../reading.js';
import { resetAt } from '../time-frame.js';
import type { SignalLimit } from '../types.js';
import { parseCount, parseIsoTime, parseRemaining } from '../values.js';

const PREFIX = 'anthropic-ratelimit-';
const ORDER = ['requests', 'input-tokens', 'output-tokens', 'tokens'];
const FIELDS = ['limit', 'remaining', 'reset'] as const;
type Field = (typeof FIELDS)[number];

/** Error codes of a spend cap: nothing succeeds until the month (or the cap) changes. */
const SPEND_CAP_CODES = new Set(['enforced_spend_limit_reached', 'spend_limit_reached']);

/**
 * Anthropic: `anthropic-ratelimit-<name>-{limit,remaining,reset}` for requests, input tokens, output tokens
 * and tokens (the most restrictive token limit in effect), with resets as RFC 3339 times of full
 * replenishment. A 429 whose `error.details.error_code` names the spend limit is a cap, not throttling.
 */
export const readAnthropic: DialectReader = ({ status, headers, body, frame }) => {
  const byName = new Map<string, Partial<Record<Field, string>>>();
  for (const [header, value] of headers) {
    if (!header.startsWith(PREFIX)) continue;
    const rest = header.slice(PREFIX.length);
    for (const field of FIELDS) {
      if (rest.endsWith(`-${field}`) && rest.length > field.length + 1) {
        const name = rest.slice(0, -(field.length + 1));
        const entry = byName.get(name) ?? {};
        entry[field] = value;
        byName.set(name, entry);
      }
    }
  }
  const limits: SignalLimit[] = [...byName.keys()].sort(byOrder).map((name) => {
    const fields = byName.get(name)!;
    const reset = parseIsoTime(fields.reset);
    return createLimit({
      name,
      unit: name.endsWith('tokens') ? 'tokens' : 'requests',
      limit: parseCount(fields.limit),
      remaining: parseRemaining(fields.remaining),
      reset: reset === null ? null : resetAt(frame, reset),
    });
  });
  const reading: DialectReading = { limited: status === 429, limits };
  if (status === 429) {
    const error = pathOf(body.json(), 'error');
    const code = asString(pathOf(error, 'details', 'error_code'));
    const details: Record<string, string | number | boolean> = {};
    withDetail(details, 'errorCode', code);
    const message = asString(pathOf(error, 'message')) ?? '';
    if ((code !== null && SPEND_CAP_CODES.has(code)) || message.includes('API usage limits')) reading.retryable = false;
    reading.details = detailsOrNothing(details);
  }
  return reading;
};

function byOrder(left: string, right: string): number {
  const rank = (name: string) => {
    const index = ORDER.indexOf(name);
    return index === -1 ? ORDER.length : index;
  };
  return rank(left) - rank(right) || (left < right ? -1 : left > right ? 1 : 0);
}
