import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type SluiceClient } from '../../src/client/create-client.js';
import { InvalidOptionError } from '../../src/errors.js';
import { type AdminServerOptions, createAdminServer, type Readiness } from '../../src/gateway/admin.js';
import type { BudgetsView } from '../../src/observability/budget-view.js';
import { createMetrics, type Metrics, type StatsView } from '../../src/observability/metrics.js';
import { startSimulator } from '../../src/simulator/server.js';
import { createManualClock, type ManualClock } from '../../src/time.js';
import { parseExposition } from '../observability/exposition.js';
import { drive } from '../support/drive.js';

const T0 = 1_700_000_000_000;
const TOKEN = 'admin-token-0123456789abcdef';
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (opened.length) await opened.pop()?.close();
});

interface Setup {
  url: string;
  clock: ManualClock;
  client: SluiceClient;
  metrics: Metrics;
}

async function setup(options: Partial<AdminServerOptions> = {}): Promise<Setup> {
  const clock = createManualClock(T0);
  const simulator = await startSimulator({ profile: 'github', limits: { limit: 50, window: '60s' }, clock });
  const client = createClient({ baseUrl: simulator.url, name: 'github', dialect: 'github', clock, tenant: 'acme' });
  const metrics = createMetrics({ clock });
  metrics.watch(client.pipeline);
  const admin = await createAdminServer({
    pipelines: new Map([['github', client.pipeline]]),
    metrics,
    clock,
    ...options,
  });
  opened.push(simulator, client, admin);
  return { url: admin.url, clock, client, metrics };
}

async function problemOf(response: Response) {
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const body = (await response.json()) as Record<string, unknown>;
  expect(body.status).toBe(response.status);
  expect(body.type).toMatch(/^urn:sluice:problem:/);
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  return body;
}

/** Sends raw bytes and returns what the server wrote back before closing (or after a short while). */
function rawRequest(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
    });
    socket.on('error', (error) => (answer ? resolve(answer) : reject(error)));
    socket.on('close', () => resolve(answer));
    socket.setTimeout(2000, () => socket.destroy());
  });
}

