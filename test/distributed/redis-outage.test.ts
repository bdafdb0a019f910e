/**
 * Redis fails mid-run, on a redis-server of this test's own (never the shared one): first it stops answering with
 * its connections open (SIGSTOP: every command waits for an answer that never comes), then it dies (SIGKILL) and
 * is started again empty. Throughout, every decision is answered promptly — by Redis, or by the onStoreError
 * fallback, saying so — and when Redis answers again the stores return to it by themselves.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisBudgetStore } from '../../src/budget/redis-store.js';
import { defaultBudgetPolicy } from '../../src/budget/types.js';
import { createClient } from '../../src/client/create-client.js';
import { createLimiter, type Limiter } from '../../src/limits/limiter.js';
import type { Decision } from '../../src/limits/types.js';
import { createResilientBudgetStore, type ResilientBudgetStore } from '../../src/stores/fallback-budget.js';
import type { OutageEvent } from '../../src/stores/outage.js';
import { createRedisStore, type RedisStore } from '../../src/stores/redis.js';
import { hasRedisServer, type OwnRedis, startOwnRedis } from '../stores/redis-support.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!hasRedisServer && process.env.CI !== 'true')('when Redis stops answering and comes back', () => {
  let redis: OwnRedis;
  let limiter: Limiter;
  let limitStore: RedisStore;
  let budgets: ResilientBudgetStore;
  const events: OutageEvent[] = [];
  let upstream: ReturnType<typeof createServer>;
  let client: ReturnType<typeof createClient>;

  beforeAll(async () => {
    redis = await startOwnRedis();
    const { url } = redis;
    limitStore = createRedisStore({ url, instances: 2, logger: false, onOutage: (event) => events.push(event) });
    limiter = createLimiter({ algorithm: 'fixed-window', limit: 1000, window: '1h' }, { store: limitStore });
    budgets = createResilientBudgetStore(createRedisBudgetStore({ url, instances: 2, logger: false }), {
      logger: false,
      onOutage: (event) => events.push(event),
    });
    upstream = createServer((_request, response) => response.end('ok'));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    client = createClient({
      baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      store: createRedisBudgetStore({ url, logger: false }),
      retry: { attempts: 1 },
    });
  });

  afterAll(async () => {
    await redis?.stop();
    await Promise.allSettled([limitStore?.close(), budgets?.close(), client?.close()]);
    await new Promise((resolve) => upstream?.close(resolve));
  });

  /**
   * One round of everything: a limiter decision and a budget admit + observe (timed), then a call through the
   * client (timed apart: the pacer may rightly wait for its budget).
   */
  async function round() {
    const startedAt = Date.now();
    const decision: Decision = await limiter.take('tenant');
    const admit = await budgets.admit([{ key: 'api|team' }], {}, { policy: defaultBudgetPolicy });
    if (admit.admitted) {
      await budgets.observe(
        { signal: null, signalKey: 'api|team', rejected: false, model: 'window', policy: defaultBudgetPolicy },
        { reservation: admit.reservation },
      );
    }
    const tookMs = Date.now() - startedAt;
    const response = await client.fetch('/');
    expect(await response.text()).toBe('ok');
    return { decision, admit, tookMs, callMs: Date.now() - startedAt - tookMs };
  }

  /** Runs rounds until `done` says so or `withinMs` passes; returns them. */
  async function roundsUntil(done: (last: Awaited<ReturnType<typeof round>>) => boolean, withinMs: number) {
    const rounds = [];
    const until = Date.now() + withinMs;
    while (Date.now() < until) {
      const last = await round();
      rounds.push(last);
      if (done(last)) break;
      await sleep(25);
    }
    return rounds;
  }

  it('decides on Redis while it answers', async () => {
    const { decision, admit } = await round();
    expect(decision).toMatchObject({ allowed: true, outcome: 'allowed' });
    expect(admit).toMatchObject({ admitted: true });
    expect(admit.fallback).toBeUndefined();
  });

  it('a Redis that hangs (SIGSTOP): decisions fall back within the command timeout, never hang', async () => {
    redis.process.kill('SIGSTOP');
    try {
      const rounds = [];
      for (let i = 0; i < 15; i++) rounds.push(await round());
      for (const { decision, admit } of rounds) {
        expect(decision).toMatchObject({ allowed: true, outcome: 'unavailable', fallback: 'local' });
        expect(admit.fallback).toBe('local');
      }
      // The first decisions wait out the 500 ms command timeout (one per store); after that the stores know Redis
      // is down and skip it at once, while a background PING probes it.
      expect(rounds[0]?.tookMs).toBeLessThan(1500);
      for (const later of rounds.slice(1)) expect(later.tookMs).toBeLessThan(200);
      // Calls through the client are paced by the local fallback, never held by the dead connection.
      for (const { callMs } of rounds) expect(callMs).toBeLessThan(2500);
      expect(limitStore.stats()).toMatchObject({ down: true, outages: 1 });
    } finally {
      redis.process.kill('SIGCONT');
    }
    const back = await roundsUntil((last) => last.decision.outcome === 'allowed' && !last.admit.fallback, 5000);
    expect(back.at(-1)?.decision.outcome).toBe('allowed');
    expect(back.at(-1)?.admit.fallback).toBeUndefined();
    expect(limitStore.stats()).toMatchObject({ down: false, outages: 1 });
  }, 60_000);

  it('a Redis that dies and restarts empty (SIGKILL): fallback at once, back to Redis by itself', async () => {
    const before = (await limiter.peek('tenant')).remaining;
    await redis.stop();
    const down = [];
    for (let i = 0; i < 10; i++) down.push(await round());
    for (const { decision, admit, tookMs } of down) {
      expect(decision).toMatchObject({ outcome: 'unavailable', fallback: 'local' });
      expect(admit.fallback).toBe('local');
      // Refused connections fail at once.
      expect(tookMs).toBeLessThan(200);
    }
    // The fallback holds this process's share: 1000 / 2 instances.
    expect(down[0]?.decision.limit).toBe(500);

    await redis.restart();
    const back = await roundsUntil((last) => last.decision.outcome === 'allowed' && !last.admit.fallback, 5000);
    const last = back.at(-1);
    expect(last?.decision).toMatchObject({ allowed: true, outcome: 'allowed' });
    expect(last?.admit.fallback).toBeUndefined();
    // A new, empty Redis: its state starts over (and the scripts were loaded again after NOSCRIPT).
    expect(last?.decision.remaining).toBeGreaterThan(before);
    expect(budgets.stats()).toMatchObject({ down: false, pendingSettlements: 0 });
    // Each outage was logged and counted once per store, with its recovery.
    const limits = events.filter((event) => event.store === 'redis-limits').map((event) => event.state);
    expect(limits).toEqual(['down', 'up', 'down', 'up']);
    expect(limitStore.stats().outages).toBe(2);
  }, 60_000);
});
