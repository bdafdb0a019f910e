import { describe, expect, it } from 'vitest';
import { dialectHeaders, simulate } from './support.js';

const T0 = 1_700_000_000_250;

describe('discord profile', () => {
  it('sends Discord’s headers: limit, remaining, reset (epoch seconds with ms), reset-after, bucket', async () => {
    const { call } = await simulate({ profile: 'discord', limits: { limit: 5, window: '2s' } });
    const reply = await call('/api/v10/channels/111/messages', { method: 'POST', body: '{}' });
    expect(reply.status).toBe(200);
    const headers = dialectHeaders(reply.headers);
    expect(headers).toEqual({
      'x-ratelimit-limit': '5',
      'x-ratelimit-remaining': '4',
      'x-ratelimit-reset': '1700000002.25',
      'x-ratelimit-reset-after': '2',
      'x-ratelimit-bucket': expect.stringMatching(/^[0-9a-f]{32}$/),
    });
  });

  it('keys limits by route and major parameter, with one bucket hash per route shape', async () => {
    const { call, simulator } = await simulate({ profile: 'discord', limits: { limit: 2 } });
    const first = await call('/api/v10/channels/111/messages', { method: 'POST' });
    const other = await call('/api/v10/channels/222/messages', { method: 'POST' });
    expect(other.headers['x-ratelimit-remaining']).toBe('1'); // another channel: its own limit
    expect(other.headers['x-ratelimit-bucket']).toBe(first.headers['x-ratelimit-bucket']);
    const get = await call('/api/v10/channels/111/messages');
    expect(get.headers['x-ratelimit-remaining']).toBe('1'); // another method: another route
    expect(get.headers['x-ratelimit-bucket']).not.toBe(first.headers['x-ratelimit-bucket']);
    // ids that are not the major parameter share the limit
    await call('/api/v10/channels/333/messages/1', { method: 'DELETE' });
    const sameKey = await call('/api/v10/channels/333/messages/2', { method: 'DELETE' });
    expect(sameKey.headers['x-ratelimit-remaining']).toBe('0');
    expect(Object.keys(simulator.report().byRoute ?? {}).sort()).toEqual([
      'DELETE /channels/333/messages/{id}',
      'GET /channels/111/messages',
      'POST /channels/111/messages',
      'POST /channels/222/messages',
    ]);
  });

  it('rejects a route exactly at its limit with scope user, Retry-After and a JSON body', async () => {
    const { call, clock } = await simulate({ profile: 'discord', limits: { limit: 2, window: '1s' } });
    await call('/channels/1/messages');
    await call('/channels/1/messages');
    clock.advance(250);
    const rejected = await call('/channels/1/messages');
    expect(rejected.status).toBe(429);
    expect(dialectHeaders(rejected.headers)).toMatchObject({
      'x-ratelimit-limit': '2',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': '1700000001.25',
      'x-ratelimit-reset-after': '0.75',
      'x-ratelimit-scope': 'user',
      'retry-after': '1',
    });
    expect(rejected.headers['x-ratelimit-global']).toBeUndefined();
    expect(rejected.json()).toEqual({ message: 'You are being rate limited.', retry_after: 0.75, global: false });
    clock.advance(750);
    expect((await call('/channels/1/messages')).status).toBe(200);
  });

  it('enforces a global limit across routes, with X-RateLimit-Global and scope global', async () => {
    const { call, clock } = await simulate({ profile: 'discord', limits: { limit: 10, globalLimit: 3 } });
    for (const channel of [1, 2, 3]) expect((await call(`/channels/${channel}/messages`)).status).toBe(200);
    clock.advance(400);
    const rejected = await call('/channels/4/messages');
    expect(rejected.status).toBe(429);
    expect(dialectHeaders(rejected.headers)).toEqual({
      'retry-after': '1',
      'x-ratelimit-global': 'true',
      'x-ratelimit-scope': 'global',
    });
    expect(rejected.json()).toEqual({ message: 'You are being rate limited.', retry_after: 0.6, global: true });
    clock.advance(600);
    const next = await call('/channels/4/messages');
    expect(next.status).toBe(200);
    expect(next.headers['x-ratelimit-remaining']).toBe('9'); // the global rejection consumed nothing from the route
  });

  it('reports Σ limit × windows started over route keys, capped by the global limit', async () => {
    const { call, clock, simulator } = await simulate({
      profile: 'discord',
      limits: { limit: 2, window: '1s', globalLimit: 5, globalWindow: '1s' },
    });
    // second 1: three channels × 3 requests; route capacity 6 (2 × 3), global 5
    for (const channel of [1, 2, 3])
      for (let index = 0; index < 3; index++) await call(`/channels/${channel}/messages`);
    clock.advance(1000);
    // second 2: one channel, 3 requests; route capacity 2, global 5
    for (let index = 0; index < 3; index++) await call('/channels/1/messages');
    const report = simulator.report();
    expect(report.details).toEqual({ routesCapacity: 6 + 2, globalCapacity: 10 });
    expect(report).toMatchObject({ accepted: 5 + 2, rejected: 4 + 1, capacity: 8, startedAtEpochMs: T0 });
    expect(report.byRoute?.['GET /channels/1/messages']).toEqual({ accepted: 4, rejected: 2, capacity: 4 });
    expect(report.byRoute?.['GET /channels/3/messages']).toEqual({ accepted: 1, rejected: 2, capacity: 2 });
  });
});
