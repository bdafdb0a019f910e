import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { type BackoffOptions, backoffDelays, delayFor, validateBackoff } from '../../src/retry/backoff.js';
import { seededRandom } from './seeded-random.js';

const base: BackoffOptions = { baseMs: 100, maxMs: 5000, jitter: 'none', factor: 2 };

function take(iterator: Iterator<number>, count: number): number[] {
  return Array.from({ length: count }, () => iterator.next().value as number);
}

describe('backoff without jitter', () => {
  it('grows by the factor from the base and stops at the maximum', () => {
    expect(take(backoffDelays(base), 8)).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    expect(take(backoffDelays({ ...base, factor: 3 }), 4)).toEqual([100, 300, 900, 2700]);
    expect(take(backoffDelays({ ...base, factor: 1 }), 3)).toEqual([100, 100, 100]);
  });

  it('stays finite and capped for absurd attempts, and is 0 with a 0 base', () => {
    expect(delayFor(base, 10_000, 0, Math.random)).toBe(5000);
    expect(delayFor({ ...base, baseMs: 0 }, 10_000, 0, Math.random)).toBe(0);
  });
});

/** The ceiling of attempt n without jitter. */
const ceiling = (attempt: number) => Math.min(base.maxMs, base.baseMs * 2 ** (attempt - 1));

describe('jitter bounds (seeded random, many draws)', () => {
  it('full jitter draws whole milliseconds in [0, ceiling] and spreads over the range', () => {
    const random = seededRandom(42);
    for (let attempt = 1; attempt <= 8; attempt++) {
      const draws = Array.from({ length: 500 }, () => delayFor({ ...base, jitter: 'full' }, attempt, 0, random));
      for (const delay of draws) {
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(ceiling(attempt));
      }
      const mean = draws.reduce((sum, delay) => sum + delay, 0) / draws.length;
      expect(mean).toBeGreaterThan(ceiling(attempt) * 0.4);
      expect(mean).toBeLessThan(ceiling(attempt) * 0.6);
      expect(Math.min(...draws)).toBeLessThan(ceiling(attempt) * 0.1);
    }
  });

  it('equal jitter stays in [ceiling/2, ceiling]', () => {
    const random = seededRandom(7);
    for (let attempt = 1; attempt <= 8; attempt++) {
      const draws = Array.from({ length: 500 }, () => delayFor({ ...base, jitter: 'equal' }, attempt, 0, random));
      for (const delay of draws) {
        expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling(attempt) / 2));
        expect(delay).toBeLessThanOrEqual(ceiling(attempt));
      }
      expect(Math.max(...draws)).toBeGreaterThan(ceiling(attempt) * 0.9);
    }
  });

  it('decorrelated jitter stays in [base, 3 × previous] and under the maximum', () => {
    const random = seededRandom(1234);
    const options: BackoffOptions = { ...base, jitter: 'decorrelated' };
    let previous = 0;
    let sawGrowth = false;
    for (let attempt = 1; attempt <= 2000; attempt++) {
      const delay = delayFor(options, attempt, previous, random);
      expect(delay).toBeGreaterThanOrEqual(base.baseMs);
      expect(delay).toBeLessThanOrEqual(Math.min(base.maxMs, 3 * Math.max(base.baseMs, previous)));
      if (delay > 3 * base.baseMs) sawGrowth = true;
      previous = delay;
    }
    expect(sawGrowth).toBe(true);
  });

  it('uses the extremes of the random source exactly', () => {
    const zero = () => 0;
    const almostOne = () => 0.9999999;
    expect(delayFor({ ...base, jitter: 'full' }, 3, 0, zero)).toBe(0);
    expect(delayFor({ ...base, jitter: 'full' }, 3, 0, almostOne)).toBe(399);
    expect(delayFor({ ...base, jitter: 'equal' }, 3, 0, zero)).toBe(200);
    expect(delayFor({ ...base, jitter: 'decorrelated' }, 2, 0, zero)).toBe(100);
    expect(delayFor({ ...base, jitter: 'decorrelated' }, 2, 1000, almostOne)).toBe(2999);
    expect(delayFor({ ...base, jitter: 'decorrelated' }, 2, 4000, almostOne)).toBe(5000);
  });

  it('never yields NaN or a negative delay from a broken random source', () => {
    for (const jitter of ['full', 'equal', 'decorrelated'] as const) {
      for (const value of [Number.NaN, -1, 7, Number.POSITIVE_INFINITY]) {
        const delay = delayFor({ ...base, jitter }, 3, Number.NaN, () => value);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(base.maxMs);
      }
    }
  });

  it('is a pure sequence: the same seed gives the same delays', () => {
    const options: BackoffOptions = { ...base, jitter: 'decorrelated' };
    expect(take(backoffDelays(options, seededRandom(9)), 10)).toEqual(
      take(backoffDelays(options, seededRandom(9)), 10),
    );
    expect(take(backoffDelays(options, seededRandom(9)), 10)).not.toEqual(
      take(backoffDelays(options, seededRandom(10)), 10),
    );
  });
});

describe('backoff options', () => {
  it.each([
    [{ baseMs: -1 }, 'backoff.baseMs'],
    [{ baseMs: 1.5 }, 'backoff.baseMs'],
    [{ maxMs: 50 }, 'backoff.maxMs'],
    [{ jitter: 'random' }, 'backoff.jitter'],
    [{ factor: 0.5 }, 'backoff.factor'],
    [{ factor: Number.NaN }, 'backoff.factor'],
  ])('rejects %j naming %s', (override, field) => {
    const options = { ...base, ...override } as BackoffOptions;
    expect(() => validateBackoff(options)).toThrow(InvalidOptionError);
    expect(() => validateBackoff(options)).toThrow(new RegExp(`^${field.replace('.', '\\.')}: expected`));
    expect(() => backoffDelays(options)).toThrow(InvalidOptionError);
  });
});
