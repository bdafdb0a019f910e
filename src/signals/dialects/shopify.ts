import { asArray, asNumber, asRecord, asString, type BodyView, pathOf } from '../body.js';
import { createLimit, type DialectReader, type DialectReading, detailsOrNothing, withDetail } from '../reading.js';
import { resetAfter, type TimeFrame } from '../time-frame.js';
import type { SignalLimit } from '../types.js';
import { parseCount } from '../values.js';

/**
 * Shopify. REST: `X-Shopify-Shop-Api-Call-Limit: USED/SIZE` of a leaky bucket; the leak rate depends on the
 * plan and is not sent, so no reset is known. GraphQL: the cost extension in the body
 * (`extensions.cost.throttleStatus`: maximumAvailable, currentlyAvailable, restoreRate points per second); a
 * throttled query is an error with code THROTTLED (or message "Throttled"), often with status 200. The wait
 * is the time to restore the points the query asked for; the reset is the time to refill the bucket.
 */
export const readShopify: DialectReader = ({ status, headers, body, frame }) => {
  const callLimit = headers.get('x-shopify-shop-api-call-limit');
  if (callLimit !== undefined) return readRest(status, callLimit);
  return readGraphql(status, body, frame);
};

function readRest(status: number, callLimit: string): DialectReading {
  const slash = callLimit.indexOf('/');
  const used = slash === -1 ? null : parseCount(callLimit.slice(0, slash));
  const size = slash === -1 ? null : parseCount(callLimit.slice(slash + 1));
  const limits: SignalLimit[] = [];
  const details: Record<string, string | number | boolean> = {};
  if (used !== null || size !== null) {
    limits.push(
      createLimit({
        name: 'rest',
        limit: size,
        remaining: used !== null && size !== null ? Math.max(0, size - used) : null,
      }),
    );
    withDetail(details, 'used', used);
  }
  return { limited: status === 429, limits, details: detailsOrNothing(details) };
}

function readGraphql(status: number, body: BodyView, frame: TimeFrame): DialectReading {
  const json = body.json();
  const cost = pathOf(json, 'extensions', 'cost');
  const throttle = pathOf(cost, 'throttleStatus');
  const maximum = asNumber(pathOf(throttle, 'maximumAvailable'));
  const available = asNumber(pathOf(throttle, 'currentlyAvailable'));
  const restoreRate = asNumber(pathOf(throttle, 'restoreRate'));
  const requested = asNumber(pathOf(cost, 'requestedQueryCost'));
  const throttled = status === 429 || isThrottled(json);
  const reading: DialectReading = { limited: throttled, limits: [] };
  const details: Record<string, string | number | boolean> = {};
  if (maximum !== null || available !== null) {
    const refillMs = timeToRestore(maximum, available, restoreRate);
    reading.limits.push(
      createLimit({
        name: 'graphql-cost',
        unit: 'points',
        limit: maximum,
        remaining: available,
        reset: refillMs === null ? null : resetAfter(frame, refillMs),
      }),
    );
  }
  withDetail(details, 'restoreRatePerSecond', restoreRate);
  withDetail(details, 'requestedCost', requested);
  if (throttled) reading.waitAfterMs = timeToRestore(requested, available, restoreRate);
  reading.details = detailsOrNothing(details);
  return reading;
}

/** Milliseconds until `available` points grow to `needed` at `ratePerSecond`; rounded up. */
function timeToRestore(needed: number | null, available: number | null, ratePerSecond: number | null): number | null {
  if (needed === null || available === null || ratePerSecond === null || ratePerSecond <= 0) return null;
  const missing = needed - available;
  if (missing <= 0) return 0;
  return Math.ceil((missing * 1000) / ratePerSecond - 1e-9);
}

function isThrottled(json: unknown): boolean {
  return asArray(pathOf(json, 'errors')).some((error) => {
    const record = asRecord(error);
    return asString(pathOf(record, 'extensions', 'code')) === 'THROTTLED' || record?.message === 'Throttled';
  });
}
