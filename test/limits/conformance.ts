/**
 * The conformance suite: one table of scenarios (arrival times, costs, operations) with the decisions every
 * limit store must produce, checked through `createLimiter` with an injected clock. The memory store runs it in
 * memory-conformance.test.ts; the Redis store runs the same table:
 *
 *   runConformanceSuite('redis', () => createRedisStore({ url: redisUrl }), { skip: !hasRedis });
 *
 * Expected values are worked out by hand from the algorithms' definitions (docs/algorithms.md), not recorded
 * from an implementation; the comments show the arithmetic where it is not obvious.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLimiter, type Limiter } from '../../src/limits/limiter.js';
import type { LimitStore } from '../../src/limits/store.js';
import type { Decision, Lease, PolicyOptions, ReleaseOutcome } from '../../src/limits/types.js';
import { createManualClock } from '../../src/time.js';

/** Midnight UTC, so every window up to a day starts at the scenario's time 0. */
export const CONFORMANCE_START_EPOCH_MS = 1_699_920_000_000;

/** The decision fields a step checks (any subset). `lease: true` means a lease is present, false absent. */
export interface ExpectedDecision {
  allowed?: boolean;
  outcome?: Decision['outcome'];
  remaining?: number;
  retryAfterMs?: number;
  resetAfterMs?: number;
  delayMs?: number;
  /** The reported policy's name. */
  policy?: string;
  lease?: boolean;
}

export interface ConformanceStep {
  /** Time since the scenario's start, in ms; never decreases. */
  atMs: number;
  /** Default 'take'. */
  operation?: 'take' | 'peek' | 'release' | 'reset';
  /** Default 1. */
  cost?: number;
  /** Default 'k'. */
  key?: string;
  /** release: the index of the earlier step whose lease to release. */
  leaseOf?: number;
  expect?: ExpectedDecision;
  /** release: what `limiter.release` must say. */
  expectRelease?: ReleaseOutcome;
}

export interface ConformanceScenario {
  name: string;
  policies: PolicyOptions | PolicyOptions[];
  /** Lease lifetime for concurrency policies. */
  leaseMs?: number;
  steps: ConformanceStep[];
}

const take = (atMs: number, expectation: ExpectedDecision, extra: Partial<ConformanceStep> = {}): ConformanceStep => ({
  atMs,
  expect: expectation,
  ...extra,
});

/** The boundary burst: 10 units at 900 ms, then more right after the epoch-aligned window turns at 1000 ms. */
const BOUNDARY = { limit: 10, window: 1000 };

