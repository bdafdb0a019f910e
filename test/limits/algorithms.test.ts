import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type LimitState, stepPolicy } from '../../src/limits/algorithms.js';
import { peekPolicy } from '../../src/limits/evaluate.js';
import { compilePolicies } from '../../src/limits/policy.js';
import type { Algorithm, CompiledPolicy, PolicyOptions, PolicyResult } from '../../src/limits/types.js';

const START = 1_699_920_000_000;

const policyArbitrary: fc.Arbitrary<PolicyOptions> = fc.oneof(
  fc.record({
    algorithm: fc.constantFrom<Algorithm>('fixed-window', 'sliding-window', 'sliding-log'),
    limit: fc.integer({ min: 1, max: 12 }),
    window: fc.integer({ min: 1, max: 3000 }),
  }),
  fc.record({
    algorithm: fc.constant<Algorithm>('token-bucket'),
    limit: fc.integer({ min: 1, max: 12 }),
    window: fc.integer({ min: 1, max: 3000 }),
    burst: fc.integer({ min: 1, max: 12 }),
  }),
  fc.record({
    algorithm: fc.constant<Algorithm>('leaky-bucket'),
    limit: fc.integer({ min: 1, max: 12 }),
    window: fc.integer({ min: 1, max: 3000 }),
    burst: fc.integer({ min: 0, max: 8 }),
    nodelay: fc.boolean(),
  }),
  fc.record({
    algorithm: fc.constant<Algorithm>('concurrency'),
    limit: fc.integer({ min: 1, max: 12 }),
    lease: fc.integer({ min: 1, max: 3000 }),
  }),
);

/** Arrivals: the gap since the previous one (ms) and a cost, sometimes above the capacity. */
const arrivalsArbitrary = fc.array(
  fc.record({
    gapMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1500 })),
    cost: fc.integer({ min: 0, max: 14 }),
  }),
  { minLength: 1, maxLength: 60 },
);

interface Admission {
  atEpochMs: number;
  cost: number;
}

/** Plays the arrivals through the pure function, checking the invariants of every single step. */
function play(policy: CompiledPolicy, arrivals: { gapMs: number; cost: number }[]): Admission[] {
  let state: LimitState | undefined;
  let now = START;
  const admitted: Admission[] = [];
  arrivals.forEach(({ gapMs, cost }, index) => {
    now += gapMs;
    const taken = stepPolicy(state, now, cost, policy, `lease-${index}`);
    const { result } = taken;
    checkShape(result, policy, cost);
    const peeked = peekPolicy(state, now, cost, policy);
    expect(peeked.allowed).toBe(result.allowed);
    expect(peeked.retryAfterMs).toBe(result.retryAfterMs);
    if (result.allowed) {
      if (cost > 0) admitted.push({ atEpochMs: now, cost });
    } else {
      // A rejection changes nothing: the very same state comes back.
      expect(taken.state).toBe(state);
      if (Number.isFinite(result.retryAfterMs)) {
        // retryAfterMs is exact: enough, and not a millisecond more than needed.
        expect(stepPolicy(state, now + result.retryAfterMs, cost, policy).result.allowed).toBe(true);
        expect(result.retryAfterMs).toBeGreaterThan(0);
        expect(stepPolicy(state, now + result.retryAfterMs - 1, cost, policy).result.allowed).toBe(false);
      } else {
        expect(cost).toBeGreaterThan(policy.capacity);
      }
    }
    state = taken.state;
  });
  return admitted;
}

function checkShape(result: PolicyResult, policy: CompiledPolicy, cost: number): void {
  expect(Number.isInteger(result.remaining) && result.remaining >= 0).toBe(true);
  expect(result.remaining).toBeLessThanOrEqual(policy.capacity);
  expect(Number.isInteger(result.resetAfterMs) && result.resetAfterMs >= 0).toBe(true);
  expect(Number.isInteger(result.delayMs) && result.delayMs >= 0).toBe(true);
  if (result.allowed) expect(result.retryAfterMs).toBe(0);
  else expect(result.retryAfterMs === Number.POSITIVE_INFINITY || Number.isInteger(result.retryAfterMs)).toBe(true);
  if (cost > policy.capacity) expect(result.allowed).toBe(false);
}

function unitsIn(admitted: Admission[], fromEpochMs: number, toEpochMs: number): number {
  let units = 0;
  for (const { atEpochMs, cost } of admitted) if (atEpochMs >= fromEpochMs && atEpochMs <= toEpochMs) units += cost;
  return units;
}

