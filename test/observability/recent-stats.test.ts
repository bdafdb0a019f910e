import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  binValueMs,
  createRecentTraffic,
  latencyBin,
  recordAttempt,
  recordCall,
  summarizeRecentTraffic,
} from '../../src/observability/recent-stats.js';

const T0 = 1_700_000_000_000;

describe('latency bins', () => {
  it('stand for any duration up to ten minutes within 5%, give or take the rounding to whole milliseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 600_000 }), (durationMs) => {
        const shown = binValueMs(latencyBin(durationMs));
        expect(Math.abs(shown - durationMs)).toBeLessThanOrEqual(durationMs * 0.05 + 0.5);
      }),
    );
  });

  it('put longer or nonsense durations in the end bins instead of failing', () => {
    expect(binValueMs(latencyBin(Number.NaN))).toBe(0);
    expect(binValueMs(latencyBin(-5))).toBe(0);
    expect(latencyBin(10_000_000)).toBe(latencyBin(Number.POSITIVE_INFINITY));
  });
});

describe('recent traffic', () => {
  it('counts the last minute only, slot by slot', () => {
    const traffic = createRecentTraffic(T0);
    for (let second = 0; second < 90; second++) {
      recordCall(traffic, T0 + second * 1000, {
        durationMs: second,
        failed: second % 10 === 0,
        rejectedLocally: false,
      });
    }
    // At T0 + 89.5 s the window holds seconds 30..89.
    const stats = summarizeRecentTraffic(traffic, T0 + 89_500);
    expect(stats).toMatchObject({ windowMs: 60_000, calls: 60, callsPerSecond: 1, failedCalls: 6 });
    expect(stats.callLatency.p50Ms).toBeGreaterThanOrEqual(57);
    expect(stats.callLatency.p50Ms).toBeLessThanOrEqual(62);
    expect(stats.upstreamLatency).toEqual({ p50Ms: null, p99Ms: null });
  });

  it('keeps attempts, rejections by the upstream and retries apart from calls', () => {
    const traffic = createRecentTraffic(T0);
    recordAttempt(traffic, T0, { durationMs: 100, rejected: true, retry: false });
    recordAttempt(traffic, T0 + 10, { durationMs: 200, rejected: false, retry: true });
    recordCall(traffic, T0 + 20, { durationMs: 1300, failed: false, rejectedLocally: false });
    recordCall(traffic, T0 + 30, { durationMs: 0, failed: true, rejectedLocally: true });
    const stats = summarizeRecentTraffic(traffic, T0 + 500);
    expect(stats).toMatchObject({
      windowMs: 1000,
      calls: 2,
      attempts: 2,
      upstreamRejections: 1,
      retries: 1,
      localRejections: 1,
      failedCalls: 1,
    });
    expect(stats.upstreamLatency.p50Ms).toBeCloseTo(100, -1);
    expect(stats.upstreamLatency.p99Ms).toBeCloseTo(200, -1);
  });

  it('forgets a slot’s old second when time comes round to it again', () => {
    const traffic = createRecentTraffic(T0);
    recordCall(traffic, T0, { durationMs: 5, failed: false, rejectedLocally: false });
    recordCall(traffic, T0 + 60_000, { durationMs: 5, failed: false, rejectedLocally: false });
    expect(summarizeRecentTraffic(traffic, T0 + 60_000).calls).toBe(1);
    // Nothing at all after a long silence.
    expect(summarizeRecentTraffic(traffic, T0 + 600_000).calls).toBe(0);
  });
});
