import { describe, expect, it } from 'vitest';
import { dialectHeaders, simulate } from './support.js';

describe('none profile', () => {
  it('limits with a fixed window and says nothing: no rate-limit headers, bare 429 without Retry-After', async () => {
    const { call, clock, simulator } = await simulate({ profile: 'none', limits: { limit: 3, window: '1s' } });
    const statuses: number[] = [];
    for (let index = 0; index < 5; index++) {
      const reply = await call('/a');
      statuses.push(reply.status);
      expect(dialectHeaders(reply.headers)).toEqual({});
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    clock.advance(1000);
    expect((await call('/a')).status).toBe(200);
    expect(simulator.report()).toMatchObject({ accepted: 4, rejected: 2, capacity: 6 });
  });
});
