import { decisecondsText } from '../format.js';
import { type LeakyBucketState, pourLeakyBucket } from '../models/leaky-bucket.js';
import { checkLimitFields, wholeCount, windowMs } from '../settings.js';
import type { SimulatedProfile, SimulatedReply, SimulatedRequest, SimulatorLimits } from '../types.js';

/**
 * Shopify's REST Admin API: a leaky bucket of 40 calls that drains continuously (scaled: fully in 2 s, so 20
 * calls/s instead of 2). `X-Shopify-Shop-Api-Call-Limit: used/size` on every response (used rounded up: it
 * never shows room that is not there); 429 with `Retry-After` in seconds with one decimal ("1.0"), the time
 * until one call fits, rounded up.
 *
 * Capacity: size (the initial burst) + leak rate × duration, floored.
 */
export function createShopifyProfile(overrides?: SimulatorLimits): SimulatedProfile {
  const limits = checkLimitFields('shopify', overrides, ['limit', 'window']);
  const size = wholeCount(limits.limit, 40, 'limit');
  const drainMs = windowMs(limits.window, 2000, 'window');
  const leakPerMs = size / drainMs;
  const callsPerSecond = Number((leakPerMs * 1000).toFixed(2));
  const rejectionBody = JSON.stringify({
    errors: `Exceeded ${callsPerSecond} calls per second for api client. Reduce request rates to resume uninterrupted service.`,
  });
  let state: LeakyBucketState | null = null;

  return {
    name: 'shopify',
    handle(_request: SimulatedRequest, nowEpochMs: number): SimulatedReply {
      const decision = pourLeakyBucket(state, nowEpochMs, size, leakPerMs);
      state = decision.state;
      const used = Math.min(size, Math.ceil(decision.state.level - 1e-9));
      const headers: Record<string, string> = {
        'Content-Type': 'application/json; charset=utf-8',
        'X-Shopify-Shop-Api-Call-Limit': `${used}/${size}`,
      };
      if (decision.allowed) return { status: 200, headers, body: '{"ok":true}', accepted: true };
      headers['Retry-After'] = decisecondsText(decision.fitsAfterMs);
      return { status: 429, headers, body: rejectionBody, accepted: false };
    },
    capacity(startedAtEpochMs, endedAtEpochMs) {
      const durationMs = Math.max(0, endedAtEpochMs - startedAtEpochMs);
      return { total: Math.floor(size + leakPerMs * durationMs + 1e-9) };
    },
    reset() {
      state = null;
    },
  };
}
