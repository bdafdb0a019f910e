import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { type FastifyRateLimitOptions, rateLimit } from '../../src/middleware/fastify.js';
import { createManualClock } from '../../src/time.js';
import { createGate, type Gate, recordingStore, runMiddlewareSuite, START, send, type TestApp } from './support.js';

async function listen(app: FastifyInstance): Promise<TestApp> {
  await app.listen({ port: 0, host: '::' });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}

async function start(options: FastifyRateLimitOptions, gate: Gate, trustProxy = false): Promise<TestApp> {
  const app = Fastify({ trustProxy, forceCloseConnections: true });
  try {
    await app.register(rateLimit, options);
  } catch (error) {
    await app.close();
    throw error;
  }
  app.get('/hello', async () => 'hello');
  app.get('/hold', async () => {
    await gate.wait();
    return 'held';
  });
  return listen(app);
}

runMiddlewareSuite('Fastify', start);

describe('Fastify specifics', () => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('follows trustProxy: IPv6 clients behind the proxy are grouped by /64', async () => {
    const store = recordingStore();
    const limits = { algorithm: 'fixed-window', limit: 1, window: '1m' } as const;
    app = await start({ limits, store, clock: createManualClock(START) }, createGate(), true);
    const from = (address: string) => send(app!.port, '/hello', { headers: { 'x-forwarded-for': address } });
    expect((await from('2001:db8:1:2::a')).status).toBe(200);
    expect((await from('2001:db8:1:2:ffff:ffff:ffff:ffff')).status).toBe(429);
    expect((await from('2001:db8:1:3::a')).status).toBe(200);
    expect(store.keys).toEqual(['2001:db8:1:2::/64', '2001:db8:1:2::/64', '2001:db8:1:3::/64']);
  });

  it('registered in an encapsulated context, it limits only that context’s routes', async () => {
    const fastify = Fastify({ forceCloseConnections: true });
    fastify.get('/free', async () => 'free');
    await fastify.register(async (child) => {
      await child.register(rateLimit, {
        limits: { algorithm: 'fixed-window', limit: 1, window: '1m' },
        clock: createManualClock(START),
      });
      child.get('/limited', async () => 'limited');
    });
    app = await listen(fastify);
    expect((await send(app.port, '/limited')).status).toBe(200);
    expect((await send(app.port, '/limited')).status).toBe(429);
    const free = await send(app.port, '/free');
    expect(free.status).toBe(200);
    expect(free.headers.ratelimit).toBeUndefined();
  });

  it('a refusal skips the route handler', async () => {
    let handled = 0;
    const fastify = Fastify({ forceCloseConnections: true });
    await fastify.register(rateLimit, {
      limits: { algorithm: 'fixed-window', limit: 1, window: '1m' },
      clock: createManualClock(START),
    });
    fastify.get('/count', async () => {
      handled++;
      return 'counted';
    });
    app = await listen(fastify);
    await send(app.port, '/count');
    await send(app.port, '/count');
    expect(handled).toBe(1);
  });
});
