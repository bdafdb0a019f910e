import { describe, expect, it } from 'vitest';
import { InvalidOptionError, SluiceError } from '../../src/errors.js';
import { RetryAfterTooLongError } from '../../src/retry/errors.js';
import {
  type AttemptOutcome,
  createRetryPolicy,
  isIdempotentRequest,
  type RetryInput,
  type RetryPolicyOptions,
} from '../../src/retry/policy.js';
import type { RateLimitSignal } from '../../src/signals/types.js';
import { seededRandom } from './seeded-random.js';

function signal(fields: Partial<RateLimitSignal>): RateLimitSignal {
  return {
    dialect: 'generic',
    limited: false,
    retryable: null,
    retryAfterMs: null,
    limit: null,
    remaining: null,
    resetAtEpochMs: null,
    resetAfterMs: null,
    limits: [],
    ...fields,
  };
}

const response = (status: number, fields?: Partial<RateLimitSignal>): AttemptOutcome => ({
  kind: 'response',
  status,
  signal: fields ? signal(fields) : undefined,
});

function input(overrides: Partial<RetryInput> = {}): RetryInput {
  return {
    attempt: 1,
    elapsedMs: 0,
    method: 'GET',
    headers: {},
    bodyReplayable: true,
    outcome: response(503),
    ...overrides,
  };
}

function policy(options: RetryPolicyOptions = {}) {
  return createRetryPolicy({ jitter: 'none', baseDelay: 100, random: seededRandom(1), ...options });
}

/** who may retry an outcome: anyone (the upstream did not process it), idempotent requests only, or nobody */
type Who = 'any' | 'idempotent' | 'never';

const outcomes: Array<[string, AttemptOutcome, Who, string]> = [
  ['429', response(429), 'any', 'rate-limited'],
  ['429 with a signal', response(429, { limited: true, retryable: true, retryAfterMs: 1000 }), 'any', 'rate-limited'],
  ['GitHub 403 rate limit', response(403, { limited: true, retryable: true, remaining: 0 }), 'any', 'rate-limited'],
  ['Shopify GraphQL throttled 200', response(200, { limited: true, retryable: true }), 'any', 'rate-limited'],
  ['503 with Retry-After', response(503, { retryAfterMs: 2000 }), 'any', 'unavailable'],
  ['408', response(408), 'any', 'request-timeout'],
  ['connection refused', { kind: 'error', error: 'connect-refused' }, 'any', 'connect-refused'],
  ['reset before send', { kind: 'error', error: 'reset-before-send' }, 'any', 'reset-before-send'],
  ['timeout before send', { kind: 'error', error: 'timeout-before-send' }, 'any', 'timeout-before-send'],
  ['500', response(500), 'idempotent', 'server-error'],
  ['502', response(502), 'idempotent', 'server-error'],
  ['503 without Retry-After', response(503), 'idempotent', 'unavailable'],
  ['503 with a signal but no wait', response(503, { remaining: 3 }), 'idempotent', 'unavailable'],
  ['504', response(504), 'idempotent', 'server-error'],
  ['reset after send', { kind: 'error', error: 'reset-after-send' }, 'idempotent', 'reset-after-send'],
  ['timeout after send', { kind: 'error', error: 'timeout-after-send' }, 'idempotent', 'timeout-after-send'],
  ['protocol error', { kind: 'error', error: 'protocol' }, 'idempotent', 'protocol'],
  ['200', response(200), 'never', 'not-a-failure'],
  ['304', response(304), 'never', 'not-a-failure'],
  ['400', response(400), 'never', 'status-not-retryable'],
  ['401', response(401), 'never', 'status-not-retryable'],
  ['403 permission', response(403, { limited: false, remaining: 4500 }), 'never', 'status-not-retryable'],
  ['404', response(404), 'never', 'status-not-retryable'],
  ['501', response(501), 'never', 'status-not-retryable'],
  ['429 spend cap', response(429, { limited: true, retryable: false }), 'never', 'signal-not-retryable'],
  ['503 not retryable', response(503, { retryable: false, retryAfterMs: 10 }), 'never', 'signal-not-retryable'],
];

