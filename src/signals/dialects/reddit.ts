import { createLimit, type DialectReader, detailsOrNothing, hasFacts, withDetail } from '../reading.js';
import { resetFromText } from '../time-frame.js';
import { parseCount, parseRemaining } from '../values.js';

/** Reddit's documented window: the reset counts down to the end of a ten-minute period. */
const WINDOW_MS = 600_000;

/**
 * Reddit: `X-Ratelimit-Used`, `X-Ratelimit-Remaining` (a float, "597.0") and `X-Ratelimit-Reset` (seconds
 * until the period ends); no limit header, so the limit is used + remaining. Responses served by the CDN carry
 * no headers and do not count.
 */
export const readReddit: DialectReader = ({ status, headers, frame }) => {
  const used = parseCount(headers.get('x-ratelimit-used'));
  const remaining = parseRemaining(headers.get('x-ratelimit-remaining'));
  const limit = createLimit({
    name: 'default',
    limit:
      parseCount(headers.get('x-ratelimit-limit')) ?? (used !== null && remaining !== null ? used + remaining : null),
    remaining,
    reset: resetFromText(frame, headers.get('x-ratelimit-reset')),
    windowMs: WINDOW_MS,
  });
  const details: Record<string, string | number | boolean> = {};
  withDetail(details, 'used', used);
  return { limited: status === 429, limits: hasFacts(limit) ? [limit] : [], details: detailsOrNothing(details) };
};
