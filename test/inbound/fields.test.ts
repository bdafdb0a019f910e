import { parseDictionary, parseList } from 'structured-headers';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import {
  type HeaderRecord,
  policyDisplayName,
  preparePolicyFields,
  type RateLimitDraft,
  retryAfterSeconds,
  writeRateLimitFields,
} from '../../src/inbound/fields.js';
import { refuseVerdict } from '../../src/inbound/verdict.js';
import { createLimiter } from '../../src/limits/limiter.js';
import type { Decision, PolicyOptions } from '../../src/limits/types.js';
import { parseRateLimit } from '../../src/signals/index.js';
import { createManualClock } from '../../src/time.js';

// A whole minute: fixed windows start on multiples of their length, so resets below are whole windows.
const START = 1_700_000_040_000;

async function decisionsOf(policies: PolicyOptions | PolicyOptions[], takes: number) {
  const clock = createManualClock(START);
  const limiter = createLimiter(policies, { clock });
  const decisions: Decision[] = [];
  for (let index = 0; index < takes; index++) decisions.push(await limiter.take('caller'));
  return { decisions, clock };
}

function fields(draft: RateLimitDraft, decision: Decision): HeaderRecord {
  const headers: HeaderRecord = {};
  writeRateLimitFields(draft, decision, headers);
  return headers;
}

const hundredPerMinute: PolicyOptions = { algorithm: 'fixed-window', name: 'per-user', limit: 100, window: '1m' };

describe('the fields of each draft', () => {
  it('draft-10: RateLimit-Policy and RateLimit as named Structured Field items', async () => {
    const { decisions } = await decisionsOf(hundredPerMinute, 1);
    expect(fields('draft-10', decisions[0] as Decision)).toEqual({
      'ratelimit-policy': '"per-user";q=100;w=60',
      ratelimit: '"per-user";r=99;t=60',
    });
  });

  it('draft-07: RateLimit-Policy as numbers, RateLimit as a Dictionary', async () => {
    const { decisions } = await decisionsOf(hundredPerMinute, 1);
    expect(fields('draft-07', decisions[0] as Decision)).toEqual({
      'ratelimit-policy': '100;w=60',
      ratelimit: 'limit=100, remaining=99, reset=60',
    });
  });

  it('draft-06: separate RateLimit-Limit, -Remaining and -Reset, and RateLimit-Policy', async () => {
    const { decisions } = await decisionsOf(hundredPerMinute, 1);
    expect(fields('draft-06', decisions[0] as Decision)).toEqual({
      'ratelimit-limit': '100',
      'ratelimit-remaining': '99',
      'ratelimit-reset': '60',
      'ratelimit-policy': '100;w=60',
    });
  });

  it('none: no fields', async () => {
    const { decisions } = await decisionsOf(hundredPerMinute, 1);
    expect(fields('none', decisions[0] as Decision)).toEqual({});
  });

  it('rounds windows and resets up to whole seconds (a caller is never early)', async () => {
    const { decisions } = await decisionsOf(
      { algorithm: 'token-bucket', name: 'burst', limit: 3, window: 1500, burst: 3 },
      1,
    );
    // One of three units spent: the bucket is full again after 500 ms; the 1.5 s window is sent as 2.
    expect(fields('draft-10', decisions[0] as Decision)).toEqual({
      'ratelimit-policy': '"burst";q=3;w=2',
      ratelimit: '"burst";r=2;t=1',
    });
  });

  it('a concurrency policy has no window and no reset; draft-10 names its unit', async () => {
    const { decisions } = await decisionsOf({ algorithm: 'concurrency', name: 'in-flight', limit: 4 }, 1);
    const decision = decisions[0] as Decision;
    expect(fields('draft-10', decision)).toEqual({
      'ratelimit-policy': '"in-flight";q=4;qu="concurrent-requests"',
      ratelimit: '"in-flight";r=3',
    });
    expect(fields('draft-07', decision)).toEqual({ 'ratelimit-policy': '4', ratelimit: 'limit=4, remaining=3' });
    expect(fields('draft-06', decision)).toEqual({
      'ratelimit-limit': '4',
      'ratelimit-remaining': '3',
      'ratelimit-policy': '4',
    });
  });

  it('unnamed policies show as "default", "default-2"... rather than the limiter’s internal names', async () => {
    const { decisions } = await decisionsOf(
      [
        { algorithm: 'fixed-window', limit: 100, window: '1m' },
        { algorithm: 'fixed-window', limit: 2, window: '1s' },
      ],
      1,
    );
    const decision = decisions[0] as Decision;
    expect(decision.policy.name).toBe('policies[1]');
    expect(policyDisplayName(decision.policy)).toBe('default-2');
    expect(fields('draft-10', decision)['ratelimit-policy']).toBe('"default-2";q=2;w=1');
    const single = (await decisionsOf({ algorithm: 'fixed-window', limit: 5, window: '1m' }, 1)).decisions[0];
    expect(fields('draft-10', single as Decision).ratelimit).toBe('"default";r=4;t=60');
  });

  it('names are escaped as Structured Field strings, and a name no header can carry fails early with its name', () => {
    const [quoted] = createLimiter({ ...hundredPerMinute, name: 'a "quoted" \\ name' }).policies;
    expect(preparePolicyFields(quoted!).namedPolicy).toBe('"a \\"quoted\\" \\\\ name";q=100;w=60');
    const [accented] = createLimiter({ ...hundredPerMinute, name: 'café' }).policies;
    expect(() => preparePolicyFields(accented!)).toThrow(InvalidOptionError);
    expect(() => preparePolicyFields(accented!)).toThrow(/policy name "café": cannot be sent in a RateLimit field/);
  });

  it('every field parses as the Structured Field its draft defines', async () => {
    const { decisions } = await decisionsOf(hundredPerMinute, 1);
    const decision = decisions[0] as Decision;
    const draft10 = fields('draft-10', decision);
    expect(parseList(draft10['ratelimit-policy']!)).toEqual([
      [
        'per-user',
        new Map([
          ['q', 100],
          ['w', 60],
        ]),
      ],
    ]);
    expect(parseList(draft10.ratelimit!)).toEqual([
      [
        'per-user',
        new Map([
          ['r', 99],
          ['t', 60],
        ]),
      ],
    ]);
    const draft07 = fields('draft-07', decision);
    expect(parseList(draft07['ratelimit-policy']!)).toEqual([[100, new Map([['w', 60]])]]);
    expect(parseDictionary(draft07.ratelimit!)).toEqual(
      new Map([
        ['limit', [100, new Map()]],
        ['remaining', [99, new Map()]],
        ['reset', [60, new Map()]],
      ]),
    );
  });

  it('keeps numbers within what a Structured Field Integer can carry (15 digits)', async () => {
    const { decisions } = await decisionsOf({ ...hundredPerMinute, limit: 2 ** 52 }, 1);
    const headers = fields('draft-10', decisions[0] as Decision);
    expect(headers['ratelimit-policy']).toBe('"per-user";q=999999999999999;w=60');
    expect(() => parseList(headers.ratelimit!)).not.toThrow();
  });
});

