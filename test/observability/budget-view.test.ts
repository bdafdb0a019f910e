import { describe, expect, it } from 'vitest';
import { createBudgetState } from '../../src/budget/core.js';
import { createMemoryBudgetStore } from '../../src/budget/memory-store.js';
import type { BudgetKey, ConfiguredLimit } from '../../src/budget/types.js';
import {
  budgetFamily,
  limitViewAt,
  parseBudgetKey,
  upstreamViewOf,
  viewBudgets,
} from '../../src/observability/budget-view.js';
import type { QueueStats } from '../../src/pipeline/queue.js';
import { createManualClock } from '../../src/time.js';
import { signalOf } from '../budget/signal-builder.js';

const T0 = 1_700_000_000_000;
const NO_QUEUE: QueueStats = { queued: 0, asking: 0, lanes: [] };

const WINDOW: ConfiguredLimit = { name: 'requests', unit: 'requests', model: 'window', limit: 10, windowMs: 1000 };
const BUCKET: ConfiguredLimit = { name: 'tokens', unit: 'tokens', model: 'bucket', limit: 10, windowMs: 10_000 };

describe('parseBudgetKey', () => {
  it('splits a key into tenant and budget, and ignores other upstreams’ keys', () => {
    expect(parseBudgetKey('github', 'github|acme')).toEqual({ tenant: 'acme', budget: 'credential' });
    expect(parseBudgetKey('github', 'github|-|resource:search')).toEqual({ tenant: null, budget: 'resource:search' });
    expect(parseBudgetKey('discord', 'discord|bot|bucket:abcd:1234')).toEqual({
      tenant: 'bot',
      budget: 'bucket:abcd:1234',
    });
    // Limits every credential shares (scope: upstream), and the upstream's default credential.
    expect(parseBudgetKey('api', 'api|*')).toEqual({ tenant: '*', budget: 'credential' });
    expect(parseBudgetKey('api', 'api|*|route:search')).toEqual({ tenant: '*', budget: 'route:search' });
    expect(parseBudgetKey('api', 'api|default')).toEqual({ tenant: 'default', budget: 'credential' });
    expect(parseBudgetKey('github', 'githubber|acme')).toBeNull();
    expect(parseBudgetKey('github', 'openai|acme')).toBeNull();
  });

  it('hides a webhook token that Discord’s major parameter put in the key', () => {
    const key = 'discord|-|bucket:abcd:4242/Zq8xW3kP0vN6tR2yL5bM9cD1fG4hJ7sA-_x';
    expect(parseBudgetKey('discord', key)).toEqual({ tenant: null, budget: 'bucket:abcd:4242/***' });
  });

  it('names the family of a route bucket without its major parameter, so labels stay bounded', () => {
    expect(budgetFamily('bucket:abcd:1234')).toBe('bucket:abcd');
    expect(budgetFamily('bucket:abcd')).toBe('bucket:abcd');
    expect(budgetFamily('resource:core')).toBe('resource:core');
    expect(budgetFamily('credential')).toBe('credential');
  });
});

describe('limitViewAt', () => {
  it('shows a window whole again once its reset has passed, with the next reset', () => {
    const state = createBudgetState(T0, [WINDOW]);
    const estimate = state.estimates[0]!;
    estimate.available = 3;
    expect(limitViewAt(estimate, state, T0 + 400)).toMatchObject({
      available: 3,
      remaining: 3,
      limit: 10,
      resetAtEpochMs: T0 + 1000,
      resetAfterMs: 600,
      windowMs: 1000,
    });
    expect(limitViewAt(estimate, state, T0 + 2500)).toMatchObject({
      remaining: 10,
      resetAtEpochMs: T0 + 3000,
      resetAfterMs: 500,
    });
    // Calls in flight hold their share of the new window.
    state.inFlight.requests = 2;
    expect(limitViewAt(estimate, state, T0 + 2500).remaining).toBe(8);
    // The estimate itself is left as it was.
    expect(estimate.available).toBe(3);
  });

  it('adds a bucket’s refill since it was last updated, up to its size', () => {
    const state = createBudgetState(T0, [BUCKET]);
    const estimate = state.estimates[0]!;
    estimate.available = 0;
    expect(limitViewAt(estimate, state, T0 + 2500)).toMatchObject({
      available: 2.5,
      remaining: 2,
      refillPerSecond: 1,
      resetAtEpochMs: null,
      resetAfterMs: null,
    });
    expect(limitViewAt(estimate, state, T0 + 60_000).remaining).toBe(10);
  });

  it('gives back a sliding window’s units that are due', () => {
    const state = createBudgetState(T0, [{ ...WINDOW, model: 'sliding' }]);
    const estimate = state.estimates[0]!;
    estimate.available = 0;
    estimate.returnsAtEpochMs = [T0 + 100, T0 + 200, T0 + 900];
    expect(limitViewAt(estimate, state, T0 + 250).remaining).toBe(2);
    expect(limitViewAt(estimate, state, T0 + 50).remaining).toBe(0);
  });

  it('never shows a negative remaining, though available may be (oversold)', () => {
    const state = createBudgetState(T0, [WINDOW]);
    state.estimates[0]!.available = -2;
    expect(limitViewAt(state.estimates[0]!, state, T0)).toMatchObject({ available: -2, remaining: 0 });
  });
});

