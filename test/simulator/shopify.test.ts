import { describe, expect, it } from 'vitest';
import { dialectHeaders, simulate } from './support.js';

describe('shopify profile', () => {
  it('fills a 40-call bucket, shows used/size on every response and rejects the 41st with Retry-After', async () => {
    const { call } = await simulate({ profile: 'shopify' });
    const used: string[] = [];
    for (let index = 0; index < 40; index++) {
      const reply = await call('/admin/api/2024-01/products.json');
      expect(reply.status).toBe(200);
      used.push(reply.headers['x-shopify-shop-api-call-limit'] as string);
    }
    expect(used).toEqual(Array.from({ length: 40 }, (_, index) => `${index + 1}/40`));
    const rejected = await call('/admin/api/2024-01/products.json');
    expect(rejected.status).toBe(429);
    // 40 per 2 s leaks one call in 50 ms: seconds with one decimal, rounded up
    expect(dialectHeaders(rejected.headers)).toEqual({
      'x-shopify-shop-api-call-limit': '40/40',
      'retry-after': '0.1',
    });
    expect(rejected.json()).toEqual({
      errors: 'Exceeded 20 calls per second for api client. Reduce request rates to resume uninterrupted service.',
    });
  });

  it('leaks continuously: one more call fits each 1/rate', async () => {
    const { call, clock } = await simulate({ profile: 'shopify' });
    for (let index = 0; index < 40; index++) await call('/a');
    clock.advance(49);
    expect((await call('/a')).status).toBe(429);
    clock.advance(1);
    const fits = await call('/a');
    expect(fits.status).toBe(200);
    expect(fits.headers['x-shopify-shop-api-call-limit']).toBe('40/40');
    expect((await call('/a')).status).toBe(429);
    clock.advance(1000); // 20 calls leaked out
    expect((await call('/a')).headers['x-shopify-shop-api-call-limit']).toBe('21/40');
    clock.advance(60_000); // never below empty
    expect((await call('/a')).headers['x-shopify-shop-api-call-limit']).toBe('1/40');
  });

  it('states Retry-After as Shopify does ("1.0") at the real rate of 2 calls per second', async () => {
    const { call, clock } = await simulate({ profile: 'shopify', limits: { limit: 40, window: '20s' } });
    for (let index = 0; index < 40; index++) await call('/a');
    expect((await call('/a')).headers['retry-after']).toBe('0.5');
    clock.advance(100);
    expect((await call('/a')).headers['retry-after']).toBe('0.4');
    const small = await simulate({ profile: 'shopify', limits: { limit: 2, window: '2s' } });
    await small.call('/a');
    await small.call('/a');
    expect((await small.call('/a')).headers['retry-after']).toBe('1.0');
  });

  it('reports size + leak rate × duration as capacity', async () => {
    const { call, clock, simulator } = await simulate({ profile: 'shopify' });
    for (let index = 0; index < 45; index++) await call('/a');
    clock.advance(1000);
    for (let index = 0; index < 25; index++) await call('/a');
    expect(simulator.report()).toMatchObject({
      accepted: 60,
      rejected: 10,
      total: 70,
      capacity: 40 + 20,
      utilization: 1,
      durationMs: 1000,
    });
    expect(simulator.report().byRoute).toBeUndefined();
  });
});
