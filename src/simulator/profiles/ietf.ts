import { InvalidOptionError } from '../../errors.js';
import { wholeSecondsText } from '../format.js';
import { takeSlidingLog } from '../models/sliding-log.js';
import { checkLimitFields, wholeCount, windowMs } from '../settings.js';
import type { SimulatedProfile, SimulatedReply, SimulatedRequest, SimulatorLimits } from '../types.js';

const POLICY = 'default';

/**
 * The IETF RateLimit header fields, draft-ietf-httpapi-ratelimit-headers-10: `RateLimit-Policy:
 * "default";q=100;w=1` and `RateLimit: "default";r=<remaining>;t=<seconds>` over an exact sliding window (at
 * most q accepted in any w seconds). `t` is the whole seconds, rounded up, until the oldest accepted request
 * leaves the window, i.e. until quota is restored. A 429 carries `Retry-After` (the same wait) and an
 * RFC 9457 problem body. A rejection consumes nothing.
 *
 * Capacity: q × (floor(duration ÷ w) + 1) — bursts of q at 0, w, 2w... are the most any window allows. This is
 * the brief's limit × ceil(duration ÷ w) except at exact multiples of w (and 0), where ceil undercounts by one
 * window.
 */
export function createIetfProfile(overrides?: SimulatorLimits): SimulatedProfile {
  const limits = checkLimitFields('ietf', overrides, ['limit', 'window']);
  const quota = wholeCount(limits.limit, 100, 'limit');
  const window = windowMs(limits.window, 1000, 'window');
  if (window % 1000 !== 0)
    throw new InvalidOptionError(
      'limits.window',
      `the IETF fields carry whole seconds; expected a multiple of 1s, got ${window} ms`,
    );
  const policyHeader = `"${POLICY}";q=${quota};w=${window / 1000}`;
  let log: readonly number[] = [];

  return {
    name: 'ietf',
    handle(_request: SimulatedRequest, nowEpochMs: number): SimulatedReply {
      const decision = takeSlidingLog(log, nowEpochMs, quota, window);
      log = decision.log;
      const seconds = wholeSecondsText(decision.nextFreeAfterMs);
      const headers: Record<string, string> = {
        'Content-Type': 'application/json',
        'RateLimit-Policy': policyHeader,
        RateLimit: `"${POLICY}";r=${decision.remaining};t=${seconds}`,
      };
      if (decision.allowed) return { status: 200, headers, body: '{"ok":true}', accepted: true };
      headers['Content-Type'] = 'application/problem+json';
      headers['Retry-After'] = seconds;
      const body = JSON.stringify({
        type: 'about:blank',
        title: 'Too Many Requests',
        status: 429,
        detail: `Quota of ${quota} requests per ${window / 1000} s exceeded; retry in ${seconds} s.`,
      });
      return { status: 429, headers, body, accepted: false };
    },
    capacity(startedAtEpochMs, endedAtEpochMs) {
      const durationMs = Math.max(0, endedAtEpochMs - startedAtEpochMs);
      return { total: quota * (Math.floor(durationMs / window) + 1) };
    },
    reset() {
      log = [];
    },
  };
}
