import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { createLimiter } from '../../src/limits/limiter.js';
import { compilePolicies } from '../../src/limits/policy.js';
import type { PolicyOptions } from '../../src/limits/types.js';

const compile = (input: unknown) => compilePolicies(input as PolicyOptions, { leaseMs: 60_000 });

describe('policy validation names the field and what was expected', () => {
  it.each([
    [
      [
        { algorithm: 'fixed-window', limit: 10, window: '1s' },
        { algorithm: 'fixed-window', limit: 10, window: 0 },
      ],
      'policies[1].window: expected a positive duration, got 0',
    ],
    [{ algorithm: 'fixed-window', limit: 0, window: '1s' }, 'policy.limit: expected a positive integer, got 0'],
    [{ algorithm: 'fixed-window', limit: -3, window: '1s' }, 'policy.limit: expected a positive integer, got -3'],
    [
      { algorithm: 'fixed-window', limit: Number.NaN, window: '1s' },
      'policy.limit: expected a positive integer, got NaN',
    ],
    [{ algorithm: 'fixed-window', limit: 1.5, window: '1s' }, 'policy.limit: expected a positive integer, got 1.5'],
    [{ algorithm: 'fixed-window', limit: '10', window: '1s' }, 'policy.limit: expected a positive integer, got "10"'],
    [{ algorithm: 'sliding-log', limit: 10, window: -1 }, 'policy.window: expected a positive duration, got -1'],
    [
      { algorithm: 'sliding-log', limit: 10, window: Number.NaN },
      'policy.window: expected a positive duration, got NaN',
    ],
    [{ algorithm: 'sliding-log', limit: 10, window: 'soon' }, 'policy.window: expected a duration such as'],
    [{ algorithm: 'token-bucket', limit: 10 }, 'policy.window: required for token-bucket'],
    [
      { algorithm: 'token-bucket', limit: 10, window: '1s', burst: 0 },
      'policy.burst: expected a positive integer, got 0',
    ],
    [
      { algorithm: 'leaky-bucket', limit: 10, window: '1s', burst: -1 },
      'policy.burst: expected a non-negative integer',
    ],
    [
      { algorithm: 'leaky-bucket', limit: 10, window: '1s', burst: 2, delay: 3 },
      'policy.delay: expected an integer from 0 to the burst (2), got 3',
    ],
    [
      { algorithm: 'leaky-bucket', limit: 10, window: '1s', burst: 2, delay: 1, nodelay: true },
      'policy.delay: give either delay or nodelay',
    ],
    [
      { algorithm: 'leaky-bucket', limit: 10, window: '1s', nodelay: 'yes' },
      'policy.nodelay: expected true or false, got "yes"',
    ],
    [
      { algorithm: 'fixed-window', limit: 10, window: '1s', burst: 5 },
      'policy.burst: applies only to token-bucket and leaky-bucket, not to fixed-window',
    ],
    [{ algorithm: 'concurrency', limit: 2, window: '1s' }, 'policy.window: concurrency limits have no window'],
    [{ algorithm: 'concurrency', limit: 2, lease: 0 }, 'policy.lease: expected a positive duration, got 0'],
    [
      { algorithm: 'fixed-window', limit: 2, windw: '1s' },
      'policy.windw: unknown field; expected one of algorithm, limit, window',
    ],
    [
      { algorithm: 'fixed-windw', limit: 2, window: '1s' },
      'policy.algorithm: expected one of "fixed-window", "sliding-window"',
    ],
    [{ limit: 2, window: '1s' }, 'policy.algorithm: expected one of'],
    [[], 'policies: expected at least one policy'],
    [[42], 'policies[0]: expected a policy object'],
    [null, 'policy: expected a policy object'],
    [
      { algorithm: 'fixed-window', limit: 2, window: '1s', name: '' },
      'policy.name: expected a non-empty string, got ""',
    ],
    [{ algorithm: 'token-bucket', limit: 5_000_000, window: 1000 }, 'policy.limit: at most one unit per microsecond'],
    [{ algorithm: 'sliding-window', limit: 1e9, window: '30d' }, 'policy.limit: limit × window must stay below 2^51'],
    [{ algorithm: 'fixed-window', limit: 1, window: 2 ** 41 }, 'policy.window: expected at most'],
    [
      [
        { algorithm: 'fixed-window', limit: 10, window: '1s' },
        { algorithm: 'fixed-window', limit: 10, window: 1000 },
      ],
      'policies[1]: has the same state as policies[0]',
    ],
  ])('%j → %s', (input, message) => {
    let thrown: unknown;
    try {
      compile(input);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidOptionError);
    expect((thrown as Error).message.startsWith(message)).toBe(true);
  });

  it('compiles to plain integer data', () => {
    const [token, leaky, concurrency, window] = compile([
      { algorithm: 'token-bucket', limit: 100, window: '1s', burst: 200 },
      { algorithm: 'leaky-bucket', limit: 3, window: '1s', burst: 5, nodelay: true },
      { algorithm: 'concurrency', limit: 4, lease: '30s' },
      { algorithm: 'sliding-window', limit: 10, window: '1m', name: 'per-minute' },
    ]);
    expect(token).toMatchObject({ capacity: 200, intervalUs: 10_000, delay: 200, windowMs: 1000 });
    expect(leaky).toMatchObject({ capacity: 6, intervalUs: 333_334, delay: 5 });
    expect(concurrency).toMatchObject({ capacity: 4, leaseMs: 30_000, windowMs: 0, id: 'concurrency:4' });
    expect(window).toMatchObject({ id: 'sliding-window:per-minute', name: 'per-minute', index: 3, windowMs: 60_000 });
    expect(Object.isFrozen(token)).toBe(true);
    expect(JSON.parse(JSON.stringify(window))).toEqual(window);
  });

  it('namespaces state ids with the limiter prefix', () => {
    const [policy] = compilePolicies(
      { algorithm: 'fixed-window', limit: 1, window: 1000 },
      { leaseMs: 1, prefix: 'login' },
    );
    expect(policy?.id).toBe('login:fixed-window:1/1000ms');
  });
});

