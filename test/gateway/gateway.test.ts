import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/config/load.js';
import { type Gateway, startGateway } from '../../src/gateway/server.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (request: IncomingMessage, body: string, response: import('node:http').ServerResponse) => void;

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()?.();
});

/** A real upstream on loopback that records what it was sent and answers with `handler` (200 JSON by default). */
async function startUpstream(handler?: Handler): Promise<{ url: string; seen: Seen[]; sockets: Set<Socket> }> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      if (handler) handler(request, body, response);
      else {
        response.writeHead(200, {
          'content-type': 'application/json',
          connection: 'keep-alive, x-internal',
          'x-internal': 'hop',
        });
        response.end(JSON.stringify({ ok: true }));
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, sockets };
}

async function startWith(input: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<Gateway> {
  const config = normalizeConfig({ listen: { host: '127.0.0.1', port: 0 }, ...input });
  const gateway = await startGateway({ config, env, admin: false });
  closers.push(() => gateway.close(100));
  return gateway;
}

async function call(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Sends a raw request line (for forms fetch will not produce: absolute-form targets, CONNECT). */
function raw(gatewayUrl: string, text: string): Promise<string> {
  const { port } = new URL(gatewayUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
    });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.setTimeout(5000, () => {
      socket.destroy();
      resolve(answer);
    });
  });
}

