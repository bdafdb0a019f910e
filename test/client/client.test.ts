import { getGlobalDispatcher, setGlobalDispatcher, fetch as undiciFetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type SluiceClient } from '../../src/client/create-client.js';
import { CallFailedError } from '../../src/pipeline/errors.js';
import { createManualClock } from '../../src/time.js';
import { drive } from '../support/drive.js';
import { type LimitedUpstream, startLimitedUpstream } from '../support/limited-upstream.js';

const T0 = 1_700_000_000_000;
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (opened.length) await opened.pop()?.close();
});

async function setup(options: { limit: number; windowMs: number; rejectStatus?: number }, client: object = {}) {
  const clock = createManualClock(T0);
  const upstream = await startLimitedUpstream({ clock, ...options });
  const sluice = createClient({ baseUrl: upstream.url, dialect: 'github', clock, ...client });
  opened.push(upstream, sluice);
  return { clock, upstream, client: sluice };
}

const bodies = (responses: Response[]) => Promise.all(responses.map((response) => response.json()));

describe('createClient().fetch', () => {
  it('paces calls to the limit the upstream announces, so none is rejected', async () => {
    const { clock, upstream, client } = await setup({ limit: 5, windowMs: 1000 });
    const responses = await drive(
      clock,
      Promise.all(Array.from({ length: 14 }, (_, index) => client.fetch(`/items/${index}`))),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(14).fill(200));
    expect(upstream.rejected).toBe(0);
    expect(upstream.accepted).toBe(14);
    // 14 calls at 5 per window need at least three windows: the first call, then two full resets.
    expect(clock.now() - T0).toBeGreaterThanOrEqual(2000);
    expect(responses[0]).toBeInstanceOf(Response);
    const [first] = await bodies(responses);
    expect(first).toEqual({ ok: true, path: '/items/0' });
  });

  it('appends paths to the base path and keeps the query', async () => {
    const { clock, upstream } = await setup({ limit: 100, windowMs: 1000 });
    const client = createClient({ baseUrl: `${upstream.url}/api/v3/`, clock });
    opened.push(client);
    await drive(clock, client.fetch('repos/a?page=2'));
    await drive(clock, client.fetch(`${upstream.url}/api/v3/users/b`));
    expect(upstream.requests.map((request) => request.path)).toEqual(['/api/v3/repos/a?page=2', '/api/v3/users/b']);
    await expect(client.fetch(`${upstream.url}/other/place`)).rejects.toThrow(/is not under this client's base URL/);
    await expect(client.fetch('../../escape')).rejects.toThrow(/is not under this client's base URL/);
  });

  it('retries a 429 after the Retry-After the upstream states, and pauses other callers too', async () => {
    const { clock, upstream, client } = await setup({ limit: 100, windowMs: 60_000 });
    upstream.script.push({ status: 429, headers: { 'retry-after': '3' }, body: '{}' });
    const first = client.fetch('/a');
    const both = Promise.all([first, drive(clock, Promise.resolve()).then(() => client.fetch('/b'))]);
    const responses = await drive(clock, both);
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    const [rejectedAt, ...others] = upstream.requests.map((request) => request.atEpochMs);
    // Every request after the 429 waited for the stated 3 s.
    for (const at of others) expect(at - (rejectedAt as number)).toBeGreaterThanOrEqual(3000);
    expect(responses[0]?.headers.get('x-sluice-attempts')).toBe('2');
  });

  it('retries POST on 429 (not processed) but not on 500 (unknown outcome) without an Idempotency-Key', async () => {
    const { clock, upstream, client } = await setup({ limit: 100, windowMs: 60_000 });
    upstream.script.push({ status: 429, headers: { 'retry-after': '1' } });
    const throttled = await drive(clock, client.fetch('/llm', { method: 'POST', body: '{"prompt":"hi"}' }));
    expect(throttled.status).toBe(200);
    expect(upstream.requests.map((request) => request.body)).toEqual(['{"prompt":"hi"}', '{"prompt":"hi"}']);

    upstream.script.push({ status: 500 });
    const failed = await drive(clock, client.fetch('/orders', { method: 'POST', body: 'x' }));
    expect(failed.status).toBe(500);
    expect(upstream.requests).toHaveLength(3);

    upstream.script.push({ status: 500 });
    const keyed = await drive(
      clock,
      client.fetch('/orders', { method: 'POST', body: 'x', headers: { 'idempotency-key': 'order-1' } }),
    );
    expect(keyed.status).toBe(200);
    expect(upstream.requests).toHaveLength(5);
    expect(upstream.requests[4]?.headers['idempotency-key']).toBe('order-1');
  });

  it('adds an Idempotency-Key to POSTs when asked, the same on every attempt', async () => {
    const { clock, upstream, client } = await setup(
      { limit: 100, windowMs: 60_000 },
      { retry: { idempotencyKey: true } },
    );
    upstream.script.push({ status: 502 });
    const response = await drive(clock, client.fetch('/charges', { method: 'POST', body: 'amount=1' }));
    expect(response.status).toBe(200);
    const keys = upstream.requests.map((request) => request.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
  });

  it('fails at once with a typed error when the budget cannot serve a call before its deadline', async () => {
    const { clock, client, upstream } = await setup({ limit: 1, windowMs: 3_600_000 });
    await drive(clock, client.fetch('/first'));
    const error = await drive(clock, client.fetch('/second', { sluice: { deadlineMs: 5000 } })).catch((e) => e);
    expect(error).toBeInstanceOf(CallFailedError);
    expect(error.reason).toBe('deadline');
    expect(error.status).toBe(429);
    expect(error.retryAfterMs).toBeGreaterThan(3_000_000);
    expect(upstream.requests).toHaveLength(1);
  });

  it('hands error replies on whole, empty bodies included', async () => {
    const { clock, upstream, client } = await setup({ limit: 100, windowMs: 60_000 }, { retry: { attempts: 1 } });
    upstream.script.push({ status: 404, headers: { 'content-type': 'application/json' }, body: '' });
    upstream.script.push({ status: 400, headers: { 'content-type': 'application/json' }, body: '{"error":"bad"}' });
    const empty = await drive(clock, client.fetch('/missing'));
    expect(empty.status).toBe(404);
    expect(await empty.text()).toBe('');
    const bad = await drive(clock, client.fetch('/bad'));
    expect(await bad.json()).toEqual({ error: 'bad' });
  });

  it('stops waiting when the caller aborts', async () => {
    const { clock, client } = await setup({ limit: 1, windowMs: 10_000 });
    await drive(clock, client.fetch('/first'));
    const controller = new AbortController();
    const waiting = client.fetch('/second', { signal: controller.signal }).catch((e) => e);
    await clock.advanceAsync(10);
    controller.abort();
    const error = await waiting;
    expect(error).toBeInstanceOf(CallFailedError);
    expect(error.reason).toBe('aborted');
  });

  it('rejects bad options with errors naming each option, as the gateway config does', () => {
    expect(() => createClient({ baseUrl: 'not a url' })).toThrow(
      /createClient\.baseUrl: expected an absolute http\(s\) URL/,
    );
    expect(() => createClient({ baseUrl: 'ftp://example.com' })).toThrow(/createClient\.baseUrl: expected an http/);
    expect(() => createClient({ baseUrl: 'https://user:secret@example.com' })).toThrow(/must not contain credentials/);
    expect(() => createClient({ baseUrl: 'https://user:secret@example.com' })).not.toThrow(/secret/);
    expect(() => createClient({ baseUrl: 'https://example.com', retry: { attempts: 0 } })).toThrow(
      /createClient\.retry\.attempts: expected a positive integer, got 0/,
    );
  });
});

describe('createClient().dispatcher', () => {
  let client: SluiceClient;
  let upstream: LimitedUpstream;

  it('runs undici fetch with { dispatcher } through the pipeline', async () => {
    const setupResult = await setup({ limit: 3, windowMs: 1000 });
    client = setupResult.client;
    upstream = setupResult.upstream;
    upstream.script.push({ status: 429, headers: { 'retry-after': '1' } });
    const responses = await drive(
      setupResult.clock,
      Promise.all(
        Array.from({ length: 7 }, (_, index) =>
          undiciFetch(`${upstream.url}/d/${index}`, {
            dispatcher: client.dispatcher,
            headers: { 'x-sluice-priority': '2' },
          }),
        ),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(7).fill(200));
    expect(upstream.rejected).toBe(0);
    // The scripted 429 was retried by the pipeline, and x-sluice-* headers never reach the upstream.
    expect(upstream.requests).toHaveLength(8);
    expect(upstream.requests.every((request) => request.headers['x-sluice-priority'] === undefined)).toBe(true);
    // Diagnostics come back through the dispatcher as through fetch.
    expect(responses.filter((response) => response.headers.get('x-sluice-attempts') === '2')).toHaveLength(1);
    expect(await responses[0]?.json()).toMatchObject({ ok: true });
  });

  it('serves Node global fetch through setGlobalDispatcher, and passes other origins through', async () => {
    const setupResult = await setup({ limit: 100, windowMs: 1000 });
    const other = await startLimitedUpstream({ clock: setupResult.clock, limit: 100, windowMs: 1000 });
    opened.push(other);
    setupResult.upstream.script.push({ status: 503, headers: { 'retry-after': '1' } });
    const previous = getGlobalDispatcher();
    setGlobalDispatcher(setupResult.client.dispatcher);
    try {
      const paced = await drive(setupResult.clock, fetch(`${setupResult.upstream.url}/global`));
      expect(paced.status).toBe(200);
      expect(setupResult.upstream.requests).toHaveLength(2);
      const passed = await drive(setupResult.clock, fetch(`${other.url}/elsewhere`));
      expect(passed.status).toBe(200);
      expect(other.requests).toHaveLength(1);
    } finally {
      setGlobalDispatcher(previous);
    }
  });
});
