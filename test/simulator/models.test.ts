import { describe, expect, it } from 'vitest';
import { takeFixedWindow } from '../../src/simulator/models/fixed-window.js';
import { pourLeakyBucket } from '../../src/simulator/models/leaky-bucket.js';
import { takeSlidingLog } from '../../src/simulator/models/sliding-log.js';
import { fullAfterMs, fullBucket, refill, refillAfterMs } from '../../src/simulator/models/token-bucket.js';

describe('limit models (the oracle)', () => {
  it('fixed window: starts at the first request, rejects at the limit without consuming', () => {
    let decision = takeFixedWindow(null, 500, 2, 1000);
    expect(decision).toMatchObject({ allowed: true, started: true, remaining: 1, resetAtEpochMs: 1500 });
    decision = takeFixedWindow(decision.state, 600, 2, 1000);
    decision = takeFixedWindow(decision.state, 700, 2, 1000);
    expect(decision).toMatchObject({ allowed: false, started: false, remaining: 0 });
    expect(decision.state.used).toBe(2);
    expect(takeFixedWindow(decision.state, 1500, 2, 1000)).toMatchObject({
      allowed: true,
      started: true,
      resetAtEpochMs: 2500,
    });
    expect(takeFixedWindow(decision.state, 1000, 2, 1000, 0)).toMatchObject({ allowed: true, started: false });
  });

  it('token bucket: refills continuously up to capacity', () => {
    const bucket = { capacity: 10, windowMs: 1000 };
    const empty = { level: 0, updatedAtEpochMs: 0 };
    expect(refill(empty, bucket, 250).level).toBeCloseTo(2.5, 10);
    expect(refill(empty, bucket, 5000).level).toBe(10);
    expect(refill(empty, bucket, -5).level).toBe(0);
    expect(refillAfterMs(empty, bucket, 3)).toBe(300);
    expect(refillAfterMs(empty, bucket, 30)).toBe(1000);
    expect(fullAfterMs({ level: 9.5, updatedAtEpochMs: 0 }, bucket)).toBe(50);
    expect(fullAfterMs(fullBucket(bucket, 0), bucket)).toBe(0);
  });

  it('leaky bucket: pours, leaks and says when an overflowing request would fit', () => {
    let decision = pourLeakyBucket(null, 0, 2, 0.001);
    decision = pourLeakyBucket(decision.state, 0, 2, 0.001);
    expect(decision.allowed).toBe(true);
    decision = pourLeakyBucket(decision.state, 0, 2, 0.001);
    expect(decision).toMatchObject({ allowed: false, fitsAfterMs: 1000 });
    decision = pourLeakyBucket(decision.state, 400, 2, 0.001);
    expect(decision).toMatchObject({ allowed: false, fitsAfterMs: 600 });
    expect(pourLeakyBucket(decision.state, 1000, 2, 0.001).allowed).toBe(true);
    expect(pourLeakyBucket(decision.state, 99_000, 2, 0.001).state.level).toBe(1);
  });

  it('sliding log: at most the limit in any window, without logging rejections', () => {
    let log: readonly number[] = [];
    const results: boolean[] = [];
    for (const time of [0, 100, 200, 999, 1000, 1050, 1100, 1101]) {
      const decision = takeSlidingLog(log, time, 3, 1000);
      log = decision.log;
      results.push(decision.allowed);
    }
    expect(results).toEqual([true, true, true, false, true, false, true, false]);
    expect(log).toEqual([200, 1000, 1100]);
    expect(takeSlidingLog([], 0, 3, 1000).nextFreeAfterMs).toBe(1000);
  });
});
