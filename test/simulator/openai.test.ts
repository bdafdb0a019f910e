import { describe, expect, it } from 'vitest';
import { dialectHeaders, simulate } from './support.js';

const completion = (maxTokens?: number) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'sim', messages: [], ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }) }),
});

describe('openai profile', () => {
  it('sends request and token headers with Go-duration resets until full replenishment', async () => {
    const { call } = await simulate({ profile: 'openai', limits: { limit: 10, tokenLimit: 1000, window: '1s' } });
    const reply = await call('/v1/chat/completions', completion(250));
    expect(reply.status).toBe(200);
    expect(dialectHeaders(reply.headers)).toEqual({
      'x-ratelimit-limit-requests': '10',
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-requests': '9',
      'x-ratelimit-remaining-tokens': '750',
      'x-ratelimit-reset-requests': '100ms',
      'x-ratelimit-reset-tokens': '250ms',
    });
  });

  it('prints long resets the way Go does', async () => {
    const { call } = await simulate({ profile: 'openai', limits: { limit: 60, tokenLimit: 150_000, window: '6m' } });
    const reply = await call('/v1/chat/completions', completion(2_000));
    expect(reply.headers['x-ratelimit-reset-requests']).toBe('6s');
    expect(reply.headers['x-ratelimit-reset-tokens']).toBe('4.8s');
    for (let index = 0; index < 40; index++) await call('/v1/chat/completions', completion(1));
    expect((await call('/v1/chat/completions', completion(1))).headers['x-ratelimit-reset-requests']).toBe('4m12s');
  });

  it('prices a call by max_tokens, the x-sim-token-cost header, or the default', async () => {
    const { call } = await simulate({
      profile: 'openai',
      limits: { limit: 100, tokenLimit: 10_000, defaultTokenCost: 70 },
    });
    expect((await call('/v1/x', completion(300))).headers['x-ratelimit-remaining-tokens']).toBe('9700');
    expect((await call('/v1/x', { method: 'POST', body: '{"max_completion_tokens":30}' })).headers).toMatchObject({
      'x-ratelimit-remaining-tokens': '9670',
    });
    const headerPriced = await call('/v1/x', { ...completion(300), headers: { 'x-sim-token-cost': '1000' } });
    expect(headerPriced.headers['x-ratelimit-remaining-tokens']).toBe('8670');
    expect((await call('/v1/x', completion())).headers['x-ratelimit-remaining-tokens']).toBe('8600');
    expect((await call('/v1/x', { method: 'POST', body: 'not json' })).headers['x-ratelimit-remaining-tokens']).toBe(
      '8530',
    );
    expect((await call('/v1/x', completion(-5))).headers['x-ratelimit-remaining-tokens']).toBe('8460');
  });

  it('rejects on tokens when tokens bind, with OpenAI’s rate_limit_exceeded body, consuming nothing', async () => {
    const { call } = await simulate({ profile: 'openai', limits: { limit: 100, tokenLimit: 1000, window: '1s' } });
    for (let index = 0; index < 10; index++) expect((await call('/v1/x', completion(100))).status).toBe(200);
    const rejected = await call('/v1/x', completion(100));
    expect(rejected.status).toBe(429);
    expect(rejected.headers['x-ratelimit-remaining-tokens']).toBe('0');
    expect(rejected.headers['x-ratelimit-remaining-requests']).toBe('90');
    expect(rejected.headers['x-ratelimit-reset-tokens']).toBe('1s');
    expect(rejected.json()).toEqual({
      error: {
        message: expect.stringMatching(
          /tokens per min \(TPM\): Limit 1000, Used 1000, Requested 100\. Please try again in 100ms\./,
        ),
        type: 'tokens',
        param: null,
        code: 'rate_limit_exceeded',
      },
    });
  });

  it('rejects on requests when requests bind', async () => {
    const { call } = await simulate({ profile: 'openai', limits: { limit: 3, tokenLimit: 1000 } });
    for (let index = 0; index < 3; index++) await call('/v1/x', completion(1));
    const rejected = await call('/v1/x', completion(1));
    expect(rejected.status).toBe(429);
    expect(rejected.headers['x-ratelimit-remaining-requests']).toBe('0');
    expect(rejected.json()).toMatchObject({ error: { type: 'requests', code: 'rate_limit_exceeded' } });
  });

  it('replenishes both buckets continuously', async () => {
    const { call, clock } = await simulate({
      profile: 'openai',
      limits: { limit: 10, tokenLimit: 1000, window: '1s' },
    });
    for (let index = 0; index < 10; index++) await call('/v1/x', completion(100));
    clock.advance(99);
    expect((await call('/v1/x', completion(100))).status).toBe(429);
    clock.advance(1);
    const refilled = await call('/v1/x', completion(100));
    expect(refilled.status).toBe(200);
    expect(refilled.headers['x-ratelimit-remaining-tokens']).toBe('0');
    clock.advance(500);
    const half = await call('/v1/x', completion(100));
    expect(half.headers).toMatchObject({
      'x-ratelimit-remaining-requests': '4',
      'x-ratelimit-remaining-tokens': '400',
      'x-ratelimit-reset-tokens': '600ms',
    });
    clock.advance(10_000); // never above the limit
    expect((await call('/v1/x', completion(100))).headers['x-ratelimit-remaining-tokens']).toBe('900');
  });

  it('reports the binding limit’s capacity given the costs seen', async () => {
    const { call, clock, simulator } = await simulate({
      profile: 'openai',
      limits: { limit: 100, tokenLimit: 1000, window: '1s' },
    });
    // 41 calls of 100 tokens over 2 s: tokens bind at 1000 + 1000 × 2 = 3000 tokens = 30 calls
    for (let index = 0; index < 41; index++) {
      if (index > 0) clock.advance(50);
      await call('/v1/x', completion(100));
    }
    const report = simulator.report();
    expect(report.durationMs).toBe(2000);
    expect(report.details).toMatchObject({ requestCapacity: 300, tokenCapacity: 3000, meanTokenCost: 100 });
    expect(report.capacity).toBe(30);
    // arriving every 50 ms, calls use every token that refills: the model reaches its own capacity
    expect(report).toMatchObject({ accepted: 30, rejected: 11, utilization: 1 });
  });

  it('counts requests as the binding limit when calls are cheap', async () => {
    const { call, clock, simulator } = await simulate({ profile: 'openai', limits: { limit: 5, tokenLimit: 1000 } });
    for (let index = 0; index < 8; index++) await call('/v1/x', completion(1));
    clock.advance(1000);
    await call('/v1/x', completion(1));
    const report = simulator.report();
    expect(report).toMatchObject({ accepted: 6, rejected: 3, capacity: 10 });
    expect(report.details?.tokensAccepted).toBe(6);
  });
});
