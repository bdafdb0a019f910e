import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { detectDialect, parseRateLimit, SIGNAL_DIALECTS } from '../../src/index.js';

const now = 1_700_000_000_000;

describe('options', () => {
  it('rejects an unknown dialect, naming the field and the choices', () => {
    expect(() => parseRateLimit({ status: 200 }, { dialect: 'githb' as never })).toThrow(InvalidOptionError);
    expect(() => parseRateLimit({ status: 200 }, { dialect: 'githb' as never })).toThrow(
      /dialect: expected one of auto, ietf, github/,
    );
  });

  it.each([Number.NaN, -1, Number.POSITIVE_INFINITY, '1700000000000'])('rejects now = %j', (value) => {
    expect(() => parseRateLimit({ status: 200 }, { now: value as never })).toThrow(/^now: expected epoch milliseconds/);
  });

  it('defaults to auto and the system clock', () => {
    const before = Date.now();
    const signal = parseRateLimit({ status: 200, headers: { 'ratelimit-reset': '10', 'ratelimit-remaining': '1' } });
    expect(signal.dialect).toBe('ietf');
    expect(signal.resetAtEpochMs).toBeGreaterThanOrEqual(before + 10_000);
    expect(signal.resetAtEpochMs).toBeLessThanOrEqual(Date.now() + 10_000);
  });

  it('lists every dialect for configuration schemas', () => {
    expect(SIGNAL_DIALECTS).toContain('auto');
    expect(SIGNAL_DIALECTS).toContain('azure-openai');
    expect(SIGNAL_DIALECTS).toHaveLength(21);
  });
});

describe('retryable', () => {
  const read = (status: number, headers: Record<string, string> = {}, body?: unknown) =>
    parseRateLimit({ status, headers, body }, { now }).retryable;

  it('is null for a success that says nothing', () => {
    expect(read(200)).toBeNull();
    expect(read(301, { location: '/x' })).toBeNull();
  });

  it('is true for any rate limit the response does not call a cap', () => {
    expect(read(429)).toBe(true);
    expect(read(429, { 'retry-after': '5' })).toBe(true);
  });

  it('is false for a client error that is not a rate limit: the same request fails again', () => {
    expect(read(400)).toBe(false);
    expect(read(404)).toBe(false);
  });

  it('is left open for client errors a retry can cure, and for server errors', () => {
    expect(read(408)).toBeNull();
    expect(read(409)).toBeNull();
    expect(read(425)).toBeNull();
    expect(read(500)).toBeNull();
    expect(read(503)).toBeNull();
  });

  it('is true for a server error that states when to come back', () => {
    expect(read(503, { 'retry-after': '30' })).toBe(true);
  });

  it('follows x-should-retry, but a stated cap wins over "true"', () => {
    expect(read(500, { 'x-should-retry': 'true' })).toBe(true);
    expect(read(429, { 'x-should-retry': 'false' })).toBe(false);
    const spendCap = JSON.stringify({
      type: 'error',
      error: { type: 'rate_limit_error', message: 'x', details: { error_code: 'enforced_spend_limit_reached' } },
    });
    expect(read(429, { 'x-should-retry': 'true' }, spendCap)).toBe(false);
  });
});

describe('several limits at once', () => {
  it('waits for the LATEST reset among the spent limits, not the earliest', () => {
    const signal = parseRateLimit(
      {
        status: 429,
        headers: {
          'x-ratelimit-limit-requests': '100',
          'x-ratelimit-remaining-requests': '0',
          'x-ratelimit-reset-requests': '2s',
          'x-ratelimit-limit-tokens': '1000',
          'x-ratelimit-remaining-tokens': '0',
          'x-ratelimit-reset-tokens': '45s',
          'x-ratelimit-limit-images': '5',
          'x-ratelimit-remaining-images': '3',
          'x-ratelimit-reset-images': '10m0s',
        },
      },
      { now },
    );
    expect(signal.retryAfterMs).toBe(45_000);
    expect(signal.limits.map((limit) => limit.name)).toEqual(['requests', 'tokens', 'images']);
    expect(signal.limits.map((limit) => limit.unit)).toEqual(['requests', 'tokens', 'points']);
  });

  it('a spent limit whose reset is unknown cannot shorten the wait, and alone leaves it unknown', () => {
    const signal = parseRateLimit(
      {
        status: 429,
        headers: {
          'x-hubspot-ratelimit-max': '190',
          'x-hubspot-ratelimit-remaining': '0',
          'x-hubspot-ratelimit-interval-milliseconds': '10000',
        },
      },
      { now },
    );
    expect(signal.retryAfterMs).toBeNull();
    expect(signal.retryable).toBe(true);
  });
});