export const CONFORMANCE_SCENARIOS: ConformanceScenario[] = [
  {
    name: 'fixed-window: counts per epoch-aligned window; a rejection costs nothing',
    policies: { algorithm: 'fixed-window', limit: 3, window: 1000 },
    steps: [
      take(0, { allowed: true, outcome: 'allowed', remaining: 2, resetAfterMs: 1000, retryAfterMs: 0 }),
      take(100, { allowed: true, remaining: 1, resetAfterMs: 900 }),
      take(200, { allowed: true, remaining: 0, resetAfterMs: 800 }),
      take(300, { allowed: false, outcome: 'limited', remaining: 0, retryAfterMs: 700, resetAfterMs: 700 }),
      take(999, { allowed: false, retryAfterMs: 1, resetAfterMs: 1 }),
      take(1000, { allowed: true, remaining: 2, resetAfterMs: 1000, retryAfterMs: 0 }),
      // Another key has its own count.
      take(1000, { allowed: true, remaining: 2 }, { key: 'other' }),
      take(1500, { allowed: true, remaining: 0, resetAfterMs: 500 }, { cost: 2 }),
    ],
  },
  {
    name: 'fixed-window: the boundary burst lets 2 × limit through in 100 ms',
    policies: { algorithm: 'fixed-window', ...BOUNDARY },
    steps: [
      take(900, { allowed: true, remaining: 0, resetAfterMs: 100 }, { cost: 10 }),
      take(1000, { allowed: true, remaining: 0, resetAfterMs: 1000 }, { cost: 10 }),
    ],
  },
  {
    name: 'sliding-window: the boundary burst is refused (previous window weighted)',
    policies: { algorithm: 'sliding-window', ...BOUNDARY },
    steps: [
      // current = 10; the estimate reaches 0 when it has slid out: 100 ms to the window's end + 1000.
      take(900, { allowed: true, remaining: 0, resetAfterMs: 1100 }, { cost: 10 }),
      // New window: previous = 10 with weight (1000 − 0)/1000: estimate 10, no room for 10 until the window
      // after (e ≥ 1000 − 0·1000/10 = 1000), so retry at 2000.
      take(1000, { allowed: false, remaining: 0, retryAfterMs: 1000, resetAfterMs: 1000 }, { cost: 10 }),
      // Room for 1 when 10 × (1000 − e) ≤ 9 × 1000: e ≥ 100.
      take(1000, { allowed: false, remaining: 0, retryAfterMs: 100, resetAfterMs: 1000 }),
      take(1099, { allowed: false, retryAfterMs: 1 }),
      // 10 × 900 + 1 × 1000 = 10 000 ≤ 10 × 1000.
      take(1100, { allowed: true, remaining: 0, resetAfterMs: 1900 }),
    ],
  },
  {
    name: 'sliding-window: the estimate decays the previous window linearly',
    policies: { algorithm: 'sliding-window', limit: 10, window: 1000 },
    steps: [
      take(500, { allowed: true, remaining: 4 }, { cost: 6 }),
      // previous 6 at full weight + 4 = 10.
      take(1000, { allowed: true, remaining: 0, resetAfterMs: 2000 }, { cost: 4 }),
      // 6 × 750 + 5 × 1000 = 9500 (scaled by 1000): remaining floor(0.5) = 0.
      take(1250, { allowed: true, remaining: 0, resetAfterMs: 1750 }),
      // 6 × 500 + 7 × 1000 = 10 000.
      take(1500, { allowed: true, remaining: 0 }, { cost: 2 }),
      // Room for 1 when 6 × (1000 − e) ≤ 2 × 1000: e ≥ 1000 − floor(2000 / 6) = 667, 167 ms from now.
      take(1500, { allowed: false, remaining: 0, retryAfterMs: 167, resetAfterMs: 1500 }),
      take(1666, { allowed: false, retryAfterMs: 1 }),
      take(1667, { allowed: true, remaining: 0 }),
      // In window 2: previous = 8 at weight (1000 − 500)/1000 → 4; 6 more fit.
      take(2500, { allowed: true, remaining: 0 }, { cost: 6 }),
    ],
  },
  {
    name: 'sliding-log: the boundary burst is refused until the logged units are a window old',
    policies: { algorithm: 'sliding-log', ...BOUNDARY },
    steps: [
      take(900, { allowed: true, remaining: 0, resetAfterMs: 1000 }, { cost: 10 }),
      take(1000, { allowed: false, remaining: 0, retryAfterMs: 900, resetAfterMs: 900 }, { cost: 10 }),
      take(1000, { allowed: false, retryAfterMs: 900 }),
      take(1899, { allowed: false, retryAfterMs: 1 }),
      // A unit admitted at 900 counts until 1900 (exclusive).
      take(1900, { allowed: true, remaining: 0, resetAfterMs: 1000 }, { cost: 10 }),
    ],
  },
  {
    name: 'sliding-log: exact, unit by unit, with costs',
    policies: { algorithm: 'sliding-log', limit: 5, window: 1000 },
    steps: [
      take(0, { allowed: true, remaining: 3 }, { cost: 2 }),
      take(300, { allowed: true, remaining: 1, resetAfterMs: 1000 }, { cost: 2 }),
      // 4 + 2 > 5: the oldest unit (t = 0) must slide out, at 1000.
      take(600, { allowed: false, remaining: 1, retryAfterMs: 400, resetAfterMs: 700 }, { cost: 2 }),
      take(999, { allowed: true, remaining: 0, resetAfterMs: 1000 }),
      // The two units of t = 0 are out at 1000: 3 live + 2.
      take(1000, { allowed: true, remaining: 0 }, { cost: 2 }),
      take(1000, { allowed: false, retryAfterMs: 300 }),
    ],
  },
  {
    name: 'token-bucket: the boundary burst gets one refilled token',
    policies: { algorithm: 'token-bucket', ...BOUNDARY },
    steps: [
      // One token per 100 ms, 10 in the bucket.
      take(900, { allowed: true, remaining: 0, resetAfterMs: 1000 }, { cost: 10 }),
      // TAT 1900: 10 more need it at most 1000 ahead: 2900 − 1000 = 1900, 900 ms from now. One token is back.
      take(1000, { allowed: false, remaining: 1, retryAfterMs: 900, resetAfterMs: 900 }, { cost: 10 }),
      take(1000, { allowed: true, remaining: 0, resetAfterMs: 1000 }),
      take(1000, { allowed: false, remaining: 0, retryAfterMs: 100 }),
    ],
  },
  {
    name: 'token-bucket: burst above the rate (limit 100/s, burst 200)',
    policies: { algorithm: 'token-bucket', limit: 100, window: '1s', burst: 200 },
    steps: [
      take(0, { allowed: true, remaining: 199, resetAfterMs: 10 }),
      take(0, { allowed: true, remaining: 0, resetAfterMs: 2000 }, { cost: 199 }),
      take(0, { allowed: false, remaining: 0, retryAfterMs: 10, resetAfterMs: 2000 }),
      take(10, { allowed: true, remaining: 0, resetAfterMs: 2000 }),
      // TAT 2010: floor((2000 − 1510) / 10) = 49 tokens back.
      take(500, { allowed: true, remaining: 49, resetAfterMs: 1510 }, { operation: 'peek' }),
      take(500, { allowed: false, remaining: 49, retryAfterMs: 10 }, { operation: 'peek', cost: 50 }),
      take(500, { allowed: true, remaining: 0 }, { cost: 49 }),
    ],
  },
  {
    name: 'token-bucket: an interval that is not a whole millisecond (3 per second) is rounded up to the microsecond',
    policies: { algorithm: 'token-bucket', limit: 3, window: 1000 },
    steps: [
      // intervalUs = ceil(1 000 000 / 3) = 333 334: resets at 333.334, 666.668, 1000.002 ms, rounded up.
      take(0, { allowed: true, remaining: 2, resetAfterMs: 334 }),
      take(0, { allowed: true, remaining: 1, resetAfterMs: 667 }),
      take(0, { allowed: true, remaining: 0, resetAfterMs: 1001 }),
      take(0, { allowed: false, remaining: 0, retryAfterMs: 334, resetAfterMs: 1001 }),
      take(333, { allowed: false, retryAfterMs: 1 }),
      // TAT 1 333 336 µs is 999.336 ms ahead.
      take(334, { allowed: true, remaining: 0, resetAfterMs: 1000 }),
    ],
  },
  {
    name: 'leaky-bucket: nginx limit_req rate=10r/s burst=5 (delayed)',
    policies: { algorithm: 'leaky-bucket', limit: 10, window: '1s', burst: 5 },
    steps: [
      // nginx: excess 0, 1000, ..., 5000 (milli-requests): delays (excess / rate) 0, 100, ..., 500 ms.
      take(0, { allowed: true, remaining: 5, delayMs: 0, resetAfterMs: 100 }),
      take(0, { allowed: true, remaining: 4, delayMs: 100 }),
      take(0, { allowed: true, remaining: 3, delayMs: 200 }),
      take(0, { allowed: true, remaining: 2, delayMs: 300 }),
      take(0, { allowed: true, remaining: 1, delayMs: 400 }),
      take(0, { allowed: true, remaining: 0, delayMs: 500, resetAfterMs: 600 }),
      // excess would be 6000 > burst 5000: rejected (503 in nginx), not counted.
      take(0, { allowed: false, remaining: 0, delayMs: 0, retryAfterMs: 100, resetAfterMs: 600 }),
      // 5000 − 10 × 50 + 1000 = 5500 > 5000.
      take(50, { allowed: false, retryAfterMs: 50 }),
      // 5000 − 1000 + 1000 = 5000: admitted, held (5000 / 10) ms.
      take(100, { allowed: true, remaining: 0, delayMs: 500 }),
      // Long idle: excess back to 0.
      take(2000, { allowed: true, remaining: 5, delayMs: 0, resetAfterMs: 100 }),
    ],
  },
  {
    name: 'leaky-bucket: nginx limit_req rate=10r/s burst=5 nodelay',
    policies: { algorithm: 'leaky-bucket', limit: 10, window: '1s', burst: 5, nodelay: true },
    steps: [
      take(0, { allowed: true, remaining: 5, delayMs: 0 }),
      take(0, { allowed: true, remaining: 0, delayMs: 0, resetAfterMs: 600 }, { cost: 5 }),
      take(0, { allowed: false, retryAfterMs: 100 }),
      // nodelay still leaks at the rate: one slot per 100 ms.
      take(100, { allowed: true, remaining: 0, delayMs: 0 }),
      take(150, { allowed: false, retryAfterMs: 50 }),
    ],
  },
  {
    name: 'leaky-bucket: nginx limit_req rate=10r/s burst=5 delay=2',
    policies: { algorithm: 'leaky-bucket', limit: 10, window: '1s', burst: 5, delay: 2 },
    steps: [
      // excess 0, 1000, 2000 go undelayed; 3000, 4000, 5000 wait (excess − 2000) / rate.
      take(0, { allowed: true, delayMs: 0 }),
      take(0, { allowed: true, delayMs: 0 }),
      take(0, { allowed: true, delayMs: 0 }),
      take(0, { allowed: true, delayMs: 100 }),
      take(0, { allowed: true, delayMs: 200 }),
      take(0, { allowed: true, delayMs: 300, remaining: 0 }),
      take(0, { allowed: false }),
    ],
  },
  {
    name: 'leaky-bucket: rate=30r/m burst=0 (one request per 2 s)',
    policies: { algorithm: 'leaky-bucket', limit: 30, window: '1m' },
    steps: [
      take(0, { allowed: true, remaining: 0, resetAfterMs: 2000 }),
      take(1999, { allowed: false, retryAfterMs: 1 }),
      take(2000, { allowed: true, remaining: 0 }),
    ],
  },
  {
    name: 'concurrency: leases hold slots until released or expired',
    policies: { algorithm: 'concurrency', limit: 2 },
    leaseMs: 1000,
    steps: [
      take(0, { allowed: true, remaining: 1, lease: true, resetAfterMs: 1000 }),
      take(100, { allowed: true, remaining: 0, lease: true, resetAfterMs: 1000 }),
      // Full: the first lease expires at 1000 unless released earlier.
      take(200, { allowed: false, remaining: 0, lease: false, retryAfterMs: 800, resetAfterMs: 900 }),
      { atMs: 300, operation: 'release', leaseOf: 0, expectRelease: 'released' },
      take(300, { allowed: true, remaining: 0, lease: true }),
      { atMs: 400, operation: 'release', leaseOf: 0, expectRelease: 'not-held' },
      // The lease from 100 expired at 1100; the one from 300 holds until 1300.
      take(1100, { allowed: true, remaining: 0, lease: true, resetAfterMs: 1000 }),
      // An expired lease is not held any more.
      { atMs: 1300, operation: 'release', leaseOf: 4, expectRelease: 'not-held' },
      take(1300, { allowed: true, remaining: 1 }, { operation: 'peek' }),
      take(2100, { allowed: true, remaining: 0, lease: true }, { cost: 2 }),
      take(2100, { allowed: false, retryAfterMs: 1000 }),
    ],
  },
  {
    name: 'several policies: consume from all or from none; report the most restrictive',
    policies: [
      { algorithm: 'fixed-window', limit: 3, window: '1s', name: 'per-second' },
      { algorithm: 'fixed-window', limit: 5, window: '10s', name: 'per-10s' },
    ],
    steps: [
      // Least remaining: per-second (0) over per-10s (2).
      take(0, { allowed: true, remaining: 0, resetAfterMs: 1000, policy: 'per-second' }, { cost: 3 }),
      // per-second refuses; per-10s would admit but must not be charged.
      take(0, { allowed: false, retryAfterMs: 1000, policy: 'per-second' }),
      // Had the refusal above charged per-10s, it would be at 4 and refuse 2 more.
      take(1000, { allowed: true, remaining: 0, resetAfterMs: 9000, policy: 'per-10s' }, { cost: 2 }),
      take(1000, { allowed: false, retryAfterMs: 9000, remaining: 0, policy: 'per-10s' }),
      // Both refuse: the longer wait is reported.
      take(1000, { allowed: false, retryAfterMs: 9000, policy: 'per-10s' }, { cost: 2 }),
      take(10_000, { allowed: true, remaining: 2, policy: 'per-second' }),
    ],
  },
  {
    name: 'several policies: a lease only when every policy admits',
    policies: [
      { algorithm: 'concurrency', limit: 1, name: 'slots' },
      { algorithm: 'fixed-window', limit: 2, window: '1s', name: 'rate' },
    ],
    leaseMs: 5000,
    steps: [
      take(0, { allowed: true, lease: true, remaining: 0, policy: 'slots' }),
      { atMs: 0, operation: 'release', leaseOf: 0, expectRelease: 'released' },
      take(0, { allowed: true, lease: true, remaining: 0 }),
      { atMs: 0, operation: 'release', leaseOf: 2, expectRelease: 'released' },
      // rate refuses: no lease is taken, so the slot stays free for the next second.
      take(0, { allowed: false, lease: false, policy: 'rate', retryAfterMs: 1000 }),
      take(1000, { allowed: true, lease: true, remaining: 0 }),
    ],
  },
  {
    name: 'a cost above the capacity can never pass, and consumes nothing',
    policies: { algorithm: 'fixed-window', limit: 5, window: 1000 },
    steps: [
      take(
        0,
        { allowed: false, outcome: 'limited', remaining: 5, retryAfterMs: Number.POSITIVE_INFINITY },
        { cost: 6 },
      ),
      take(0, { allowed: true, remaining: 0 }, { cost: 5 }),
      take(0, { allowed: false, retryAfterMs: Number.POSITIVE_INFINITY }, { cost: 6, operation: 'peek' }),
    ],
  },
  {
    name: 'peek consumes nothing; cost 0 takes nothing',
    policies: { algorithm: 'token-bucket', limit: 2, window: 1000 },
    steps: [
      take(0, { allowed: true, remaining: 2, resetAfterMs: 0 }, { operation: 'peek' }),
      take(0, { allowed: true, remaining: 2 }, { cost: 0 }),
      take(0, { allowed: true, remaining: 1, resetAfterMs: 500 }),
      // Would need TAT 1500 ≤ now + 1000: at 500.
      take(0, { allowed: false, remaining: 1, retryAfterMs: 500, resetAfterMs: 500 }, { operation: 'peek', cost: 2 }),
      take(0, { allowed: true, remaining: 1 }, { operation: 'peek' }),
      take(0, { allowed: true, remaining: 0, resetAfterMs: 1000 }),
    ],
  },
  {
    name: 'reset forgets every policy of the key',
    policies: [
      { algorithm: 'sliding-window', limit: 2, window: 1000 },
      { algorithm: 'token-bucket', limit: 2, window: 1000 },
    ],
    steps: [
      take(0, { allowed: true }, { cost: 2 }),
      take(0, { allowed: false }),
      { atMs: 0, operation: 'reset' },
      take(0, { allowed: true, remaining: 1 }),
    ],
  },
];

