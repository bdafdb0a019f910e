import { describe, expect, it } from 'vitest';
import { createClockOffsetEstimate } from '../../src/pipeline/clock-offset.js';
import { parseRateLimit } from '../../src/signals/parse.js';

const server = Date.UTC(2026, 0, 1, 12, 0, 0);
const date = (epochMs: number) => new Date(epochMs).toUTCString();

describe('the clock offset estimate', () => {
  it('knows nothing before a reply with a Date', () => {
    const estimate = createClockOffsetEstimate();
    estimate.observe(undefined, server);
    expect(estimate.offsetMs()).toBeUndefined();
  });

  it('waits for a few replies before trusting itself', () => {
    const estimate = createClockOffsetEstimate();
    for (let index = 0; index < 3; index++) estimate.observe(date(server), server + 300);
    expect(estimate.offsetMs()).toBeUndefined();
    estimate.observe(date(server), server + 300);
    expect(estimate.offsetMs()).toBe(0);
  });

  it('takes equal clocks as equal, even when some replies were read late or carried an odd Date', () => {
    const estimate = createClockOffsetEstimate();
    for (let index = 0; index < 6; index++) estimate.observe(date(server + index * 1000), server + index * 1000 + 300);
    estimate.observe(date(server + 6000), server + 8500); // read 2.5 s late by a busy process
    estimate.observe(date(server + 90_000_000), server + 7000); // a Date from a cache with another clock
    expect(estimate.offsetMs()).toBe(0);
  });

  it('measures a local clock 5 s ahead or behind', () => {
    const ahead = createClockOffsetEstimate();
    const behind = createClockOffsetEstimate();
    for (let index = 0; index < 4; index++) {
      ahead.observe(date(server), server + 5300 + index);
      behind.observe(date(server), server - 4700 + index);
    }
    expect(ahead.offsetMs()).toBe(-5301);
    expect(behind.offsetMs()).toBe(4699);
  });

  it('places a stated reset with the estimate instead of one Date', () => {
    // Read 2 s late: with Date alone the reset would seem 2 s further away than it is.
    const now = server + 2600;
    const headers = {
      date: date(server),
      'x-ratelimit-limit': '10',
      'x-ratelimit-remaining': '5',
      'x-ratelimit-reset': String(server / 1000 + 5),
    };
    expect(parseRateLimit({ status: 200, headers }, { now }).resetAtEpochMs).toBe(now + 5000);
    expect(parseRateLimit({ status: 200, headers }, { now, clockOffsetMs: 0 }).resetAtEpochMs).toBe(server + 5000);
  });
});