describe('what the pipeline keys budgets on', () => {
  it('GitHub: resource', () => {
    const signal = parseRateLimit(
      { status: 200, headers: { 'x-ratelimit-resource': 'search', 'x-ratelimit-remaining': '5' } },
      { now },
    );
    expect(signal.resource).toBe('search');
    expect(signal.scope).toBeUndefined();
  });

  it('Discord: bucket, and scope "global" from either header or body', () => {
    const byHeader = parseRateLimit(
      { status: 429, headers: { 'x-ratelimit-global': 'true', 'retry-after': '1' } },
      { now },
    );
    expect(byHeader.scope).toBe('global');
    const byBody = parseRateLimit(
      {
        status: 429,
        headers: { 'x-ratelimit-bucket': 'b1', 'x-ratelimit-scope': 'user' },
        body: '{"retry_after":1.25,"global":true}',
      },
      { now },
    );
    expect(byBody).toMatchObject({ scope: 'global', bucket: 'b1', retryAfterMs: 1250 });
  });

  it('no optional key appears when the response does not set it', () => {
    const signal = parseRateLimit({ status: 200, headers: {} }, { now });
    expect(Object.keys(signal).sort()).toEqual(
      [
        'dialect',
        'limited',
        'retryable',
        'retryAfterMs',
        'limit',
        'remaining',
        'resetAtEpochMs',
        'resetAfterMs',
        'limits',
      ].sort(),
    );
  });
});

describe('garbage and hostile input', () => {
  it.each([null, undefined, 42, 'HTTP/1.1 429', [], { status: 'x' }, { status: 429.5 }, { status: -1 }])(
    'reads %j as a response that says nothing',
    (response) => {
      const signal = parseRateLimit(response as never, { now });
      expect(signal).toMatchObject({ limited: false, retryAfterMs: null, limits: [] });
    },
  );

  it('a body whose getters throw falls back to what the status says', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
        getPrototypeOf() {
          return Object.prototype;
        },
      },
    );
    const signal = parseRateLimit({ status: 429, headers: {}, body: hostile }, { now });
    expect(signal).toMatchObject({ limited: true, retryable: true, retryAfterMs: null, limits: [] });
  });

  it('reads a WHATWG Response-like object (status and headers; the stream body is left alone)', () => {
    const response = new Response('{"error":"x"}', { status: 429, headers: { 'retry-after': '4' } });
    expect(parseRateLimit(response as never, { now })).toMatchObject({ limited: true, retryAfterMs: 4000 });
  });
});

describe('bodies are read only when headers do not suffice', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('a healthy GitHub response is read from headers alone', () => {
    let touched = false;
    const body = {
      get data() {
        touched = true;
        return {};
      },
    };
    parseRateLimit(
      { status: 200, headers: { 'x-ratelimit-resource': 'core', 'x-ratelimit-remaining': '10' }, body },
      { now },
    );
    expect(touched).toBe(false);
  });

  it('a success body that mentions no limit is never parsed', () => {
    const parse = vi.spyOn(JSON, 'parse');
    parseRateLimit(
      { status: 200, headers: { 'content-type': 'application/json' }, body: '{"items":[1,2,3]}' },
      { now },
    );
    expect(parse).not.toHaveBeenCalled();
  });
});

describe('detectDialect is exported with the same inputs as parseRateLimit', () => {
  it('accepts raw undici headers', () => {
    expect(detectDialect([Buffer.from('Sforce-Limit-Info'), Buffer.from('api-usage=1/2')])).toBe('salesforce');
  });
});
