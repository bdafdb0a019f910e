import { asString, pathOf } from '../body.js';
import { createLimit, type DialectReader, detailsOrNothing, withDetail } from '../reading.js';
import { resetFromSeconds } from '../time-frame.js';
import type { SignalLimit } from '../types.js';
import { parseCount, parseRemaining } from '../values.js';

const ENDPOINT_PREFIX = 'zendesk-ratelimit-';

/**
 * Zendesk: the account's per-minute limit in `X-Rate-Limit` / `X-Rate-Limit-Remaining` (with the seconds
 * left in the minute in `ratelimit-reset` when sent), endpoint limits in
 * `Zendesk-RateLimit-<endpoint>: total=100; remaining=99; resets=43`, and `Retry-After` (seconds) on a 429.
 */
export const readZendesk: DialectReader = ({ status, headers, body, frame }) => {
  const limits: SignalLimit[] = [];
  const total = parseCount(headers.get('x-rate-limit'));
  const remaining = parseRemaining(headers.get('x-rate-limit-remaining'));
  if (total !== null || remaining !== null) {
    limits.push(
      createLimit({
        name: 'account',
        limit: total,
        remaining,
        reset: resetFromSeconds(frame, headers.get('ratelimit-reset')),
        windowMs: 60_000,
      }),
    );
  }
  for (const [header, value] of headers) {
    if (!header.startsWith(ENDPOINT_PREFIX) || header.length === ENDPOINT_PREFIX.length) continue;
    const fields = keyValues(value);
    limits.push(
      createLimit({
        name: header.slice(ENDPOINT_PREFIX.length),
        limit: parseCount(fields.get('total')),
        remaining: parseRemaining(fields.get('remaining')),
        reset: resetFromSeconds(frame, fields.get('resets')),
        scope: 'endpoint',
      }),
    );
  }
  const details: Record<string, string | number | boolean> = {};
  if (status === 429) {
    withDetail(details, 'errorCode', asString(pathOf(body.json(), 'error')));
  }
  return { limited: status === 429, limits, details: detailsOrNothing(details) };
};

function keyValues(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of text.split(/[;,]/)) {
    const equals = part.indexOf('=');
    if (equals > 0) fields.set(part.slice(0, equals).trim().toLowerCase(), part.slice(equals + 1).trim());
  }
  return fields;
}
