import { asRecord, asString, type BodyView } from '../body.js';
import { type DialectReader, type DialectReading, detailsOrNothing, withDetail } from '../reading.js';

const RATE_LIMIT_ERRORS = new Set(['ratelimited', 'rate_limited']);

/**
 * Slack's Web API sends no budget headers (limits are per-method tiers); a rate-limited call is a 429 with
 * `Retry-After` (seconds) and `{"ok": false, "error": "ratelimited"}`. Some methods report
 * `rate_limited` in a 200 body instead.
 */
export const readSlack: DialectReader = ({ status, body }) => {
  const error = status === 429 || mayMentionRateLimit(body) ? slackError(body) : null;
  const reading: DialectReading = {
    limited: status === 429 || (error !== null && RATE_LIMIT_ERRORS.has(error)),
    limits: [],
  };
  const details: Record<string, string | number | boolean> = {};
  withDetail(details, 'errorCode', error);
  reading.details = detailsOrNothing(details);
  return reading;
};

/** Parsing every Slack body would be waste: only one that mentions a rate limit is worth reading. */
function mayMentionRateLimit(body: BodyView): boolean {
  const text = body.text();
  if (text !== null) return text.includes('rate_limited') || text.includes('ratelimited');
  return body.json() !== undefined;
}

function slackError(body: BodyView): string | null {
  const json = asRecord(body.json());
  if (json === null || json.ok !== false) return null;
  return asString(json.error);
}
