import { describe, expect, it } from 'vitest';
import { parseRateLimit } from '../../src/signals/parse.js';

/** The server's clock when it answered; the `Date` header says so. */
const serverNow = Date.UTC(2023, 10, 14, 22, 13, 20); // 1700000000000
const date = new Date(serverNow).toUTCString();

describe.each([
  ['5 s ahead', 5000],
  ['5 s behind', -5000],
  ['in agreement', 0],
])('with the local clock %s of the server', (_label, skewMs) => {
  const now = serverNow + skewMs;

  it('an epoch-seconds reset (GitHub) waits reset - Date, placed on the local clock', () => {
    const signal = parseRateLimit(
      {
        status: 429,
        headers: {
          date,
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(serverNow / 1000 + 900),
          'x-ratelimit-resource': 'core',
        },
      },
      { now },
    );
    expect(signal.retryAfterMs).toBe(900_000);
    expect(signal.resetAfterMs).toBe(900_000);
    expect(signal.resetAtEpochMs).toBe(now + 900_000);
    expect(signal.resetAtEpochMs! - now).toBe(signal.resetAfterMs);
  });

  it('an RFC 3339 reset (Anthropic) is corrected the same way', () => {
    const signal = parseRateLimit(
      {
        status: 200,
        headers: {
          date,
          'anthropic-ratelimit-requests-limit': '50',
          'anthropic-ratelimit-requests-remaining': '0',
          'anthropic-ratelimit-requests-reset': new Date(serverNow + 12_000).toISOString(),
        },
      },
      { now },
    );
    expect(signal.resetAfterMs).toBe(12_000);
    expect(signal.retryAfterMs).toBe(12_000);
    expect(signal.resetAtEpochMs).toBe(now + 12_000);
  });

  it('a Retry-After HTTP-date is measured against Date', () => {
    const signal = parseRateLimit(
      { status: 429, headers: { date, 'retry-after': new Date(serverNow + 30_000).toUTCString() } },
      { now },
    );
    expect(signal.retryAfterMs).toBe(30_000);
  });

  it('relative resets (IETF, OpenAI) need no correction', () => {
    const ietf = parseRateLimit(
      { status: 200, headers: { date, ratelimit: '"default";r=0;t=20', 'ratelimit-policy': '"default";q=10;w=60' } },
      { now },
    );
    expect(ietf.resetAfterMs).toBe(20_000);
    expect(ietf.resetAtEpochMs).toBe(now + 20_000);
    const openai = parseRateLimit(
      { status: 200, headers: { date, 'x-ratelimit-remaining-requests': '1', 'x-ratelimit-reset-requests': '6m0s' } },
      { now },
    );
    expect(openai.resetAtEpochMs).toBe(now + 360_000);
  });
});

describe('without a Date header', () => {
  it('absolute resets are measured against the local clock', () => {
    const now = serverNow + 5000;
    const signal = parseRateLimit(
      { status: 429, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(serverNow / 1000 + 900) } },
      { now },
    );
    expect(signal.retryAfterMs).toBe(895_000);
    expect(signal.resetAtEpochMs).toBe(serverNow + 900_000);
  });

  it('a garbage Date header is ignored rather than trusted', () => {
    const signal = parseRateLimit(
      { status: 429, headers: { date: 'yesterday', 'retry-after': new Date(serverNow + 10_000).toUTCString() } },
      { now: serverNow },
    );
    expect(signal.retryAfterMs).toBe(10_000);
  });

  it('a reset in the past keeps its time but waits 0', () => {
    const signal = parseRateLimit(
      { status: 200, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(serverNow / 1000 - 10) } },
      { now: serverNow },
    );
    expect(signal.resetAfterMs).toBe(0);
    expect(signal.resetAtEpochMs).toBe(serverNow - 10_000);
    expect(signal.retryAfterMs).toBe(0);
  });
});

describe('a local clock within the Date header’s one-second precision', () => {
  it('is trusted over Date, so a whole-second Date does not lengthen the wait by up to a second', () => {
    // The server answered 700 ms into its second: Date says :20, the true time is :20.700.
    const now = serverNow + 700;
    const signal = parseRateLimit(
      {
        status: 200,
        headers: {
          date,
          'x-ratelimit-limit': '100',
          'x-ratelimit-remaining': '40',
          'x-ratelimit-reset': String(serverNow / 1000 + 1),
          'x-ratelimit-resource': 'core',
        },
      },
      { now },
    );
    expect(signal.resetAtEpochMs).toBe(serverNow + 1000);
    expect(signal.resetAfterMs).toBe(300);
  });

  it('still corrects a clock skewed by more than that precision', () => {
    const now = serverNow + 1500;
    const signal = parseRateLimit(
      {
        status: 200,
        headers: {
          date,
          'x-ratelimit-limit': '100',
          'x-ratelimit-remaining': '40',
          'x-ratelimit-reset': String(serverNow / 1000 + 2),
        },
      },
      { now },
    );
    expect(signal.resetAfterMs).toBe(2000);
    expect(signal.resetAtEpochMs).toBe(now + 2000);
  });
});