describe('upstreamViewOf on a real budget store', () => {
  it('lists every budget of the upstream with its limits, cool-down, in-flight units and queue depth', async () => {
    const clock = createManualClock(T0);
    const store = createMemoryBudgetStore({ clock });
    const credential: BudgetKey = { key: 'api|acme', configured: [WINDOW, BUCKET] };
    const narrow: BudgetKey = { key: 'api|acme|route:search' };
    const decision = await store.admit([credential, narrow], { requests: 1, tokens: 4 });
    expect(decision.admitted).toBe(true);
    await store.admit([{ key: 'other|acme', configured: [WINDOW] }], { requests: 1 });
    await store.observe({
      signal: signalOf({ limited: true, retryAfterMs: 5000, limits: [{ name: 'search', limit: 30, remaining: 0 }] }),
      signalKey: 'api|acme|route:search',
      rejected: true,
      model: 'window',
    });
    clock.advance(100);

    const queue: QueueStats = { queued: 4, asking: 1, lanes: [{ lane: 'api|acme|route:search', depth: 4, asking: 1 }] };
    const view = upstreamViewOf('api', await store.snapshot(), queue, 'closed', clock.now());
    expect(view).toMatchObject({ upstream: 'api', breaker: 'closed', queue: { depth: 4, asking: 1 } });
    expect(view.budgets.map((budget) => budget.budget)).toEqual(['credential', 'route:search']);
    const [credentialView, searchView] = view.budgets;
    expect(credentialView).toMatchObject({
      tenant: 'acme',
      inFlight: { requests: 1, tokens: 4 },
      coolDownUntilEpochMs: null,
      coolDownAfterMs: 0,
      queueDepth: 0,
    });
    expect(credentialView?.limits.map((limit) => [limit.name, limit.model, limit.source, limit.remaining])).toEqual([
      ['requests', 'window', 'configured', 9],
      ['tokens', 'bucket', 'configured', 6],
    ]);
    expect(searchView?.queueDepth).toBe(4);
    expect(searchView?.coolDownAfterMs).toBeGreaterThan(4000);
    expect(searchView?.coolDownUntilEpochMs).toBe(clock.now() + (searchView?.coolDownAfterMs ?? 0));
    expect(searchView?.limits[0]).toMatchObject({ name: 'search', source: 'learned', limit: 30, remaining: 0 });
    await store.close();
  });

  it('answers with an error for an upstream whose budgets cannot be read, and the others in full', async () => {
    const clock = createManualClock(T0);
    const store = createMemoryBudgetStore({ clock });
    await store.admit([{ key: 'good|-', configured: [WINDOW] }], { requests: 1 });
    const pipelines = new Map([
      [
        'good',
        { upstream: 'good', budgets: () => store.snapshot(), queue: () => NO_QUEUE, breakerState: () => 'closed' },
      ],
      [
        'bad',
        {
          upstream: 'bad',
          budgets: () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6379')),
          queue: () => NO_QUEUE,
          breakerState: () => 'open',
        },
      ],
    ]);
    const view = await viewBudgets(pipelines, () => clock.now());
    expect(view.generatedAtEpochMs).toBe(T0);
    expect(view.upstreams[0]?.budgets[0]?.limits[0]?.remaining).toBe(9);
    expect(view.upstreams[1]).toEqual({
      upstream: 'bad',
      breaker: 'open',
      queue: { depth: 0, asking: 0 },
      budgets: [],
      error: 'the budgets of bad could not be read: ECONNREFUSED 127.0.0.1:6379',
    });
    await store.close();
  });
});