describe('admin listener: health, readiness, metrics', () => {
  it('answers /healthz while it runs, on GET and HEAD', async () => {
    const { url } = await setup();
    const response = await fetch(`${url}/healthz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ status: 'ok' });
    const head = await fetch(`${url}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('answers /readyz with 503 and the reason while starting or draining, 200 once ready', async () => {
    let state: Readiness = { ready: false, reason: 'starting: connecting to the store' };
    const { url } = await setup({ readiness: () => state });
    let response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(503);
    expect(await problemOf(response)).toMatchObject({
      detail: 'starting: connecting to the store',
      reason: 'starting: connecting to the store',
    });
    state = { ready: true };
    response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready' });
    state = { ready: false, reason: 'draining' };
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
  });

  it('treats a readiness check that throws as not ready', async () => {
    const { url } = await setup({
      readiness: () => {
        throw new Error('store check exploded');
      },
    });
    const response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(503);
    expect((await problemOf(response)).detail).toMatch(/readiness check failed: store check exploded/);
  });

  it('serves the Prometheus exposition on /metrics', async () => {
    const { url, clock, client } = await setup();
    await drive(clock, client.fetch('/repos/a'));
    await drive(clock, client.fetch('/repos/b'));
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const exposition = parseExposition(await response.text());
    expect(exposition.value('sluice_calls_total', { upstream: 'github', tenant: 'acme', status: '200' })).toBe(2);
    expect(exposition.value('sluice_budget_remaining', { budget: 'resource:core', limit: 'core' })).toBe(48);
  });
});

describe('admin listener: budgets and stats', () => {
  it('shows every budget of every upstream with its estimates, breaker and queue', async () => {
    const { url, clock, client } = await setup();
    for (let index = 0; index < 3; index++) await drive(clock, client.fetch(`/repos/${index}`));
    const response = await fetch(`${url}/budgets`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const view = (await response.json()) as BudgetsView;
    expect(view.generatedAtEpochMs).toBe(clock.now());
    expect(view.upstreams).toHaveLength(1);
    const [github] = view.upstreams;
    expect(github).toMatchObject({ upstream: 'github', breaker: 'closed', queue: { depth: 0, asking: 0 } });
    const core = github?.budgets.find((budget) => budget.budget === 'resource:core');
    expect(core).toMatchObject({
      tenant: 'acme',
      coolDownAfterMs: 0,
      coolDownUntilEpochMs: null,
      inFlight: { requests: 0 },
      queueDepth: 0,
    });
    expect(core?.limits).toEqual([
      expect.objectContaining({
        name: 'core',
        unit: 'requests',
        model: 'window',
        source: 'learned',
        limit: 50,
        remaining: 47,
        available: 47,
      }),
    ]);
    const [limit] = core?.limits ?? [];
    expect(limit?.resetAfterMs).toBe((limit?.resetAtEpochMs ?? 0) - clock.now());
  });

  it('serves the last minute per upstream on /stats', async () => {
    const { url, clock, client } = await setup();
    await drive(clock, client.fetch('/repos/a'));
    const stats = (await (await fetch(`${url}/stats`)).json()) as StatsView;
    expect(stats.windowMs).toBe(60_000);
    expect(stats.upstreams).toEqual([
      expect.objectContaining({ upstream: 'github', calls: 1, attempts: 1, upstreamRejections: 0 }),
    ]);
  });
});

describe('admin listener: actions', () => {
  it('refuses every action with 403 when no token is configured, saying how to configure one', async () => {
    let ran = false;
    const { url } = await setup({
      actions: {
        async reset() {
          ran = true;
        },
      },
    });
    const response = await fetch(`${url}/actions/reset`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status).toBe(403);
    expect((await problemOf(response)).detail).toMatch(/configure admin\.token/);
    expect(ran).toBe(false);
  });

  it('needs the token as a Bearer: 401 without it or with a wrong one, without saying which actions exist', async () => {
    const calls: unknown[] = [];
    const { url } = await setup({
      token: TOKEN,
      actions: {
        async reset(body) {
          calls.push(body);
          return { reset: true };
        },
      },
    });
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: TOKEN },
      { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` },
      { authorization: 'Bearer admin-token-0123456789abcdeX' },
      { authorization: 'Bearer admin-token' },
      { authorization: `Bearer ${TOKEN}${TOKEN}` },
    ];
    for (const headers of attempts) {
      for (const action of ['reset', 'no-such-action']) {
        const response = await fetch(`${url}/actions/${action}`, { method: 'POST', headers, body: '{}' });
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(JSON.stringify(await problemOf(response))).not.toContain('reset');
      }
    }
    expect(calls).toEqual([]);
  });

  it('runs an action with the right token, handing it the JSON body', async () => {
    const calls: unknown[] = [];
    const { url } = await setup({
      token: TOKEN,
      actions: {
        async pause(body) {
          calls.push(body);
          return { paused: (body as { upstream: string }).upstream };
        },
        async ping() {
          return undefined;
        },
      },
    });
    const authorization = `Bearer ${TOKEN}`;
    let response = await fetch(`${url}/actions/pause`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ upstream: 'github' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ action: 'pause', result: { paused: 'github' } });
    response = await fetch(`${url}/actions/ping`, { method: 'POST', headers: { authorization: `bearer  ${TOKEN} ` } });
    expect(await response.json()).toEqual({ action: 'ping', result: null });
    expect(calls).toEqual([{ upstream: 'github' }]);
  });

  it('answers bad action requests with problems: unknown, wrong method, bad JSON, too large', async () => {
    const { url } = await setup({ token: TOKEN, maxBodyBytes: 64, actions: { async noop() {} } });
    const authorization = `Bearer ${TOKEN}`;
    const post = (path: string, body?: string) =>
      fetch(`${url}${path}`, { method: 'POST', headers: { authorization }, body });

    let response = await post('/actions/nope');
    expect(response.status).toBe(404);
    expect((await problemOf(response)).detail).toMatch(/the actions are noop/);
    for (const name of ['constructor', '__proto__', 'toString', '..%2F..%2Fhealthz', '%E0%A4%A']) {
      expect((await post(`/actions/${name}`)).status).toBe(404);
    }
    response = await fetch(`${url}/actions/noop`, { headers: { authorization } });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    await problemOf(response);
    response = await post('/actions/noop', '{"not json');
    expect(response.status).toBe(400);
    expect((await problemOf(response)).detail).toMatch(/must be JSON/);
    response = await post('/actions/noop', JSON.stringify({ padding: 'x'.repeat(100) }));
    expect(response.status).toBe(413);
    await problemOf(response);
  });

  it('reports an action’s typed refusal as 4xx with its message, and hides other failures in the log', async () => {
    const chunks: string[] = [];
    const logger = pino(
      { level: 'error' },
      new Writable({
        write(chunk, _encoding, callback) {
          chunks.push(String(chunk));
          callback();
        },
      }),
    );
    const { url } = await setup({
      token: TOKEN,
      logger,
      actions: {
        async refuse() {
          throw new InvalidOptionError('upstream', 'expected one of github');
        },
        async explode() {
          throw new Error('internal detail: /var/lib/sluice/state.db locked');
        },
        async circular() {
          const value: Record<string, unknown> = {};
          value.self = value;
          return value;
        },
      },
    });
    const post = (name: string) =>
      fetch(`${url}/actions/${name}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    let response = await post('refuse');
    expect(response.status).toBe(400);
    expect(await problemOf(response)).toMatchObject({ detail: 'upstream: expected one of github', action: 'refuse' });
    response = await post('explode');
    expect(response.status).toBe(500);
    expect(JSON.stringify(await problemOf(response))).not.toContain('state.db');
    expect(chunks.join('')).toContain('state.db locked');
    response = await post('circular');
    expect(response.status).toBe(500);
    expect((await problemOf(response)).detail).toMatch(/not JSON/);
  });
});

describe('admin listener: everything else', () => {
  it('answers unknown routes with 404 and reads with other methods with 405, as problems', async () => {
    const { url } = await setup();
    for (const path of ['/nope', '/budgets/', '/metrics.json', '/actions', '/%2e%2e/etc/passwd']) {
      const response = await fetch(`${url}${path}`);
      expect(response.status, path).toBe(404);
      await problemOf(response);
    }
    const response = await fetch(`${url}/metrics`, { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    await problemOf(response);
  });

  it('survives garbage on the wire and keeps answering', async () => {
    const { url } = await setup();
    const answers = await Promise.all([
      rawRequest(url, 'NOT HTTP AT ALL\r\n\r\n'),
      rawRequest(url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'),
      rawRequest(url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`),
      rawRequest(
        url,
        'GET http://elsewhere.example/healthz HTTP/1.1\r\nHost: elsewhere.example\r\nConnection: close\r\n\r\n',
      ),
      rawRequest(url, 'GET //// HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      rawRequest(url, 'POST /actions/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'),
    ]);
    expect(answers[0]).toMatch(/^HTTP\/1\.1 400/);
    expect(answers[1]).toMatch(/^HTTP\/1\.1 400/);
    expect(answers[2]).toMatch(/^HTTP\/1\.1 431/);
    expect(answers[3]).toMatch(/^HTTP\/1\.1 200/);
    expect(answers[4]).toMatch(/^HTTP\/1\.1 400 [\s\S]*application\/problem\+json[\s\S]*invalid-target/);
    expect(answers[5]).toMatch(/^HTTP\/1\.1 (400|403)/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('refuses options it cannot work with, naming them', async () => {
    const metrics = createMetrics();
    const pipelines = new Map();
    await expect(createAdminServer({ pipelines, metrics, token: 'short' })).rejects.toThrow(
      /admin\.token: expected a string of at least 16 characters/,
    );
    await expect(createAdminServer({ pipelines: {} as never, metrics })).rejects.toThrow(/pipelines: expected a Map/);
    await expect(createAdminServer({ pipelines, metrics: {} as never })).rejects.toThrow(/metrics: expected/);
    await expect(createAdminServer({ pipelines, metrics, port: 70_000 })).rejects.toThrow(/admin\.port/);
    await expect(createAdminServer({ pipelines, metrics, actions: { 'a b': async () => 1 } })).rejects.toThrow(
      /actions\.a b/,
    );
    await expect(createAdminServer({ pipelines, metrics, readiness: true as never })).rejects.toThrow(/readiness/);
    await expect(createAdminServer(null as never)).rejects.toThrow(InvalidOptionError);
  });
});
