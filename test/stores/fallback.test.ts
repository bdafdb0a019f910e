/**
 * Decisions when Redis does not answer at all (nothing listens on its port: the connection is refused), through
 * the real stores: never an error, never a hang, never a decision passed off as a rate limit — the onStoreError
 * policy decides and says so. (test/distributed/redis-outage.test.ts stops and restarts a real Redis mid-run.)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisBudgetStore } from '../../src/budget/redis-store.js';
import type { BudgetKey, ConfiguredLimit } from '../../src/budget/types.js';
import { defaultBudgetPolicy } from '../../src/budget/types.js';
import { createClient } from '../../src/client/create-client.js';
import { createLimiter } from '../../src/limits/limiter.js';
import { createResilientBudgetStore, scaledSignal } from '../../src/stores/fallback-budget.js';
import type { OutageEvent } from '../../src/stores/outage.js';
import { createRedisStore } from '../../src/stores/redis.js';
import { createManualClock } from '../../src/time.js';
import { signalOf } from '../budget/signal-builder.js';
import { freePort } from '../support/redis-global-setup.js';

/** Midnight UTC: minute windows start here. */
const T0 = 1_699_920_000_000;
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function deadRedisUrl(): Promise<string> {
  return `redis://127.0.0.1:${await freePort()}`;
}

describe('a limiter whose Redis does not answer', () => {
  async function limiterWith(options: Parameters<typeof createLimiter>[1], events: OutageEvent[] = []) {
    const store = createRedisStore({
      url: await deadRedisUrl(),
      instances: 4,
      logger: false,
      onOutage: (event) => events.push(event),
    });
    closers.push(() => store.close());
    const clock = createManualClock(T0);
    const limiter = createLimiter({ algorithm: 'fixed-window', limit: 8, window: '1m' }, { store, clock, ...options });
    return { limiter, store };
  }

  it("'local' (the default) holds 1/N of the limit in process and says the decision is 'unavailable'", async () => {
    const events: OutageEvent[] = [];
    const { limiter, store } = await limiterWith({}, events);
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push(await limiter.take('k'));
    // N = 4 configured: 8 / 4 = 2 in this process.
    expect(decisions.map(({ allowed, outcome, fallback }) => ({ allowed, outcome, fallback }))).toEqual([
      { allowed: true, outcome: 'unavailable', fallback: 'local' },
      { allowed: true, outcome: 'unavailable', fallback: 'local' },
      { allowed: false, outcome: 'unavailable', fallback: 'local' },
    ]);
    expect(decisions[2]).toMatchObject({ limit: 2, retryAfterMs: 60_000 });
    // Logged and counted once, however many decisions it failed.
    expect(events.map((event) => [event.store, event.state, event.outages])).toEqual([['redis-limits', 'down', 1]]);
    expect(store.stats()).toMatchObject({ down: true, outages: 1 });
    expect(store.localShare()).toBe(0.25);
  });

  it("'closed' refuses and 'open' admits, both as 'unavailable'", async () => {
    const closed = await limiterWith({ onStoreError: 'closed', unavailableRetryAfterMs: 300 });
    expect(await closed.limiter.take('k')).toMatchObject({
      allowed: false,
      outcome: 'unavailable',
      fallback: 'closed',
      retryAfterMs: 300,
    });
    const opened = await limiterWith({ onStoreError: 'open' });
    expect(await opened.limiter.take('k')).toMatchObject({ allowed: true, outcome: 'unavailable', fallback: 'open' });
  });
});

describe('budgets whose Redis does not answer', () => {
  const configured: ConfiguredLimit[] = [{ name: 'rate', unit: 'requests', model: 'bucket', limit: 8, windowMs: 1000 }];
  const keys: BudgetKey[] = [{ key: 'api|team', configured }];
  const at = (ms: number) => ({ nowEpochMs: T0 + ms, policy: defaultBudgetPolicy });

  async function resilient(onStoreError: 'open' | 'closed' | 'local') {
    const primary = createRedisBudgetStore({ url: await deadRedisUrl(), instances: 4, logger: false });
    const store = createResilientBudgetStore(primary, {
      onStoreError,
      clock: createManualClock(T0),
      logger: false,
      unavailableRetryAfterMs: 250,
    });
    closers.push(() => store.close());
    return store;
  }

  it("'local' paces with this process's share of every configured limit", async () => {
    const store = await resilient('local');
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push(await store.admit(keys, {}, at(0)));
    // A bucket of 8 per second shared by 4: 2 here, then one every 500 ms.
    expect(decisions.map((decision) => [decision.admitted, decision.fallback])).toEqual([
      [true, 'local'],
      [true, 'local'],
      [false, 'local'],
    ]);
    expect(decisions[2]).toMatchObject({ waitMs: 500 });
    expect(store.stats()).toMatchObject({ down: true, outages: 1, fallbackDecisions: 3 });
  });

  it("'local' learns from replies as this process's share of them", async () => {
    const store = await resilient('local');
    const window = signalOf({ limits: [{ name: 'requests', limit: 100, remaining: 4, resetAtEpochMs: T0 + 60_000 }] });
    await store.observe({ signal: window, signalKey: 'api|team', rejected: false, model: 'window', ...at(0) });
    // 4 left, a quarter of it here: one call, then wait for the reset.
    expect(await store.admit([{ key: 'api|team' }], {}, at(0))).toMatchObject({ admitted: true });
    expect(await store.admit([{ key: 'api|team' }], {}, at(0))).toMatchObject({ admitted: false, waitMs: 60_000 });
    expect(store.stats().pendingSettlements).toBe(0);
  });

  it("'closed' refuses for a while and 'open' admits, each saying the store decided nothing", async () => {
    const closed = await resilient('closed');
    const refusal = await closed.admit(keys, {}, at(0));
    expect(refusal).toMatchObject({ admitted: false, waitMs: 250, fallback: 'closed' });
    expect(refusal.admitted ? '' : refusal.why).toMatch(/budget store is unavailable/);
    const opened = await resilient('open');
    const admitted = await opened.admit(keys, {}, at(0));
    expect(admitted).toMatchObject({ admitted: true, fallback: 'open' });
  });

  it('scales a signal to a share: capacities and what is left, never times', () => {
    const signal = signalOf({
      retryAfterMs: 1500,
      limits: [
        { name: 'requests', limit: 100, remaining: 41, resetAfterMs: 900 },
        { name: 'tokens', unit: 'tokens', limit: 3, remaining: 0 },
      ],
    });
    const scaled = scaledSignal(signal, 0.25);
    expect(scaled?.limits.map(({ limit, remaining, resetAfterMs }) => [limit, remaining, resetAfterMs])).toEqual([
      [25, 10, 900],
      [1, 0, null],
    ]);
    expect(scaled).toMatchObject({ limit: 25, remaining: 10, retryAfterMs: 1500 });
    expect(scaledSignal(signal, 1)).toBe(signal);
  });

  it('a client whose shared budget store is down still serves its calls', async () => {
    const server = createServer((_request, response) => response.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    const primary = createRedisBudgetStore({ url: await deadRedisUrl(), logger: false });
    closers.push(() => primary.close());
    const client = createClient({
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      store: primary,
      retry: { attempts: 1 },
    });
    closers.push(() => client.close());
    for (let i = 0; i < 3; i++) {
      const response = await client.fetch('/');
      expect(await response.text()).toBe('ok');
    }
  });
});
