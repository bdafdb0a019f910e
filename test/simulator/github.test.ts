import { describe, expect, it } from 'vitest';
import { dialectHeaders, simulate } from './support.js';

const T0 = 1_700_000_000_250; // deliberately not on a whole second

describe('github profile', () => {
  it('sends exactly GitHub’s headers, with the reset in epoch seconds rounded up', async () => {
    const { call } = await simulate({ profile: 'github' });
    const reply = await call('/repos/nodejs/node');
    expect(reply.status).toBe(200);
    expect(dialectHeaders(reply.headers)).toEqual({
      'x-ratelimit-limit': '100',
      'x-ratelimit-remaining': '99',
      'x-ratelimit-used': '1',
      'x-ratelimit-reset': '1700000002', // the window ends at 1_700_000_001_250
      'x-ratelimit-resource': 'core',
    });
    expect(reply.headers.date).toBe(new Date(T0).toUTCString());
  });

  it('rejects exactly at the limit with a 403, remaining 0 and GitHub’s message, consuming nothing', async () => {
    const { call, clock } = await simulate({ profile: 'github', limits: { limit: 3 } });
    const statuses: number[] = [];
    const remaining: string[] = [];
    for (let index = 0; index < 5; index++) {
      const reply = await call('/user');
      statuses.push(reply.status);
      remaining.push(reply.headers['x-ratelimit-remaining'] as string);
      clock.advance(100);
    }
    expect(statuses).toEqual([200, 200, 200, 403, 403]);
    expect(remaining).toEqual(['2', '1', '0', '0', '0']);
    const rejected = await call('/user');
    expect(rejected.headers['x-ratelimit-used']).toBe('3');
    expect(rejected.headers['x-ratelimit-reset']).toBe('1700000002');
    expect(rejected.headers['retry-after']).toBeUndefined();
    expect(rejected.json()).toMatchObject({
      message: expect.stringMatching(/^API rate limit exceeded/),
      documentation_url: expect.stringContaining('docs.github.com'),
    });
  });

  it('starts the next window at the first request after the last one ended', async () => {
    const { call, clock } = await simulate({ profile: 'github', limits: { limit: 2 } });
    await call('/a');
    await call('/a');
    clock.advance(999);
    expect((await call('/a')).status).toBe(403);
    clock.advance(1); // the window [T0, T0 + 1000) is over
    const first = await call('/a');
    expect(first.status).toBe(200);
    expect(first.headers['x-ratelimit-remaining']).toBe('1');
    expect(first.headers['x-ratelimit-reset']).toBe('1700000003'); // ends at T0 + 2000
    clock.advance(5_300); // idle: no window runs until traffic comes back
    const later = await call('/a');
    expect(later.headers['x-ratelimit-remaining']).toBe('1');
    expect(later.headers['x-ratelimit-reset']).toBe(String(Math.ceil((T0 + 6_300 + 1000) / 1000)));
  });

  it('keeps a separate, smaller limit for /search/* under the search resource', async () => {
    const { call } = await simulate({ profile: 'github', limits: { limit: 5, searchLimit: 2 } });
    expect((await call('/search/code?q=x')).headers).toMatchObject({
      'x-ratelimit-limit': '2',
      'x-ratelimit-remaining': '1',
      'x-ratelimit-resource': 'search',
    });
    await call('/search/issues');
    expect((await call('/search/repositories')).status).toBe(403);
    const core = await call('/repos/a/b');
    expect(core.status).toBe(200);
    expect(core.headers).toMatchObject({ 'x-ratelimit-remaining': '4', 'x-ratelimit-resource': 'core' });
  });

  it('can reject with 429 instead of 403', async () => {
    const { call } = await simulate({ profile: 'github', limits: { limit: 1, rejectStatus: 429 } });
    await call('/a');
    const rejected = await call('/a');
    expect(rejected.status).toBe(429);
    expect(rejected.headers['x-ratelimit-remaining']).toBe('0');
  });

  it('reports limit × windows started as capacity, per resource', async () => {
    const { call, clock, simulator } = await simulate({
      profile: 'github',
      limits: { limit: 3, window: '1s', searchLimit: 1, searchWindow: '2s' },
    });
    // window 1 of core: 4 requests (3 accepted); one search
    for (let index = 0; index < 4; index++) await call('/a');
    await call('/search/x');
    clock.advance(1000); // core window 2 starts; search window still running
    await call('/a');
    await call('/search/x');
    clock.advance(4000); // idle windows do not count
    await call('/a'); // core window 3
    await call('/search/x'); // search window 2
    const report = simulator.report();
    expect(report).toMatchObject({
      profile: 'github',
      accepted: 3 + 1 + 1 + 1 + 1,
      rejected: 1 + 1,
      total: 9,
      capacity: 3 * 3 + 1 * 2,
      startedAtEpochMs: T0,
      durationMs: 5000,
    });
    expect(report.utilization).toBeCloseTo(7 / 11, 10);
    expect(report.waste).toBeCloseTo(2 / 9, 10);
    expect(report.byRoute).toEqual({
      core: { accepted: 5, rejected: 1, capacity: 9 },
      search: { accepted: 2, rejected: 1, capacity: 2 },
    });
  });
});
