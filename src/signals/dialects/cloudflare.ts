import { asArray, asNumber, asRecord, type BodyView } from '../body.js';
import { readIetfLimits } from '../ietf.js';
import { type DialectReader, type DialectReading, detailsOrNothing, withDetail } from '../reading.js';

/** "Please wait and consider throttling your request speed". */
const RATE_LIMIT_CODE = 971;

/**
 * Cloudflare's API: the IETF `Ratelimit` / `Ratelimit-Policy` fields (1200 requests per 5 minutes per
 * user), `retry-after` when limited, and the error code 971 in the body. Going over blocks every call of the
 * credential until the stated time.
 */
export const readCloudflare: DialectReader = ({ status, headers, body, frame }) => {
  const reading: DialectReading = { limited: status === 429, limits: readIetfLimits(headers, frame) };
  const details: Record<string, string | number | boolean> = {};
  if (status === 429 || status === 403) {
    const code = rateLimitCode(body);
    if (code !== null) {
      reading.limited = true;
      withDetail(details, 'errorCode', code);
    }
  }
  reading.details = detailsOrNothing(details);
  return reading;
};

function rateLimitCode(body: BodyView): number | null {
  for (const error of asArray(asRecord(body.json())?.errors)) {
    if (asNumber(asRecord(error)?.code) === RATE_LIMIT_CODE) return RATE_LIMIT_CODE;
  }
  return null;
}