const requests: Array<[string, string, Record<string, string>, boolean]> = [
  ['GET', 'GET', {}, true],
  ['HEAD', 'HEAD', {}, true],
  ['OPTIONS', 'OPTIONS', {}, true],
  ['PUT', 'PUT', {}, true],
  ['DELETE', 'DELETE', {}, true],
  ['lower-case get', 'get', {}, true],
  ['POST', 'POST', {}, false],
  ['PATCH', 'PATCH', {}, false],
  ['POST with Idempotency-Key', 'POST', { 'Idempotency-Key': 'a1b2' }, true],
  ['PATCH with idempotency-key', 'PATCH', { 'idempotency-key': 'x' }, true],
  ['POST with an empty Idempotency-Key', 'POST', { 'Idempotency-Key': ' ' }, false],
];

const cases = outcomes.flatMap(([outcomeName, outcome, who, reason]) =>
  requests.map(([requestName, method, headers, idempotent]) => {
    const retries = who === 'any' || (who === 'idempotent' && idempotent);
    const expectedReason = retries ? reason : who === 'never' ? reason : 'unsafe-method';
    return { name: `${requestName} × ${outcomeName}`, method, headers, outcome, retries, expectedReason };
  }),
);

describe('what may be retried (methods × outcomes)', () => {
  it.each(cases)(
    '$name → retry $retries ($expectedReason)',
    ({ method, headers, outcome, retries, expectedReason }) => {
      const decision = policy().decide(input({ method, headers, outcome }));
      expect(decision.retry).toBe(retries);
      expect(decision.reason).toBe(expectedReason);
    },
  );

  it('reads Idempotency-Key from a Headers object too', () => {
    const headers = new Headers({ 'Idempotency-Key': 'k-1' });
    expect(isIdempotentRequest('POST', headers)).toBe(true);
    expect(policy().decide(input({ method: 'POST', headers, outcome: response(500) })).retry).toBe(true);
    expect(isIdempotentRequest('POST', new Headers())).toBe(false);
    expect(isIdempotentRequest('POST', { 'idempotency-key': ['k-1'] })).toBe(true);
  });
});

describe('request bodies', () => {
  it('does not retry a streamed body once it was sent', () => {
    for (const outcome of [response(429), response(500), { kind: 'error', error: 'timeout-after-send' } as const]) {
      expect(policy().decide(input({ bodyReplayable: false, outcome }))).toEqual({
        retry: false,
        reason: 'body-not-replayable',
      });
    }
  });

  it('retries a streamed body that never left (the stream is still whole)', () => {
    for (const error of ['connect-refused', 'reset-before-send', 'timeout-before-send'] as const) {
      const decision = policy().decide(
        input({ method: 'POST', bodyReplayable: false, outcome: { kind: 'error', error } }),
      );
      expect(decision.retry).toBe(true);
    }
  });

  it('keeps bodies up to maxReplayBytes (default 1 MiB) for replay', () => {
    expect(policy().keepsForReplay(1024 * 1024)).toBe(true);
    expect(policy().keepsForReplay(1024 * 1024 + 1)).toBe(false);
    expect(policy({ maxReplayBytes: 0 }).keepsForReplay(0)).toBe(true);
    expect(policy({ maxReplayBytes: 0 }).keepsForReplay(1)).toBe(false);
    expect(policy().keepsForReplay(Number.NaN)).toBe(false);
  });
});

