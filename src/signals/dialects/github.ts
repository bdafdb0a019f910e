import { asArray, asRecord, asString, type BodyView, pathOf } from '../body.js';
import {
  createLimit,
  type DialectReader,
  type DialectReading,
  detailsOrNothing,
  hasFacts,
  withDetail,
} from '../reading.js';
import { resetFromText } from '../time-frame.js';
import { parseCount, parseRemaining } from '../values.js';

/** GitHub's guidance when a secondary limit states no wait: "wait for at least one minute". */
const SECONDARY_WAIT_MS = 60_000;

/**
 * GitHub REST and GraphQL. `x-ratelimit-*` describe the primary limit of one resource (`core`, `search`,
 * `graphql`...; GraphQL counts points); reset is epoch seconds. A 403 or 429 is a rate limit when the limit is
 * spent (primary), when it carries `retry-after`, or when its message says so (secondary limits, which apply
 * to the whole credential: scope "global"). Any other 403 is a permission error, and the headers still count.
 * GraphQL reports a spent primary limit as a 200 whose errors have type RATE_LIMITED.
 */
export const readGithub: DialectReader = ({ status, headers, body, frame }) => {
  const resource = headers.get('x-ratelimit-resource');
  const remaining = parseRemaining(headers.get('x-ratelimit-remaining'));
  const used = parseCount(headers.get('x-ratelimit-used'));
  const limit = createLimit({
    name: resource ?? 'core',
    unit: resource === 'graphql' ? 'points' : 'requests',
    limit: parseCount(headers.get('x-ratelimit-limit')),
    remaining,
    reset: resetFromText(frame, headers.get('x-ratelimit-reset')),
  });
  const details: Record<string, string | number | boolean> = {};
  withDetail(details, 'used', used);
  const reading: DialectReading = { limited: false, limits: hasFacts(limit) ? [limit] : [] };
  if (resource !== undefined) reading.resource = resource;

  const kind = rateLimitKind(status, remaining, headers.has('retry-after'), body);
  if (kind !== null) {
    reading.limited = true;
    withDetail(details, 'reason', kind);
    if (kind === 'secondary') {
      reading.scope = 'global';
      // GitHub documents the minute for a secondary limit that states no wait and leaves the primary unspent.
      if (!headers.has('retry-after') && remaining !== 0) reading.waitAfterMs = SECONDARY_WAIT_MS;
    }
  }
  reading.details = detailsOrNothing(details);
  return reading;
};

function rateLimitKind(
  status: number,
  remaining: number | null,
  statesWait: boolean,
  body: BodyView,
): 'primary' | 'secondary' | null {
  if (status === 200) return remaining === 0 && graphqlRateLimited(body) ? 'primary' : null;
  if (status !== 403 && status !== 429) return null;
  if (remaining === 0) return 'primary';
  const message = (asString(pathOf(body.json(), 'message')) ?? body.text() ?? '').toLowerCase();
  if (message.includes('secondary rate limit') || message.includes('abuse')) return 'secondary';
  if (statesWait) return 'secondary';
  if (message.includes('rate limit')) return 'primary';
  return status === 429 ? 'secondary' : null;
}

function graphqlRateLimited(body: BodyView): boolean {
  return asArray(pathOf(body.json(), 'errors')).some((error) => asRecord(error)?.type === 'RATE_LIMITED');
}