describe('limiter options and call arguments', () => {
  it.each([
    [{ onStoreError: 'ignore' }, 'onStoreError: expected "open", "closed" or "local", got "ignore"'],
    [{ localShare: 0 }, 'localShare: expected a number greater than 0 and at most 1, got 0'],
    [{ localShare: 1.5 }, 'localShare: expected a number greater than 0 and at most 1, got 1.5'],
    [{ leaseMs: -1 }, 'leaseMs: expected a positive integer, got -1'],
    [{ store: {} }, 'store: expected a limit store'],
    [{ clock: { time: () => 0 } }, 'clock: expected a clock'],
    [{ prefix: '' }, 'prefix: expected a non-empty string'],
  ])('%j → %s', (options, message) => {
    expect(() => createLimiter({ algorithm: 'fixed-window', limit: 1, window: 1000 }, options as never)).toThrow(
      message,
    );
  });

  it('rejects a bad key or cost with an error naming it', async () => {
    const limiter = createLimiter({ algorithm: 'fixed-window', limit: 1, window: 1000 });
    await expect(limiter.take('', {})).rejects.toThrow('key: expected a non-empty string, got ""');
    await expect(limiter.take(42 as never)).rejects.toThrow('key: expected a non-empty string, got 42');
    await expect(limiter.take('k', { cost: -1 })).rejects.toThrow('cost: expected a non-negative integer, got -1');
    await expect(limiter.take('k', { cost: Number.NaN })).rejects.toThrow(
      'cost: expected a non-negative integer, got NaN',
    );
    await expect(limiter.peek('k', { cost: 0.5 })).rejects.toThrow('cost: expected a non-negative integer, got 0.5');
    await expect(limiter.release('k', {} as never)).rejects.toThrow(
      'lease: expected the lease of a concurrency decision',
    );
  });
});
