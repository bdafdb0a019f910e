import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.js';
import { createLimiter } from '../../src/limits/limiter.js';
import type { LimitStore, StoreRequest } from '../../src/limits/store.js';
import type { PolicyOptions } from '../../src/limits/types.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import { createManualClock } from '../../src/time.js';
import { runConformanceSuite } from './conformance.js';
import { httpStore, type StoreServer, serveStore } from './support/http-store.js';

const START = 1_699_920_000_000;
const tenPerMinute: PolicyOptions = { algorithm: 'fixed-window', limit: 10, window: '1m' };

// The same table through a store that is only reachable asynchronously, over a real connection.
let conformanceServer: StoreServer | undefined;
runConformanceSuite('memory behind HTTP (the asynchronous path)', async () => {
  conformanceServer = await serveStore(createMemoryStore());
  const store = httpStore(conformanceServer.url);
  return { ...store, close: () => conformanceServer?.stop() ?? Promise.resolve() };
});

describe('when the store cannot answer', () => {
  let server: StoreServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function outage(
    options: Parameters<typeof createLimiter>[1],
    policies: PolicyOptions | PolicyOptions[] = tenPerMinute,
  ) {
    const clock = createManualClock(START);
    const backend = createMemoryStore();
    server = await serveStore(backend);
    const limiter = createLimiter(policies, { store: httpStore(server.url), clock, ...options });
    return { limiter, clock, server };
  }

  it("'closed' refuses, says 'unavailable' (never 'limited') and recovers by itself", async () => {
    const { limiter, server } = await outage({ onStoreError: 'closed', unavailableRetryAfterMs: 250 });
    expect(await limiter.take('k', { cost: 4 })).toMatchObject({ allowed: true, outcome: 'allowed', remaining: 6 });
    await server.stop();
    const decision = await limiter.take('k');
    expect(decision).toMatchObject({ allowed: false, outcome: 'unavailable', fallback: 'closed', retryAfterMs: 250 });
    expect(String(decision.error)).toMatch(/fetch failed|ECONNREFUSED/);
    await server.start();
    // The outage charged nothing to the shared state.
    expect(await limiter.take('k')).toMatchObject({ allowed: true, outcome: 'allowed', remaining: 5 });
  });

  it("'open' admits, says 'unavailable', and hands out a lease that releases as not held", async () => {
    const { limiter, server, clock } = await outage({ onStoreError: 'open', leaseMs: 5000 }, [
      { algorithm: 'concurrency', limit: 1 },
    ]);
    await server.stop();
    const decision = await limiter.take('k');
    expect(decision).toMatchObject({ allowed: true, outcome: 'unavailable', fallback: 'open', retryAfterMs: 0 });
    expect(decision.lease?.expiresAtEpochMs).toBe(clock.now() + 5000);
    expect(await limiter.release('k', decision.lease!)).toBe('not-held');
  });

  it("'local' decides with an in-process limiter holding localShare of each limit", async () => {
    const { limiter, server } = await outage({ onStoreError: 'local', localShare: 0.3 });
    await server.stop();
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.take('k'));
    // floor(10 × 0.3) = 3 admitted locally, then refused: still 'unavailable', with a real wait.
    expect(decisions.map((decision) => [decision.allowed, decision.outcome, decision.fallback])).toEqual([
      [true, 'unavailable', 'local'],
      [true, 'unavailable', 'local'],
      [true, 'unavailable', 'local'],
      [false, 'unavailable', 'local'],
    ]);
    expect(decisions[3]).toMatchObject({ limit: 3, remaining: 0, retryAfterMs: 60_000 });
    await server.start();
    expect(await limiter.take('k')).toMatchObject({ allowed: true, outcome: 'allowed', remaining: 9 });
  });

  it('releases a lease the local fallback gave, after the store is back', async () => {
    const { limiter, server } = await outage({ onStoreError: 'local' }, { algorithm: 'concurrency', limit: 1 });
    await server.stop();
    const held = await limiter.take('k');
    expect(held).toMatchObject({ allowed: true, outcome: 'unavailable', fallback: 'local' });
    expect((await limiter.take('k')).allowed).toBe(false);
    await server.start();
    expect(await limiter.release('k', held.lease!)).toBe('released');
    await server.stop();
    expect((await limiter.take('k')).allowed).toBe(true);
  });

  it("says 'unavailable' for a release, and rejects a reset, while the store is down", async () => {
    const { limiter, server } = await outage({}, { algorithm: 'concurrency', limit: 2 });
    const held = await limiter.take('k');
    await server.stop();
    expect(await limiter.release('k', held.lease!)).toBe('unavailable');
    const reset = limiter.reset('k');
    await expect(reset).rejects.toBeInstanceOf(SluiceError);
    await expect(reset).rejects.toMatchObject({ code: 'ERR_SLUICE_STORE_UNAVAILABLE' });
  });

  it('treats a store that answers nonsense as unavailable', async () => {
    const broken: LimitStore = { evaluate: async () => [] };
    const decision = await createLimiter(tenPerMinute, { store: broken, onStoreError: 'closed' }).take('k');
    expect(decision).toMatchObject({ allowed: false, outcome: 'unavailable' });
    expect(decision.error).toMatchObject({ code: 'ERR_SLUICE_STORE_PROTOCOL' });
    const throwing: LimitStore = {
      evaluate: () => Promise.reject(new Error('never')),
      evaluateSync: () => {
        throw new Error('down');
      },
    };
    expect(await createLimiter(tenPerMinute, { store: throwing, onStoreError: 'open' }).take('k')).toMatchObject({
      allowed: true,
      outcome: 'unavailable',
      fallback: 'open',
    });
  });
});