describe('every algorithm, on random arrivals', () => {
  it('keeps its step invariants: exact retryAfterMs, rejections change nothing, peek agrees with take', () => {
    fc.assert(
      fc.property(policyArbitrary, arrivalsArbitrary, (options, arrivals) => {
        const [policy] = compilePolicies(options, { leaseMs: 1000 });
        play(policy as CompiledPolicy, arrivals);
      }),
      { numRuns: 400 },
    );
  });

  it('never admits more than the policy allows', () => {
    fc.assert(
      fc.property(policyArbitrary, arrivalsArbitrary, (options, arrivals) => {
        const [policy] = compilePolicies(options, { leaseMs: 1000 }) as [CompiledPolicy];
        const admitted = play(policy, arrivals);
        const { limit, windowMs, capacity } = policy;
        for (const { atEpochMs } of admitted) {
          switch (policy.algorithm) {
            case 'sliding-log':
              // Any window of windowMs ending at an admission.
              expect(unitsIn(admitted, atEpochMs - windowMs + 1, atEpochMs)).toBeLessThanOrEqual(limit);
              break;
            case 'fixed-window':
            case 'sliding-window': {
              // Within each epoch-aligned window; the sliding window also bounds the weighted estimate.
              const start = atEpochMs - (atEpochMs % windowMs);
              const current = unitsIn(admitted, start, atEpochMs);
              expect(current).toBeLessThanOrEqual(limit);
              if (policy.algorithm === 'sliding-window') {
                const previous = unitsIn(admitted, start - windowMs, start - 1);
                expect(previous * (windowMs - (atEpochMs - start)) + current * windowMs).toBeLessThanOrEqual(
                  limit * windowMs,
                );
              }
              break;
            }
            case 'token-bucket':
            case 'leaky-bucket':
              // In any span [a, b]: the bucket plus what drained meanwhile.
              for (const earlier of admitted) {
                if (earlier.atEpochMs > atEpochMs) continue;
                const drained = Math.floor(((atEpochMs - earlier.atEpochMs) * 1000) / policy.intervalUs);
                expect(unitsIn(admitted, earlier.atEpochMs, atEpochMs)).toBeLessThanOrEqual(capacity + drained);
              }
              break;
            case 'concurrency': {
              // Nobody releases: leases live leaseMs.
              const held = unitsIn(admitted, atEpochMs - policy.leaseMs + 1, atEpochMs);
              expect(held).toBeLessThanOrEqual(limit);
              break;
            }
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});

/**
 * nginx's ngx_http_limit_req_lookup, in its integer milli-request arithmetic: `excess` is the queue beyond the
 * request in progress; a request is refused when its excess would pass the burst, and held
 * (excess − delay) / rate when it passes `delay` (nodelay: delay = burst).
 */
function nginxLimitReq(ratePerSecond: number, burst: number, delay: number, arrivalsMs: number[]) {
  const rate = ratePerSecond * 1000;
  let node: { excess: number; last: number } | undefined;
  return arrivalsMs.map((now) => {
    if (node === undefined) {
      node = { excess: 0, last: now };
      return { allowed: true, delayMs: 0 };
    }
    const ms = now - node.last;
    const excess = Math.max(node.excess - Math.trunc((rate * ms) / 1000) + 1000, 0);
    if (excess > burst * 1000) return { allowed: false, delayMs: 0 };
    node.excess = excess;
    if (ms !== 0) node.last = now;
    const delayMs = excess > delay * 1000 ? Math.trunc(((excess - delay * 1000) * 1000) / rate) : 0;
    return { allowed: true, delayMs };
  });
}

describe('leaky-bucket follows nginx limit_req exactly', () => {
  it('admits, refuses and delays as nginx would, for rates that are whole requests per second', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 4, 5, 8, 10, 20, 25, 40, 50, 100, 200, 500, 1000),
        fc.integer({ min: 0, max: 10 }),
        fc.oneof(fc.constant<'nodelay'>('nodelay'), fc.integer({ min: 0, max: 10 })),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 80 }),
        (ratePerSecond, burst, delayOption, gaps) => {
          const delay = delayOption === 'nodelay' ? burst : Math.min(delayOption, burst);
          const [policy] = compilePolicies(
            { algorithm: 'leaky-bucket', limit: ratePerSecond, window: '1s', burst, delay },
            { leaseMs: 1 },
          ) as [CompiledPolicy];
          let now = START;
          const arrivals = gaps.map((gap) => (now += gap));
          const expected = nginxLimitReq(ratePerSecond, burst, delay, arrivals);
          let state: LimitState | undefined;
          const actual = arrivals.map((at) => {
            const taken = stepPolicy(state, at, 1, policy);
            state = taken.state;
            return { allowed: taken.result.allowed, delayMs: taken.result.delayMs };
          });
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