describe('attempts', () => {
  it('counts the first attempt (default 3: two retries)', () => {
    expect(policy().decide(input({ attempt: 1 })).retry).toBe(true);
    expect(policy().decide(input({ attempt: 2 })).retry).toBe(true);
    expect(policy().decide(input({ attempt: 3 }))).toEqual({ retry: false, reason: 'attempts-exhausted' });
    expect(policy({ attempts: 1 }).decide(input({ attempt: 1 }))).toEqual({
      retry: false,
      reason: 'attempts-exhausted',
    });
  });

  it('backs off by attempt, from the previous delay for decorrelated jitter', () => {
    const backoff = policy({ baseDelay: 100, maxDelay: 1000 });
    expect([1, 2, 3].map((attempt) => backoff.decide(input({ attempt })))).toMatchObject([
      { delayMs: 100, delaySource: 'backoff' },
      { delayMs: 200 },
      { retry: false, reason: 'attempts-exhausted' },
    ]);
    const many = policy({ attempts: 10, baseDelay: 100, maxDelay: 1000 });
    expect([1, 2, 3, 4, 5].map((attempt) => many.decide(input({ attempt })))).toMatchObject([
      { delayMs: 100 },
      { delayMs: 200 },
      { delayMs: 400 },
      { delayMs: 800 },
      { delayMs: 1000 },
    ]);
    const decorrelated = policy({ attempts: 10, jitter: 'decorrelated', random: () => 0.9999999 });
    expect(decorrelated.decide(input({ attempt: 4, previousDelayMs: 1000 }))).toMatchObject({ delayMs: 2999 });
  });
});

describe('the server wait', () => {
  it('wins over the computed delay, longer or shorter', () => {
    const longer = policy({ baseDelay: 100 }).decide(
      input({ outcome: response(429, { limited: true, retryAfterMs: 1500 }) }),
    );
    expect(longer).toEqual({ retry: true, delayMs: 1500, reason: 'rate-limited', delaySource: 'server' });
    const shorter = policy({ baseDelay: 5000 }).decide(
      input({ attempt: 2, outcome: response(503, { retryAfterMs: 0 }) }),
    );
    expect(shorter).toEqual({ retry: true, delayMs: 0, reason: 'unavailable', delaySource: 'server' });
    // not capped by maxDelay: only maxServerWait caps what the server asks for
    const beyondMaxDelay = policy({ maxDelay: 1000 }).decide(
      input({ outcome: response(429, { retryAfterMs: 30_000 }) }),
    );
    expect(beyondMaxDelay).toMatchObject({ retry: true, delayMs: 30_000 });
  });

  it('rounds a fractional server wait up to whole milliseconds', () => {
    const decision = policy().decide(input({ outcome: response(429, { retryAfterMs: 1500.2 }) }));
    expect(decision).toMatchObject({ delayMs: 1501 });
  });

  it('fails fast with RetryAfterTooLongError above maxServerWait (default 60 s)', () => {
    const decision = policy().decide(input({ outcome: response(429, { limited: true, retryAfterMs: 86_400_000 }) }));
    expect(decision.retry).toBe(false);
    if (decision.retry) return;
    expect(decision.reason).toBe('server-wait-too-long');
    expect(decision.error).toBeInstanceOf(RetryAfterTooLongError);
    expect(decision.error).toBeInstanceOf(SluiceError);
    expect(decision.error).toMatchObject({
      code: 'ERR_SLUICE_RETRY_AFTER_TOO_LONG',
      waitMs: 86_400_000,
      maxServerWaitMs: 60_000,
    });
    expect(decision.error?.message).toMatch(/86400000 ms.*retry\.maxServerWait \(60000 ms\)/);
    expect(policy().decide(input({ outcome: response(429, { retryAfterMs: 60_000 }) })).retry).toBe(true);
    expect(policy().decide(input({ outcome: response(429, { retryAfterMs: 60_001 }) })).retry).toBe(false);
  });

  it('has a configurable cap', () => {
    const patient = policy({ maxServerWait: '1d' });
    expect(patient.decide(input({ outcome: response(429, { retryAfterMs: 86_400_000 }) }))).toMatchObject({
      retry: true,
      delayMs: 86_400_000,
    });
    const impatient = policy({ maxServerWait: 0 });
    expect(impatient.decide(input({ outcome: response(429, { retryAfterMs: 1 }) }))).toMatchObject({
      reason: 'server-wait-too-long',
    });
  });
});

