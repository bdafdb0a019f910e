import { asNumber, asRecord } from '../body.js';
import { type DialectReader, type DialectReading, detailsOrNothing, withDetail } from '../reading.js';

/** 20429: too many concurrent requests; 14107: message send rate exceeded. */
const RATE_LIMIT_CODES = new Set([20429, 14107]);

/**
 * Twilio limits concurrent requests per account rather than a window, and sends no budget headers: a 429
 * (error code 20429) is "never processed and always safe to retry", even for a POST.
 */
export const readTwilio: DialectReader = ({ status, body }) => {
  const reading: DialectReading = { limited: status === 429, limits: [] };
  if (status < 400) return reading;
  const code = asNumber(asRecord(body.json())?.code);
  const details: Record<string, string | number | boolean> = {};
  if (code !== null) {
    withDetail(details, 'errorCode', code);
    if (RATE_LIMIT_CODES.has(code)) reading.limited = true;
  }
  if (reading.limited) reading.retryable = true;
  reading.details = detailsOrNothing(details);
  return reading;
};
