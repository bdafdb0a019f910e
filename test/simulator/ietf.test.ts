import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { startSimulator } from '../../src/simulator/server.js';
import { dialectHeaders, simulate } from './support.js';

describe('ietf profile (draft-10)', () => {
  it('sends RateLimit-Policy and RateLimit structured fields', async () => {
    const { call } = await simulate({ profile: 'ietf' });
    const reply = await call('/anything');
    expect(dialectHeaders(reply.headers)).toEqual({
      'ratelimit-policy': '"default";q=100;w=1',
      ratelimit: '"default";r=99;t=1',
    });
  });

  it('slides: at most q in any w seconds, a slot freeing when its request leaves the window', async () => {
    const { call, clock } = await simulate({ profile: 'ietf', limits: { limit: 3, window: '2s' } });
    const at = async (offsetMs: number) => {
      clock.set(1_700_000_000_250 + offsetMs);
      return call('/a');
    };
    expect((await at(0)).headers.ratelimit).toBe('"default";r=2;t=2');
    expect((await at(500)).headers.ratelimit).toBe('"default";r=1;t=2');
    expect((await at(1000)).headers.ratelimit).toBe('"default";r=0;t=1');
    const rejected = await at(1500);
    expect(rejected.status).toBe(429);
    expect(dialectHeaders(rejected.headers)).toEqual({
      'ratelimit-policy': '"default";q=3;w=2',
      ratelimit: '"default";r=0;t=1',
      'retry-after': '1',
    });
    expect(rejected.headers['content-type']).toBe('application/problem+json');
    expect(rejected.json()).toMatchObject({ status: 429, title: 'Too Many Requests' });
    expect((await at(1999)).status).toBe(429);
    expect((await at(2000)).status).toBe(200); // the request at 0 left the window
    expect((await at(2001)).status).toBe(429);
    expect((await at(2500)).headers.ratelimit).toBe('"default";r=0;t=1');
  });

  it('reports q × (floor(duration ÷ w) + 1) as capacity', async () => {
    const { call, clock, simulator } = await simulate({ profile: 'ietf', limits: { limit: 3, window: '1s' } });
    for (let second = 0; second <= 4; second++) {
      for (let index = 0; index < 4; index++) await call('/a');
      if (second < 4) clock.advance(1000);
    }
    expect(simulator.report()).toMatchObject({
      accepted: 15,
      rejected: 5,
      capacity: 15,
      durationMs: 4000,
      utilization: 1,
    });
  });

  it('refuses windows the header cannot carry', async () => {
    await expect(startSimulator({ profile: 'ietf', limits: { window: '1500ms' } })).rejects.toThrow(InvalidOptionError);
    await expect(startSimulator({ profile: 'ietf', limits: { window: '1500ms' } })).rejects.toThrow(/^limits\.window:/);
  });
});