describe('the gateway proxies /<upstream>/<rest>', () => {
  it('sends method, path, query and body to the upstream and streams the reply back', async () => {
    const upstream = await startUpstream();
    const gateway = await startWith({ upstreams: { api: { url: `${upstream.url}/v2` } } });
    const answer = await call(`${gateway.url}/api/items/42?page=2&q=a%20b`, {
      method: 'POST',
      body: '{"name":"x"}',
      headers: { 'content-type': 'application/json', 'x-sluice-priority': '3', 'x-custom': 'kept' },
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ ok: true });
    expect(upstream.seen).toHaveLength(1);
    const [seen] = upstream.seen;
    expect(seen?.method).toBe('POST');
    expect(seen?.url).toBe('/v2/items/42?page=2&q=a%20b');
    expect(seen?.body).toBe('{"name":"x"}');
    expect(seen?.headers.host).toBe(new URL(upstream.url).host);
    expect(seen?.headers['x-custom']).toBe('kept');
    // Caller instructions and internal addresses never reach the upstream.
    expect(Object.keys(seen?.headers ?? {}).filter((name) => name.startsWith('x-sluice-'))).toEqual([]);
    expect(seen?.headers['x-forwarded-for']).toBeUndefined();
    // Hop-by-hop fields of the upstream's connection are not passed on.
    expect(answer.headers.get('x-internal')).toBeNull();
  });

  it('adds X-Forwarded-* only when configured', async () => {
    const upstream = await startUpstream();
    const gateway = await startWith({ forwardedHeaders: true, upstreams: { api: { url: upstream.url } } });
    await call(`${gateway.url}/api/x`);
    expect(upstream.seen[0]?.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(upstream.seen[0]?.headers['x-forwarded-proto']).toBe('http');
  });

  it('sets the configured User-Agent and headers', async () => {
    const upstream = await startUpstream();
    const gateway = await startWith({
      upstreams: {
        api: {
          url: upstream.url,
          userAgent: 'acme-sluice/1.0',
          headers: { set: { accept: 'application/vnd.api+json' }, remove: ['cookie'] },
        },
      },
    });
    await call(`${gateway.url}/api/x`, { headers: { cookie: 'session=1', 'user-agent': 'curl' } });
    expect(upstream.seen[0]?.headers['user-agent']).toBe('acme-sluice/1.0');
    expect(upstream.seen[0]?.headers.accept).toBe('application/vnd.api+json');
    expect(upstream.seen[0]?.headers.cookie).toBeUndefined();
  });
});

describe('the gateway is never an open proxy', () => {
  it('answers unknown upstreams, traversal and absolute targets with a problem, and refuses CONNECT', async () => {
    const upstream = await startUpstream();
    const gateway = await startWith({ upstreams: { api: { url: `${upstream.url}/base` } } });
    const unknown = await call(`${gateway.url}/nope/x`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toBe('application/problem+json');
    expect(unknown.json).toMatchObject({ type: 'urn:sluice:problem:unknown-upstream', status: 404 });
    expect(String(unknown.json?.detail)).toContain('"nope"');

    for (const path of ['/api/a/%2e%2e/%2e%2e/etc', '/api/a/..%2F..%2Fsecret', '/api/%252e%252e/x']) {
      const traversal = await raw(gateway.url, `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
      expect(traversal, path).toMatch(/^HTTP\/1\.1 400 /);
      expect(traversal).toContain('path-traversal');
    }
    const absolute = await raw(
      gateway.url,
      'GET http://example.com/ HTTP/1.1\r\nhost: example.com\r\nconnection: close\r\n\r\n',
    );
    expect(absolute).toMatch(/^HTTP\/1\.1 400 /);
    const tunnel = await raw(gateway.url, 'CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n');
    expect(tunnel).toMatch(/^HTTP\/1\.1 405 /);
    expect(upstream.seen).toHaveLength(0);
  });
});

describe('tenants and credentials', () => {
  const env = {
    TEAM_A_KEY: 'gateway-key-a',
    TEAM_B_KEY: 'gateway-key-b',
    TOKEN_A: 'upstream-secret-a',
    TOKEN_B: 'upstream-secret-b',
  };
  const config = (url: string) => ({
    tenants: { 'team-a': { keys: [{ env: 'TEAM_A_KEY' }] }, 'team-b': { keys: [{ env: 'TEAM_B_KEY' }] } },
    upstreams: {
      api: {
        url,
        credentials: {
          'team-a': { header: 'authorization', prefix: 'Bearer ', value: { env: 'TOKEN_A' } },
          'team-b': { query: 'api_key', value: { env: 'TOKEN_B' } },
        },
      },
    },
  });

  it('injects each tenant’s own credential, never another’s, and never shows it to callers', async () => {
    const upstream = await startUpstream((request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ auth: request.headers.authorization ?? null }));
    });
    const gateway = await startWith(config(upstream.url), env);
    const a = await call(`${gateway.url}/api/me`, {
      headers: { 'x-sluice-key': 'gateway-key-a', authorization: 'Bearer forged' },
    });
    expect(a.status).toBe(200);
    expect(upstream.seen[0]?.headers.authorization).toBe('Bearer upstream-secret-a');
    expect(upstream.seen[0]?.headers['x-sluice-key']).toBeUndefined();
    const b = await call(`${gateway.url}/api/me?api_key=stolen`, { headers: { 'x-sluice-key': 'gateway-key-b' } });
    expect(b.status).toBe(200);
    expect(upstream.seen[1]?.url).toBe('/me?api_key=upstream-secret-b');
    expect(upstream.seen[1]?.headers.authorization).toBeUndefined();
    // Each tenant has its own budget, keyed by its credential.
    const budgets = await gateway.pipelines.get('api')?.budgets();
    expect(Object.keys(budgets ?? {}).sort()).toEqual(['api|team-a', 'api|team-b']);
  });

  it('refuses callers without a key or with an unknown key', async () => {
    const upstream = await startUpstream();
    const gateway = await startWith(config(upstream.url), env);
    const missing = await call(`${gateway.url}/api/me`);
    expect(missing.status).toBe(401);
    expect(missing.json).toMatchObject({ type: 'urn:sluice:problem:missing-gateway-key' });
    const unknown = await call(`${gateway.url}/api/me`, { headers: { 'x-sluice-key': 'upstream-secret-a' } });
    expect(unknown.status).toBe(401);
    expect(unknown.text).not.toContain('upstream-secret-a');
    expect(upstream.seen).toHaveLength(0);
  });
});

describe('bad input and failing upstreams get clear, immediate answers', () => {
  it('refuses a request body over maxRequestBytes with 413', async () => {
    const upstream = await startUpstream();
    const gateway = await startWith({ upstreams: { api: { url: upstream.url, maxRequestBytes: 1000 } } });
    const answer = await call(`${gateway.url}/api/upload`, { method: 'PUT', body: 'x'.repeat(5000) });
    expect(answer.status).toBe(413);
    expect(answer.json).toMatchObject({ type: 'urn:sluice:problem:request-too-large' });
    expect(upstream.seen).toHaveLength(0);
  });

  it('refuses malformed x-sluice headers with 400', async () => {
    const upstream = await startUpstream();
    const gateway = await startWith({ upstreams: { api: { url: upstream.url } } });
    const answer = await call(`${gateway.url}/api/x`, { headers: { 'x-sluice-deadline-ms': 'soon' } });
    expect(answer.status).toBe(400);
    expect(String(answer.json?.detail)).toContain('x-sluice-deadline-ms');
  });

  it('answers 502 when the upstream cannot be reached, and keeps serving', async () => {
    const upstream = await startUpstream();
    const gateway = await startWith({
      upstreams: {
        dead: { url: 'http://127.0.0.1:9', retry: { attempts: 2, baseDelay: 1 } },
        api: { url: upstream.url },
      },
    });
    const dead = await call(`${gateway.url}/dead/x`);
    expect(dead.status).toBe(502);
    expect(dead.json).toMatchObject({ type: 'urn:sluice:problem:upstream-unreachable', upstream: 'dead' });
    expect((await call(`${gateway.url}/api/x`)).status).toBe(200);
  });

  it('answers 504 when the upstream does not answer in time', async () => {
    const upstream = await startUpstream(() => {
      // Never answers.
    });
    const gateway = await startWith({
      upstreams: { slow: { url: upstream.url, timeouts: { headers: 200 }, retry: { attempts: 1 } } },
    });
    const answer = await call(`${gateway.url}/slow/x`);
    expect(answer.status).toBe(504);
    expect(answer.json).toMatchObject({ type: 'urn:sluice:problem:upstream-timeout' });
  });

  it('passes garbage rate-limit headers through without failing', async () => {
    const upstream = await startUpstream((_request, _body, response) => {
      response.writeHead(200, {
        'x-ratelimit-remaining': 'NaN',
        'x-ratelimit-reset': '-1e309',
        'retry-after': 'tomorrow-ish',
        ratelimit: '";;;',
      });
      response.end('fine');
    });
    const gateway = await startWith({ upstreams: { api: { url: upstream.url } } });
    for (let index = 0; index < 3; index++) {
      const answer = await call(`${gateway.url}/api/x`);
      expect(answer.status).toBe(200);
      expect(answer.text).toBe('fine');
    }
  });

  it('answers 429 with Retry-After when the budget cannot serve a call before its deadline', async () => {
    const reset = Math.ceil(Date.now() / 1000) + 3600;
    const upstream = await startUpstream((_request, _body, response) => {
      response.writeHead(200, {
        'x-ratelimit-limit': '1',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(reset),
        'x-ratelimit-resource': 'core',
      });
      response.end('{}');
    });
    const gateway = await startWith({ upstreams: { gh: { url: upstream.url, dialect: 'github' } } });
    expect((await call(`${gateway.url}/gh/repos/a`)).status).toBe(200);
    const answer = await call(`${gateway.url}/gh/repos/b`, { headers: { 'x-sluice-deadline-ms': '2000' } });
    expect(answer.status).toBe(429);
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(3000);
    expect(answer.json).toMatchObject({ type: 'urn:sluice:problem:deadline', upstream: 'gh' });
    expect(upstream.seen).toHaveLength(1);
  });

  it('answers 503 with Retry-After while the breaker is open', async () => {
    const upstream = await startUpstream((_request, _body, response) => {
      response.writeHead(500);
      response.end('boom');
    });
    const gateway = await startWith({
      upstreams: {
        flaky: { url: upstream.url, retry: { attempts: 1 }, breaker: { consecutiveFailures: 2, openFor: '30s' } },
      },
    });
    expect((await call(`${gateway.url}/flaky/x`)).status).toBe(500);
    expect((await call(`${gateway.url}/flaky/x`)).status).toBe(500);
    const open = await call(`${gateway.url}/flaky/x`);
    expect(open.status).toBe(503);
    expect(open.json).toMatchObject({ type: 'urn:sluice:problem:circuit-open' });
    expect(Number(open.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(upstream.seen).toHaveLength(2);
  });
});

describe('several endpoints per upstream', () => {
  it('spreads calls by weight and ejects an endpoint that keeps failing', async () => {
    const first = await startUpstream();
    const second = await startUpstream();
    const gateway = await startWith({
      upstreams: {
        api: {
          endpoints: [{ url: first.url, weight: 3 }, { url: second.url, weight: 1 }, { url: 'http://127.0.0.1:9' }],
        },
      },
    });
    for (let index = 0; index < 40; index++) expect((await call(`${gateway.url}/api/x${index}`)).status).toBe(200);
    // The dead endpoint was tried, failed, ejected; the rest went 3:1.
    expect(first.seen.length).toBeGreaterThan(second.seen.length * 2);
    expect(first.seen.length + second.seen.length).toBeGreaterThanOrEqual(40);
  });
});

describe('graceful shutdown', () => {
  it('finishes calls in flight, and answers new ones with 503 while draining', async () => {
    let release: (() => void) | undefined;
    const upstream = await startUpstream((_request, _body, response) => {
      release = () => {
        response.writeHead(200);
        response.end('done');
      };
    });
    const gateway = await startWith({ upstreams: { api: { url: upstream.url } } });
    const pending = call(`${gateway.url}/api/slow`);
    while (!release) await new Promise((resolve) => setTimeout(resolve, 5));
    const closing = gateway.close(5000);
    expect(gateway.draining).toBe(true);
    const late = await new Promise<number>((resolve) => {
      const request = httpRequest(`${gateway.url}/api/late`, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', () => resolve(-1));
      request.end();
    });
    // A new connection is refused (-1) or, on a kept-alive one, answered 503.
    expect([503, -1]).toContain(late);
    release();
    expect((await pending).text).toBe('done');
    await closing;
  });
});

describe('inbound limits on the gateway’s callers', () => {
  it('limits each caller key, with RateLimit fields on every answer and a 429 problem past the limit', async () => {
    const upstream = await startUpstream();
    const gateway = await startWith(
      {
        tenants: { a: { keys: [{ env: 'KEY_A' }] }, b: { keys: [{ env: 'KEY_B' }] } },
        inbound: {
          rules: [{ name: 'per-key', by: 'key', limits: [{ algorithm: 'fixed-window', limit: 2, window: '1m' }] }],
        },
        upstreams: { api: { url: upstream.url } },
      },
      { KEY_A: 'key-a', KEY_B: 'key-b' },
    );
    const asA = { headers: { 'x-sluice-key': 'key-a' } };
    const first = await call(`${gateway.url}/api/x`, asA);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toMatch(/^"per-key";q=2;w=60$/);
    expect(first.headers.get('ratelimit')).toMatch(/^"per-key";r=1;t=\d+$/);
    expect((await call(`${gateway.url}/api/x`, asA)).status).toBe(200);
    const third = await call(`${gateway.url}/api/x`, asA);
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(third.headers.get('ratelimit')).toMatch(/^"per-key";r=0;t=\d+$/);
    expect(third.json).toMatchObject({ type: 'urn:sluice:problem:inbound-limit', status: 429 });
    // Another caller has its own allowance; the refused call never reached the upstream.
    expect((await call(`${gateway.url}/api/x`, { headers: { 'x-sluice-key': 'key-b' } })).status).toBe(200);
    expect(upstream.seen).toHaveLength(3);
  });
});
