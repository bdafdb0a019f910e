import { createLimit, type DialectReader, detailsOrNothing, hasFacts, withDetail } from '../reading.js';
import { resetFromText } from '../time-frame.js';
import { parseCount, parseFlag, parseRemaining } from '../values.js';

/**
 * Atlassian (Jira, Confluence Cloud): a 429 carries `Retry-After` (seconds, authoritative),
 * `X-RateLimit-Reset` as an ISO 8601 time (often to the minute, "2024-05-05T18:02Z") and `RateLimit-Reason`
 * naming the limit that fired (jira-burst-based, jira-quota-global-based, jira-per-issue-on-write...).
 * `X-RateLimit-Limit` / `-Remaining` describe the token bucket, `X-RateLimit-NearLimit` warns below 20%, and
 * the older `X-RateLimit-FillRate` per `X-RateLimit-Interval-Seconds` gives its refill.
 */
export const readAtlassian: DialectReader = ({ status, headers, frame }) => {
  const reason = headers.get('ratelimit-reason');
  const intervalSeconds = parseCount(headers.get('x-ratelimit-interval-seconds'));
  const limit = createLimit({
    name: reason ?? 'default',
    limit: parseCount(headers.get('x-ratelimit-limit')),
    remaining: parseRemaining(headers.get('x-ratelimit-remaining')),
    reset: resetFromText(frame, headers.get('x-ratelimit-reset')),
    windowMs: intervalSeconds === null ? null : intervalSeconds * 1000,
  });
  const details: Record<string, string | number | boolean> = {};
  withDetail(details, 'reason', reason);
  withDetail(details, 'nearLimit', parseFlag(headers.get('x-ratelimit-nearlimit')));
  withDetail(details, 'fillRate', parseCount(headers.get('x-ratelimit-fillrate')));
  return { limited: status === 429, limits: hasFacts(limit) ? [limit] : [], details: detailsOrNothing(details) };
};
