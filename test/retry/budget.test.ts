import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import {
  createRetryBudget,
  emptyRetryBudget,
  recordRetryBudgetCall,
  retryBudgetSettings,
  withdrawRetryBudget,
} from '../../src/retry/budget.js';
import { createManualClock } from '../../src/time.js';

function retriesAllowed(budget: { tryRetry(): boolean }, tries: number): number {
  let allowed = 0;
  for (let index = 0; index < tries; index++) if (budget.tryRetry()) allowed++;
  return allowed;
}

describe('retry budget', () => {
  it('allows a reserve of minRetriesPerSecond × window seconds with no traffic', () => {
    const clock = createManualClock(1_000_000);
    const budget = createRetryBudget({ ratio: 0.1, minRetriesPerSecond: 1, window: '10s' }, clock);
    expect(retriesAllowed(budget, 50)).toBe(10);
    expect(budget.available()).toBe(0);
  });

  it('allows ratio × the calls in the window on top of the reserve', () => {
    const clock = createManualClock(0);
    const budget = createRetryBudget({ ratio: 0.1, minRetriesPerSecond: 0 }, clock);
    for (let call = 0; call < 100; call++) budget.recordCall();
    expect(retriesAllowed(budget, 50)).toBe(10);
    for (let call = 0; call < 9; call++) budget.recordCall();
    expect(budget.tryRetry()).toBe(false);
    budget.recordCall();
    expect(budget.tryRetry()).toBe(true);
  });

  it('is not cheated by floating point (0.7 × 90 = 63 retries)', () => {
    const budget = createRetryBudget({ ratio: 0.7, minRetriesPerSecond: 0 }, createManualClock(0));
    for (let call = 0; call < 90; call++) budget.recordCall();
    expect(retriesAllowed(budget, 100)).toBe(63);
  });

  it('frees the budget as calls and retries slide out of the window', () => {
    const clock = createManualClock(0);
    const budget = createRetryBudget({ ratio: 0, minRetriesPerSecond: 1, window: '10s' }, clock);
    expect(retriesAllowed(budget, 20)).toBe(10);
    clock.advance(9_999);
    expect(budget.tryRetry()).toBe(false);
    clock.advance(1);
    expect(retriesAllowed(budget, 20)).toBe(10);
  });

  it('forgets calls that left the window', () => {
    const clock = createManualClock(0);
    const budget = createRetryBudget({ ratio: 0.5, minRetriesPerSecond: 0, window: '1s' }, clock);
    for (let call = 0; call < 10; call++) budget.recordCall();
    clock.advance(1000);
    expect(budget.tryRetry()).toBe(false);
  });

  it('bounds retries during an outage: at 1000 calls/s all failing, retries stay ≤ 10% + reserve in every window', () => {
    const clock = createManualClock(5_000);
    const budget = createRetryBudget({ ratio: 0.1, minRetriesPerSecond: 1, window: '10s' }, clock);
    const retriesAt: number[] = [];
    const callsAt: number[] = [];
    // 60 s of traffic, one call per millisecond; every call fails and asks for a retry.
    for (let ms = 0; ms < 60_000; ms++) {
      budget.recordCall();
      callsAt.push(clock.now());
      if (budget.tryRetry()) retriesAt.push(clock.now());
      clock.advance(1);
    }
    const total = retriesAt.length;
    expect(total).toBeLessThanOrEqual(0.1 * 60_000 + 10 * 6 + 10);
    expect(total).toBeGreaterThan(0.09 * 60_000); // the budget is used, not just refused
    for (let end = 5_000 + 10_000; end <= 65_000; end += 1_000) {
      const inWindow = (times: number[]) => times.filter((time) => time >= end - 10_000 && time < end).length;
      // slices are a tenth of the window, so a window's count may include up to one slice more of calls
      expect(inWindow(retriesAt)).toBeLessThanOrEqual(0.1 * inWindow(callsAt) + 10 + 0.1 * 1_000 + 1);
    }
  });

  it('does not free budget when the clock goes backwards', () => {
    const clock = createManualClock(100_000);
    const budget = createRetryBudget({ ratio: 0, minRetriesPerSecond: 1, window: '10s' }, clock);
    expect(retriesAllowed(budget, 20)).toBe(10);
    clock.set(50_000);
    expect(budget.tryRetry()).toBe(false);
  });

  it('has a pure core that never mutates the state it is given', () => {
    const settings = retryBudgetSettings({ ratio: 1, minRetriesPerSecond: 0 });
    const one = recordRetryBudgetCall(emptyRetryBudget, settings, 0);
    const frozen = JSON.stringify(one);
    const first = withdrawRetryBudget(one, settings, 10);
    expect(first.allowed).toBe(true);
    expect(JSON.stringify(one)).toBe(frozen);
    const second = withdrawRetryBudget(first.state, settings, 20);
    expect(second.allowed).toBe(false);
    expect(second.state).toBe(first.state);
    // the same state and time always give the same answer
    expect(withdrawRetryBudget(one, settings, 10)).toEqual(first);
    expect(emptyRetryBudget.slices).toEqual([]);
  });

  it('keeps at most one slice per tenth of the window', () => {
    const settings = retryBudgetSettings({ window: '1s' });
    let state = emptyRetryBudget;
    for (let ms = 0; ms < 5_000; ms += 7) state = recordRetryBudgetCall(state, settings, ms);
    expect(state.slices.length).toBeLessThanOrEqual(10);
  });

  it.each([
    [{ ratio: -0.1 }, 'retryBudget.ratio'],
    [{ ratio: Number.NaN }, 'retryBudget.ratio'],
    [{ minRetriesPerSecond: '1' }, 'retryBudget.minRetriesPerSecond'],
    [{ window: 0 }, 'retryBudget.window'],
    [{ window: 'a while' }, 'retryBudget.window'],
  ])('rejects %j naming %s', (options, field) => {
    expect(() => createRetryBudget(options as never)).toThrow(InvalidOptionError);
    expect(() => createRetryBudget(options as never)).toThrow(new RegExp(`^${field.replace('.', '\\.')}:`));
  });

  it('defaults to 10% over 10 s with 1 retry per second in reserve', () => {
    expect(createRetryBudget().settings).toEqual({ ratio: 0.1, minRetriesPerSecond: 1, windowMs: 10_000 });
  });
});
