import { asArray, asNumber, asRecord, asString, pathOf } from '../body.js';
import { type DialectReader, type DialectReading, detailsOrNothing, withDetail } from '../reading.js';
import { parseSecondsToMs } from '../values.js';

/** Legacy `error.errors[].reason` values (domain usageLimits) that are throttling: retry with backoff. */
const THROTTLING_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'userRateLimitExceededUnreg']);
/** Legacy reasons that are a quota spent until a reset the response does not state (a day, usually). */
const QUOTA_REASONS = new Set(['dailyLimitExceeded', 'dailyLimitExceededUnreg', 'quotaExceeded', 'limitExceeded']);

const DURATION = /^(\d{1,12})(?:\.(\d{1,9}))?s$/;

/**
 * Google APIs state no budget in headers. The AIP-193 error body does: status RESOURCE_EXHAUSTED (429), a
 * `google.rpc.RetryInfo` detail whose `retryDelay` ("12s", "2.500s") is the wait, and `QuotaFailure` /
 * `ErrorInfo` details naming the quota. The legacy format uses `error.errors[].reason` with 403 for rate
 * limits. A per-day quota without a RetryInfo is not retryable the same day.
 */
export const readGoogle: DialectReader = ({ status, body }) => {
  const reading: DialectReading = { limited: status === 429, limits: [] };
  if (status < 400) return reading;
  const error = asRecord(pathOf(body.json(), 'error'));
  if (error === null) return reading;
  const details: Record<string, string | number | boolean> = {};
  const statusName = asString(error.status);
  if (statusName === 'RESOURCE_EXHAUSTED') reading.limited = true;
  withDetail(details, 'errorCode', statusName);

  let dailyQuota = false;
  for (const detail of asArray(error.details)) {
    const record = asRecord(detail);
    const type = asString(record?.['@type']) ?? '';
    if (type.endsWith('google.rpc.RetryInfo')) reading.waitAfterMs = protobufDurationMs(record?.retryDelay);
    if (type.endsWith('google.rpc.ErrorInfo')) withDetail(details, 'reason', asString(record?.reason));
    if (type.endsWith('google.rpc.QuotaFailure')) {
      for (const violation of asArray(record?.violations)) {
        const quotaId = asString(asRecord(violation)?.quotaId) ?? '';
        if (quotaId.includes('PerDay')) dailyQuota = true;
      }
    }
  }
  for (const legacy of asArray(error.errors)) {
    const reason = asString(asRecord(legacy)?.reason);
    if (reason === null) continue;
    if (THROTTLING_REASONS.has(reason) || QUOTA_REASONS.has(reason)) {
      reading.limited = true;
      withDetail(details, 'reason', reason);
      if (QUOTA_REASONS.has(reason)) dailyQuota = true;
    }
  }
  if (reading.limited && dailyQuota && (reading.waitAfterMs ?? null) === null) reading.retryable = false;
  reading.details = detailsOrNothing(details);
  return reading;
};

/** A protobuf Duration: JSON text "12s" / "2.500s", or an object { seconds, nanos }. Negative is invalid. */
function protobufDurationMs(value: unknown): number | null {
  if (typeof value === 'string') {
    const match = DURATION.exec(value.trim());
    return match ? parseSecondsToMs(match[2] === undefined ? match[1] : `${match[1]}.${match[2]}`) : null;
  }
  const seconds = asNumber(pathOf(value, 'seconds'));
  const nanos = asNumber(pathOf(value, 'nanos')) ?? 0;
  if (seconds === null || seconds < 0 || nanos < 0) return null;
  return Math.ceil(seconds * 1000 + nanos / 1e6);
}
