import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { clientAddressKey, type HonoRateLimitOptions, rateLimit } from '../../src/middleware/hono.js';
import { createManualClock } from '../../src/time.js';
import { type Gate, recordingStore, runMiddlewareSuite, START, send, type TestApp } from './support.js';

function listen(app: Hono): Promise<TestApp> {
  return new Promise((resolve) => {
    const server: ServerType = serve({ fetch: app.fetch, port: 0, hostname: '::' }, (info: AddressInfo) => {
      resolve({
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            if ('closeAllConnections' in server) server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

async function start(options: HonoRateLimitOptions, gate: Gate): Promise<TestApp> {
  const app = new Hono();
  app.use(rateLimit(options));
  app.get('/hello', (c) => c.text('hello'));
  app.get('/hold', async (c) => {
    await gate.wait();
    return c.text('held');
  });
  return listen(app);
}

runMiddlewareSuite('Hono', start);

describe('Hono specifics', () => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('the fields reach a Response the handler builds itself, and c.json replies', async () => {
    const hono = new Hono();
    hono.use(
      rateLimit({ limits: { algorithm: 'fixed-window', limit: 5, window: '1m' }, clock: createManualClock(START) }),
    );
    hono.get('/raw', () => new Response('raw', { headers: { 'x-own': 'yes' } }));
    hono.get('/json', (c) => c.json({ ok: true }));
    app = await listen(hono);
    const raw = await send(app.port, '/raw');
    expect([raw.body, raw.headers['x-own'], raw.headers.ratelimit]).toEqual(['raw', 'yes', '"default";r=4;t=60']);
    const json = await send(app.port, '/json');
    expect([json.body, json.headers.ratelimit]).toEqual(['{"ok":true}', '"default";r=3;t=60']);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
  });

  it('behind a proxy, a key function with clientAddressKey groups IPv6 callers by /64', async () => {
    const store = recordingStore();
    const hono = new Hono();
    hono.use(
      rateLimit({
        limits: { algorithm: 'fixed-window', limit: 1, window: '1m' },
        store,
        clock: createManualClock(START),
        key: (c) => clientAddressKey(c.req.header('x-forwarded-for')),
      }),
    );
    hono.get('/hello', (c) => c.text('hello'));
    app = await listen(hono);
    const from = (address: string) => send(app!.port, '/hello', { headers: { 'x-forwarded-for': address } });
    expect((await from('2001:db8:1:2::a')).status).toBe(200);
    expect((await from('2001:db8:1:2::b')).status).toBe(429);
    expect((await from('2001:db8:1:3::a')).status).toBe(200);
    expect(store.keys).toEqual(['2001:db8:1:2::/64', '2001:db8:1:2::/64', '2001:db8:1:3::/64']);
  });

  it('without Node bindings (another runtime) and without a key, it says to pass key', async () => {
    const hono = new Hono();
    hono.use(rateLimit({ limits: { algorithm: 'fixed-window', limit: 1, window: '1m' } }));
    hono.get('/hello', (c) => c.text('hello'));
    let error: unknown;
    hono.onError((caught, c) => {
      error = caught;
      return c.text('error', 500);
    });
    const response = await hono.request('/hello');
    expect(response.status).toBe(500);
    expect(String(error)).toContain('key: the client address is not known here');
  });
});
