import { describe, expect, it } from 'vitest';
import { parseRateLimit } from '../../src/signals/parse.js';
import { parseRetryAfter, readStatedWait } from '../../src/signals/retry-after.js';
import { createTimeFrame, MAX_WAIT_MS } from '../../src/signals/time-frame.js';

const now = Date.UTC(2023, 10, 14, 22, 13, 20); // 1700000000000
const frame = createTimeFrame(now, undefined);

describe('parseRetryAfter', () => {
  it.each([
    ['120', 120_000],
    ['0', 0],
    ['1.5', 1500],
    ['2.0', 2000],
    ['Tue, 14 Nov 2023 22:14:20 GMT', 60_000],
    ['Tuesday, 14-Nov-23 22:14:20 GMT', 60_000],
    ['Tue Nov 14 22:14:20 2023', 60_000],
    ['Tue, 14 Nov 2023 22:13:10 GMT', 0],
    ['120, 120', 120_000],
  ])('%j waits %d ms', (text, ms) => {
    expect(parseRetryAfter(text, frame)).toBe(ms);
  });

  it.each(['', 'soon', '-5', '1e3', 'NaN', 'Tue, 31 Feb 2023 00:00:00 GMT', '12s'])('%j is no wait', (text) => {
    expect(parseRetryAfter(text, frame)).toBeNull();
  });

  it('clamps absurd waits to a year instead of overflowing', () => {
    expect(parseRetryAfter('99999999999999999999', frame)).toBe(MAX_WAIT_MS);
    expect(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', frame)).toBe(MAX_WAIT_MS);
  });
});

describe('retry-after-ms precedence', () => {
  const wait = (headers: Record<string, string>) => readStatedWait(new Map(Object.entries(headers)), frame);

  it('prefers retry-after-ms, which is more precise', () => {
    expect(wait({ 'retry-after-ms': '1500', 'retry-after': '2' })).toBe(1500);
    expect(wait({ 'retry-after-ms': '1500.2' })).toBe(1501);
  });

  it('a zero retry-after-ms is a wait of zero, not a missing value', () => {
    expect(wait({ 'retry-after-ms': '0', 'retry-after': '2' })).toBe(0);
  });

  it('falls back to retry-after when retry-after-ms is garbage', () => {
    expect(wait({ 'retry-after-ms': '-3', 'retry-after': '2' })).toBe(2000);
    expect(wait({ 'retry-after-ms': 'later', 'retry-after': '2' })).toBe(2000);
  });

  it('a stated wait beats both a body wait and the resets of spent limits', () => {
    const signal = parseRateLimit(
      {
        status: 429,
        headers: {
          'retry-after': '3',
          'x-ratelimit-limit': '10',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': '60',
        },
      },
      { now },
    );
    expect(signal.retryAfterMs).toBe(3000);
    expect(signal.resetAfterMs).toBe(60_000);
  });
});