describe('Retry-After', () => {
  it.each([
    [1, 1],
    [999, 1],
    [1000, 1],
    [1001, 2],
    [59_999, 60],
    [0, 1],
    [Number.POSITIVE_INFINITY, 1],
  ])('%d ms is %d s (whole seconds, rounded up, at least 1)', (ms, seconds) => {
    expect(retryAfterSeconds(ms)).toBe(seconds);
  });
});

describe("Sluice's own signal parser reads back what is sent", () => {
  const drafts: RateLimitDraft[] = ['draft-10', 'draft-07', 'draft-06'];

  it.each(drafts)('%s: an allowed reply gives the limit, remaining and reset', async (draft) => {
    const { decisions, clock } = await decisionsOf(hundredPerMinute, 30);
    const decision = decisions[29] as Decision;
    for (const dialect of ['auto', 'ietf'] as const) {
      const signal = parseRateLimit({ status: 200, headers: fields(draft, decision) }, { dialect, now: clock.now() });
      expect(signal).toMatchObject({ limited: false, limit: 100, remaining: 70, resetAfterMs: 60_000 });
      expect(signal.limits[0]).toMatchObject({ unit: 'requests', limit: 100, remaining: 70, windowMs: 60_000 });
      if (draft === 'draft-10') expect(signal.limits[0]?.name).toBe('per-user');
    }
  });

  it.each(drafts)('%s: a 429 gives limited, remaining 0 and the wait from Retry-After', async (draft) => {
    const clock = createManualClock(START + 12_300);
    const limiter = createLimiter({ ...hundredPerMinute, limit: 3 }, { clock });
    for (let index = 0; index < 3; index++) await limiter.take('caller');
    const refused = await limiter.take('caller');
    expect(refused.allowed).toBe(false);
    const verdict = refuseVerdict(draft, 'per-user', refused);
    const signal = parseRateLimit({ status: 429, headers: verdict.headers }, { now: clock.now() });
    expect(verdict.headers['retry-after']).toBe('48');
    expect(signal).toMatchObject({ limited: true, limit: 3, remaining: 0, retryAfterMs: 48_000 });
    // The window (from 12.3 s into the minute) ends in 47.7 s: RateLimit's reset says 48, never earlier.
    expect(signal.resetAfterMs).toBe(48_000);
  });

  it('draft-10 concurrency reads back as a concurrency limit without a reset', async () => {
    const { decisions, clock } = await decisionsOf({ algorithm: 'concurrency', name: 'in-flight', limit: 4 }, 2);
    const signal = parseRateLimit(
      { status: 200, headers: fields('draft-10', decisions[1] as Decision) },
      { now: clock.now() },
    );
    expect(signal.limits[0]).toMatchObject({ name: 'in-flight', unit: 'concurrency', limit: 4, remaining: 2 });
    expect(signal.limits[0]?.resetAfterMs).toBeNull();
  });
});
