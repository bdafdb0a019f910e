import { asNumber, asRecord } from '../body.js';
import { createLimit, type DialectReader, type DialectReading, hasFacts } from '../reading.js';
import { resetFromSeconds, resetFromText } from '../time-frame.js';
import { parseCount, parseFlag, parseRemaining, secondsToMs } from '../values.js';

/**
 * Discord: per-route buckets (`X-RateLimit-Bucket`) with limit, remaining, reset (epoch seconds with
 * decimals) and reset-after (delta seconds, preferred: it needs no clock). A 429 says which limit fired in
 * `X-RateLimit-Scope` ("user", "global" for the whole bot, "shared" for a resource shared with others) or
 * `X-RateLimit-Global`, and how long to wait in `Retry-After` and in the body's `retry_after` (seconds).
 */
export const readDiscord: DialectReader = ({ status, headers, body, frame }) => {
  const limit = createLimit({
    name: 'route',
    limit: parseCount(headers.get('x-ratelimit-limit')),
    remaining: parseRemaining(headers.get('x-ratelimit-remaining')),
    reset:
      resetFromSeconds(frame, headers.get('x-ratelimit-reset-after')) ??
      resetFromText(frame, headers.get('x-ratelimit-reset')),
  });
  const reading: DialectReading = { limited: status === 429, limits: hasFacts(limit) ? [limit] : [] };
  const bucket = headers.get('x-ratelimit-bucket');
  if (bucket !== undefined && bucket !== '') reading.bucket = bucket;
  let global = parseFlag(headers.get('x-ratelimit-global')) === true;
  let scope = headers.get('x-ratelimit-scope');
  if (status === 429) {
    const rejection = asRecord(body.json());
    if (rejection?.global === true) global = true;
    reading.waitAfterMs = secondsToMs(asNumber(rejection?.retry_after));
  }
  if (global) scope = 'global';
  if (scope !== undefined && scope !== '') reading.scope = scope.toLowerCase();
  return reading;
};
