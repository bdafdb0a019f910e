import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/config/load.js';
import { type Gateway, startGateway } from '../../src/gateway/server.js';
import { hasRedis, redisUrl } from '../support/redis.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()?.();
});

async function upstream(answer: (count: number) => { status: number; headers?: Record<string, string> }) {
  let count = 0;
  const server: Server = createServer((_request, response) => {
    const { status, headers } = answer(++count);
    response.writeHead(status, headers);
    response.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => count };
}

async function gateway(input: Record<string, unknown>, keyPrefix: string): Promise<Gateway> {
  const config = normalizeConfig({
    listen: { host: '127.0.0.1', port: 0 },
    store: { redis: { url: redisUrl, keyPrefix } },
    ...input,
  });
  const started = await startGateway({ config, admin: false, env: { KEY_A: 'key-a' } });
  closers.push(() => started.close(100));
  return started;
}

describe.skipIf(!hasRedis)('gateways sharing one Redis', () => {
  it('pause together: a 429 one gateway saw holds back the calls of another', async () => {
    const keyPrefix = `sluice-test:gw-share:${process.pid}:${Date.now()}:`;
    const api = await upstream((count) =>
      count === 1 ? { status: 429, headers: { 'retry-after': '30' } } : { status: 200 },
    );
    const input = { upstreams: { api: { url: api.url, retry: { attempts: 1 } } } };
    const first = await gateway(input, keyPrefix);
    const second = await gateway(input, keyPrefix);
    expect((await fetch(`${first.url}/api/x`)).status).toBe(429);
    const held = await fetch(`${second.url}/api/x`, { headers: { 'x-sluice-deadline-ms': '2000' } });
    expect(held.status).toBe(429);
    expect(await held.json()).toMatchObject({ type: 'urn:sluice:problem:deadline' });
    expect(Number(held.headers.get('retry-after'))).toBeGreaterThanOrEqual(28);
    expect(api.calls()).toBe(1);
  });

  it('count inbound limits together', async () => {
    const keyPrefix = `sluice-test:gw-inbound:${process.pid}:${Date.now()}:`;
    const api = await upstream(() => ({ status: 200 }));
    const input = {
      tenants: { a: { keys: [{ env: 'KEY_A' }] } },
      inbound: { rules: [{ by: 'key', limits: [{ algorithm: 'fixed-window', limit: 2, window: '1m' }] }] },
      upstreams: { api: { url: api.url } },
    };
    const first = await gateway(input, keyPrefix);
    const second = await gateway(input, keyPrefix);
    const headers = { 'x-sluice-key': 'key-a' };
    expect((await fetch(`${first.url}/api/x`, { headers })).status).toBe(200);
    expect((await fetch(`${second.url}/api/x`, { headers })).status).toBe(200);
    expect((await fetch(`${first.url}/api/x`, { headers })).status).toBe(429);
    expect(api.calls()).toBe(2);
  });
});
