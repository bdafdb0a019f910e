import { type DialectReader, type DialectReading, detailsOrNothing, withDetail } from '../reading.js';
import { parseFlag } from '../values.js';

/**
 * Stripe sends no budget headers. A 429 names its reason in `Stripe-Rate-Limited-Reason` (global-rate,
 * endpoint-rate, global-concurrency, endpoint-concurrency, resource-specific): the global ones hold the whole
 * account (scope "global"), the others one endpoint or object (scope "endpoint"). `Stripe-Should-Retry` is
 * Stripe's own verdict on retrying.
 */
export const readStripe: DialectReader = ({ status, headers }) => {
  const reading: DialectReading = { limited: status === 429, limits: [] };
  const reason = headers.get('stripe-rate-limited-reason');
  const details: Record<string, string | number | boolean> = {};
  withDetail(details, 'reason', reason);
  if (reason !== undefined && reading.limited) {
    if (reason.startsWith('global-')) reading.scope = 'global';
    else if (reason.startsWith('endpoint-')) reading.scope = 'endpoint';
  }
  const shouldRetry = parseFlag(headers.get('stripe-should-retry'));
  if (shouldRetry !== null) reading.retryable = shouldRetry;
  reading.details = detailsOrNothing(details);
  return reading;
};