export interface ConformanceOptions {
  /** Skip the whole suite (e.g. when no Redis answers). */
  skip?: boolean;
  /** Namespaces the suite's state on a shared store (default: a random prefix per run). */
  prefix?: string;
}

/**
 * Registers one vitest test per scenario, each with its own limiter over the store from `makeStore` (called once
 * for the suite, closed after it) and a manual clock whose time is sent with every request.
 */
export function runConformanceSuite(
  name: string,
  makeStore: () => LimitStore | Promise<LimitStore>,
  options: ConformanceOptions = {},
): void {
  describe.skipIf(options.skip === true)(`limit store conformance: ${name}`, () => {
    let store: LimitStore;
    const prefix = options.prefix ?? `conformance-${randomUUID()}`;
    beforeAll(async () => {
      store = await makeStore();
    });
    afterAll(async () => {
      await store?.close?.();
    });
    CONFORMANCE_SCENARIOS.forEach((scenario, index) => {
      it(scenario.name, async () => {
        await runScenario(scenario, store, `${prefix}-${index}`);
      });
    });
  });
}

/** Plays one scenario against `store` and checks every step. */
export async function runScenario(scenario: ConformanceScenario, store: LimitStore, prefix: string): Promise<void> {
  const clock = createManualClock(CONFORMANCE_START_EPOCH_MS);
  const limiter: Limiter = createLimiter(scenario.policies, {
    store,
    clock,
    prefix,
    leaseMs: scenario.leaseMs,
    onStoreError: 'closed',
  });
  const leases: (Lease | undefined)[] = [];
  for (const [index, step] of scenario.steps.entries()) {
    clock.set(CONFORMANCE_START_EPOCH_MS + step.atMs);
    const key = step.key ?? 'k';
    const where = `${scenario.name}, step ${index} (${step.operation ?? 'take'} at ${step.atMs} ms)`;
    const operation = step.operation ?? 'take';
    if (operation === 'release') {
      const lease = leases[step.leaseOf ?? -1];
      if (lease === undefined) throw new Error(`${where}: step ${step.leaseOf} holds no lease to release`);
      expect(await limiter.release(key, lease), where).toBe(step.expectRelease);
      continue;
    }
    if (operation === 'reset') {
      await limiter.reset(key);
      continue;
    }
    const decision = await limiter[operation](key, { cost: step.cost ?? 1 });
    leases[index] = decision.lease;
    expect(decision.outcome, `${where}: outcome (store error: ${String(decision.error)})`).not.toBe('unavailable');
    expect(pick(decision, step.expect ?? {}), where).toEqual(step.expect ?? {});
  }
}

/** The decision's fields that `expected` names, in the same form. */
function pick(decision: Decision, expected: ExpectedDecision): ExpectedDecision {
  const actual: ExpectedDecision = {};
  for (const field of Object.keys(expected) as (keyof ExpectedDecision)[]) {
    if (field === 'lease') actual.lease = decision.lease !== undefined;
    else if (field === 'policy') actual.policy = decision.policy.name;
    else (actual as Record<string, unknown>)[field] = decision[field];
  }
  return actual;
}
