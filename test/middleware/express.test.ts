import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { clientAddressKey } from '../../src/inbound/address.js';
import { type ExpressRateLimitOptions, rateLimit } from '../../src/middleware/express.js';
import { createManualClock } from '../../src/time.js';
import { createGate, type Gate, recordingStore, runMiddlewareSuite, START, send, type TestApp } from './support.js';

function listen(app: express.Express): Promise<TestApp> {
  return new Promise((resolve, reject) => {
    const server: Server = app.listen(0, '::', (error?: Error) => {
      if (error) reject(error);
      else
        resolve({
          port: (server.address() as AddressInfo).port,
          close: () =>
            new Promise<void>((done) => {
              server.closeAllConnections();
              server.close(() => done());
            }),
        });
    });
  });
}

async function start(options: ExpressRateLimitOptions, gate: Gate, trustProxy?: string): Promise<TestApp> {
  const app = express();
  if (trustProxy) app.set('trust proxy', trustProxy);
  app.use(rateLimit(options));
  app.get('/hello', (_request, response) => {
    response.send('hello');
  });
  app.get('/hold', async (_request, response) => {
    await gate.wait();
    response.send('held');
  });
  return listen(app);
}

runMiddlewareSuite('Express', start);

describe('Express specifics', () => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it("follows 'trust proxy': IPv6 clients behind the proxy are grouped by /64", async () => {
    const store = recordingStore();
    const options = { limits: { algorithm: 'fixed-window', limit: 1, window: '1m' } as const, store };
    app = await start({ ...options, clock: createManualClock(START) }, createGate(), 'loopback');
    const from = (address: string) => send(app!.port, '/hello', { headers: { 'x-forwarded-for': address } });
    expect((await from('2001:db8:1:2::a')).status).toBe(200);
    expect((await from('2001:db8:1:2:ffff:ffff:ffff:ffff')).status).toBe(429);
    expect((await from('2001:db8:1:3::a')).status).toBe(200);
    expect((await from('203.0.113.7')).status).toBe(200);
    expect(store.keys).toEqual(['2001:db8:1:2::/64', '2001:db8:1:2::/64', '2001:db8:1:3::/64', '203.0.113.7']);
  });

  it('does not touch routes registered before it, and a key function may be async', async () => {
    const express5 = express();
    express5.get('/free', (_request, response) => {
      response.send('free');
    });
    express5.use(
      rateLimit({
        limits: { algorithm: 'fixed-window', limit: 1, window: '1m' },
        clock: createManualClock(START),
        key: async (request) => clientAddressKey(request.get('x-user')) ?? request.get('x-user'),
      }),
    );
    express5.get('/hello', (_request, response) => {
      response.send('hello');
    });
    app = await listen(express5);
    const port = app.port;
    expect((await send(port, '/free')).headers.ratelimit).toBeUndefined();
    expect((await send(port, '/hello', { headers: { 'x-user': 'ada' } })).status).toBe(200);
    expect((await send(port, '/hello', { headers: { 'x-user': 'ada' } })).status).toBe(429);
    expect((await send(port, '/hello', { headers: { 'x-user': 'grace' } })).status).toBe(200);
    expect((await send(port, '/free')).status).toBe(200);
  });
});