describe('time', () => {
  it('sends the injected clock with every request, and lets the store use its own clock otherwise', async () => {
    const seen: StoreRequest[] = [];
    const inner = createMemoryStore();
    const recording: LimitStore = {
      evaluate: (request) => {
        seen.push(request);
        return inner.evaluate(request);
      },
    };
    const clock = createManualClock(START);
    await createLimiter(tenPerMinute, { store: recording, clock }).take('a');
    await createLimiter(tenPerMinute, { store: recording }).take('b');
    expect(seen.map((request) => request.nowEpochMs)).toEqual([START, undefined]);
  });
});

describe('decisions', () => {
  it('report the longest delay of the leaky buckets that admitted', async () => {
    const clock = createManualClock(START);
    const limiter = createLimiter(
      [
        { algorithm: 'leaky-bucket', limit: 10, window: '1s', burst: 5 },
        { algorithm: 'leaky-bucket', limit: 5, window: '1s', burst: 5 },
      ],
      { clock },
    );
    await limiter.take('k');
    // Second request: excess 1 on both; held 100 ms by the first, 200 ms by the second.
    expect((await limiter.take('k')).delayMs).toBe(200);
  });

  it('give a concurrency lease that frees its slot when the holder never releases it', async () => {
    const clock = createManualClock(START);
    const limiter = createLimiter({ algorithm: 'concurrency', limit: 1, lease: '30s' }, { clock });
    const held = await limiter.take('k');
    expect(held.lease?.expiresAtEpochMs).toBe(START + 30_000);
    expect(await limiter.take('k')).toMatchObject({ allowed: false, retryAfterMs: 30_000 });
    clock.advance(30_000);
    expect((await limiter.take('k')).allowed).toBe(true);
  });
});

describe('a synchronous store that answers nonsense', () => {
  it('gives an unavailable decision, never a thrown call', async () => {
    const nonsense = { evaluate: async () => [], evaluateSync: () => undefined as never };
    const limiter = createLimiter(tenPerMinute, { store: nonsense, onStoreError: 'closed' });
    const decision = await limiter.take('k');
    expect(decision).toMatchObject({ allowed: false, outcome: 'unavailable', fallback: 'closed' });
    expect(decision.error).toMatchObject({ code: 'ERR_SLUICE_STORE_PROTOCOL' });
  });
});