describe('time limits', () => {
  it('does not start a retry after maxElapsed', () => {
    const bounded = policy({ maxElapsed: '10s', attempts: 10 });
    expect(bounded.decide(input({ elapsedMs: 9900 }))).toMatchObject({ retry: true, delayMs: 100 });
    expect(bounded.decide(input({ elapsedMs: 9901 }))).toEqual({ retry: false, reason: 'max-elapsed' });
    expect(bounded.decide(input({ elapsedMs: 1000, outcome: response(429, { retryAfterMs: 9500 }) }))).toEqual({
      retry: false,
      reason: 'max-elapsed',
    });
  });

  it('does not retry when the delay reaches the caller’s deadline', () => {
    expect(policy().decide(input({ remainingMs: 101 }))).toMatchObject({ retry: true });
    expect(policy().decide(input({ remainingMs: 100 }))).toEqual({ retry: false, reason: 'deadline' });
  });
});

describe('retryOn', () => {
  it('limits the statuses retried, a throttle signal counting as 429', () => {
    const only503 = policy({ retryOn: [503] });
    expect(only503.decide(input({ outcome: response(500) }))).toMatchObject({ reason: 'status-not-retryable' });
    expect(only503.decide(input({ outcome: response(429) }))).toMatchObject({ reason: 'status-not-retryable' });
    expect(only503.decide(input({ outcome: response(503) })).retry).toBe(true);
    const github = policy({ retryOn: [403] });
    expect(github.decide(input({ outcome: response(403, { limited: true }) })).retry).toBe(true);
    const with409 = policy({ retryOn: [409] });
    expect(with409.decide(input({ method: 'PUT', outcome: response(409) }))).toMatchObject({ reason: 'server-error' });
    expect(with409.decide(input({ method: 'POST', outcome: response(409) }))).toMatchObject({
      reason: 'unsafe-method',
    });
  });
});

describe('bad input', () => {
  it('never crashes on garbage outcomes', () => {
    for (const outcome of [null, {}, { kind: 'error', error: 'meteor' }, { kind: 'response', status: Number.NaN }]) {
      const decision = policy().decide(input({ outcome: outcome as unknown as AttemptOutcome }));
      expect(decision.retry).toBe(false);
    }
    expect(policy().decide(input({ method: undefined as unknown as string, outcome: response(500) }))).toMatchObject({
      reason: 'unsafe-method',
    });
    expect(policy().decide(input({ elapsedMs: Number.NaN, headers: null }))).toMatchObject({ retry: true });
  });

  it.each([
    [{ attempts: 0 }, 'retry.attempts'],
    [{ attempts: 2.5 }, 'retry.attempts'],
    [{ baseDelay: 'soon' }, 'retry.baseDelay'],
    [{ baseDelay: -1 }, 'retry.baseDelay'],
    [{ maxDelay: 50, baseDelay: 100 }, 'retry.maxDelay'],
    [{ maxElapsed: 0 }, 'retry.maxElapsed'],
    [{ jitter: 'lots' }, 'retry.jitter'],
    [{ factor: 0 }, 'retry.factor'],
    [{ maxServerWait: 'forever' }, 'retry.maxServerWait'],
    [{ maxReplayBytes: -1 }, 'retry.maxReplayBytes'],
    [{ retryOn: 429 }, 'retry.retryOn'],
    [{ retryOn: [429, 1000] }, 'retry.retryOn[1]'],
    [{ random: 3 }, 'retry.random'],
  ])('rejects %j naming %s', (options, field) => {
    const build = () => createRetryPolicy(options as unknown as RetryPolicyOptions);
    expect(build).toThrow(InvalidOptionError);
    try {
      build();
    } catch (error) {
      expect((error as InvalidOptionError).field).toBe(field);
    }
  });

  it('has sensible defaults', () => {
    expect(createRetryPolicy().settings).toMatchObject({
      attempts: 3,
      backoff: { baseMs: 100, maxMs: 10_000, jitter: 'full', factor: 2 },
      maxElapsedMs: null,
      maxServerWaitMs: 60_000,
      maxReplayBytes: 1_048_576,
    });
    expect([...createRetryPolicy().settings.retryOn]).toEqual([408, 429, 500, 502, 503, 504]);
    expect(createRetryPolicy({ baseDelay: '20s' }).settings.backoff.maxMs).toBe(20_000);
  });
});
