/**
 * The Lua port against the pure TypeScript algorithms on random histories: every policy kind, several policies per
 * key, every operation, costs and times drawn at random. Each request goes to the memory store (which calls the
 * pure functions) and to Redis with the same injected time and lease ids; their results must be identical.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicies } from '../../src/limits/policy.js';
import type { StoreOperation, StoreRequest } from '../../src/limits/store.js';
import type { PolicyOptions } from '../../src/limits/types.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import { createRedisStore, type RedisStore } from '../../src/stores/redis.js';
import { hasRedis, redisUrl } from '../support/redis.js';
import { deleteKeys, inspector, uniquePrefix } from './redis-support.js';

const keyPrefix = uniquePrefix('differential');

// 90 days is above 2^32 ms: the policy travels as a 64-bit MessagePack integer.
const windowArbitrary = fc.constantFrom(1, 7, 100, 333, 1000, 3000, 60_000, 7_776_000_000);

const policyArbitrary: fc.Arbitrary<PolicyOptions> = fc.oneof(
  fc.record({
    algorithm: fc.constantFrom('fixed-window' as const, 'sliding-window' as const, 'sliding-log' as const),
    limit: fc.integer({ min: 1, max: 12 }),
    window: windowArbitrary,
  }),
  fc.record({
    algorithm: fc.constant('token-bucket' as const),
    limit: fc.integer({ min: 1, max: 12 }),
    window: fc.constantFrom(100, 333, 1000, 3000, 60_000),
    burst: fc.option(fc.integer({ min: 1, max: 15 }), { nil: undefined }),
  }),
  fc
    .record({
      algorithm: fc.constant('leaky-bucket' as const),
      limit: fc.integer({ min: 1, max: 12 }),
      window: fc.constantFrom(100, 333, 1000, 3000, 60_000),
      burst: fc.integer({ min: 0, max: 8 }),
      delayShare: fc.oneof(fc.constant(-1), fc.double({ min: 0, max: 1, noNaN: true })),
    })
    .map(({ delayShare, burst, ...rest }): PolicyOptions => {
      if (delayShare < 0) return { ...rest, burst, nodelay: true };
      return { ...rest, burst, delay: Math.floor(burst * delayShare) };
    }),
  fc.record({
    algorithm: fc.constant('concurrency' as const),
    limit: fc.integer({ min: 1, max: 6 }),
    lease: fc.constantFrom(50, 1000, 2500),
  }),
);

interface Step {
  advanceMs: number;
  operation: StoreOperation;
  cost: number;
  key: string;
  /** release/renew: which earlier take's lease (modulo their number), or an unknown one. */
  leaseChoice: number;
}

const stepArbitrary: fc.Arbitrary<Step> = fc.record({
  advanceMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 4000 })),
  operation: fc.constantFrom<StoreOperation>('take', 'take', 'take', 'take', 'peek', 'release', 'renew', 'reset'),
  cost: fc.oneof(fc.constant(1), fc.integer({ min: 0, max: 16 })),
  key: fc.constantFrom('a', 'b', 'user:{42}'),
  leaseChoice: fc.integer({ min: -1, max: 20 }),
});

describe.skipIf(!hasRedis)('the Redis store decides exactly as the pure algorithms', () => {
  let redis: RedisStore;
  beforeAll(() => {
    redis = createRedisStore({ url: redisUrl, keyPrefix, logger: false });
  });
  afterAll(async () => {
    await redis?.close();
    const client = inspector(redisUrl);
    await deleteKeys(client, keyPrefix);
    client.disconnect();
  });

  let run = 0;

  /** Plays random histories of `steps` over `policies` against both stores. */
  async function checkHistories(
    policiesArbitrary: fc.Arbitrary<PolicyOptions[]>,
    stepsArbitrary: fc.Arbitrary<Step[]>,
    numRuns: number,
  ): Promise<void> {
    await fc.assert(
      fc.asyncProperty(
        policiesArbitrary,
        stepsArbitrary,
        fc.integer({ min: 0, max: 10 ** 9 }),
        async (options, steps, startOffset) => {
          run++;
          const named = options.map((policy, index) => ({ ...policy, name: `p${index}` }));
          const policies = compilePolicies(named, { leaseMs: 1000, prefix: `run${run}` });
          const minimumCapacity = Math.min(...policies.map((policy) => policy.capacity));
          const memory = createMemoryStore();
          let now = 1_700_000_000_000 + startOffset;
          const leases: string[] = [];
          for (const [index, step] of steps.entries()) {
            now += step.advanceMs;
            let leaseId: string | undefined;
            let cost = 0;
            if (step.operation === 'take' || step.operation === 'peek') cost = Math.min(step.cost, minimumCapacity);
            if (step.operation === 'take') {
              leaseId = `lease-${index}`;
              leases.push(leaseId);
            } else if (step.operation === 'release' || step.operation === 'renew') {
              leaseId =
                step.leaseChoice < 0 || leases.length === 0
                  ? 'never-given'
                  : (leases[step.leaseChoice % leases.length] as string);
            }
            const request: StoreRequest = {
              operation: step.operation,
              key: step.key,
              policies,
              cost,
              leaseId,
              nowEpochMs: now,
            };
            const expected = await memory.evaluate(request);
            const actual = await redis.evaluate(request);
            expect(actual, `step ${index}: ${JSON.stringify({ ...request, policies: named })}`).toEqual(expected);
          }
        },
      ),
      { numRuns },
    );
  }

  it('on random histories over every algorithm and operation, several policies per key', async () => {
    await checkHistories(
      fc.array(policyArbitrary, { minLength: 1, maxLength: 3 }),
      fc.array(stepArbitrary, { minLength: 1, maxLength: 30 }),
      150,
    );
  });

  // One algorithm at a time, with time moving in small steps against a 100 ms window, so that every branch
  // (a window turning, a previous window's weight decaying, a bucket refilling, a lease expiring) is reached.
  it.each([
    ['fixed-window', { algorithm: 'fixed-window', window: 100 }],
    ['sliding-window', { algorithm: 'sliding-window', window: 100 }],
    ['sliding-log', { algorithm: 'sliding-log', window: 100 }],
    ['token-bucket', { algorithm: 'token-bucket', window: 100, burst: 3 }],
    ['leaky-bucket', { algorithm: 'leaky-bucket', window: 100, burst: 4, delay: 1 }],
    ['concurrency', { algorithm: 'concurrency', lease: 100 }],
  ] as const)('on dense histories of %s', async (_name, shape) => {
    await checkHistories(
      fc.integer({ min: 1, max: 8 }).map((limit) => [{ ...shape, limit } as PolicyOptions]),
      fc.array(
        fc.record({
          advanceMs: fc.integer({ min: 0, max: 40 }),
          operation: fc.constantFrom<StoreOperation>('take', 'take', 'take', 'take', 'peek', 'release', 'renew'),
          cost: fc.integer({ min: 0, max: 4 }),
          key: fc.constant('k'),
          leaseChoice: fc.integer({ min: -1, max: 20 }),
        }),
        { minLength: 5, maxLength: 40 },
      ),
      60,
    );
  });
});
