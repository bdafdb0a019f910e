import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/create-client.js';
import { CallFailedError } from '../../src/pipeline/errors.js';
import { createManualClock } from '../../src/time.js';
import { drive } from '../support/drive.js';
import { deferred, startUpstream } from './support.js';

const T0 = 1_700_000_000_000;
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (opened.length) await opened.pop()?.close();
});

/** Waits for loopback I/O (not for time): polls until `condition` holds. */
/** Waits for something the loopback sockets will make true (a busy CI machine may take seconds). */
async function eventually(condition: () => boolean, withinMs = 15_000): Promise<void> {
  const giveUpAt = Date.now() + withinMs;
  while (!condition() && Date.now() < giveUpAt) await new Promise((resolve) => setTimeout(resolve, 2));
  expect(condition()).toBe(true);
}

/** An upstream that holds every answer until the test opens the gate. */
async function setup(client: object = {}, body = (path: string) => `reply for ${path}`) {
  const clock = createManualClock(T0);
  const gate = deferred();
  const upstream = await startUpstream(clock, async (request) => {
    await gate.promise;
    return { headers: { 'content-type': 'text/plain' }, body: body(request.path) };
  });
  const sluice = createClient({
    baseUrl: upstream.url,
    clock,
    coalesce: { enabled: true },
    retry: { attempts: 1 },
    ...client,
  });
  opened.push(upstream, sluice);
  return { clock, upstream, client: sluice, open: () => gate.resolve() };
}

describe('the coalescing stage', () => {
  it('identical GETs in flight share one upstream call; each caller gets its own copy', async () => {
    const { clock, upstream, client, open } = await setup();
    const calls = Array.from({ length: 5 }, () => client.fetch('/items/1', { headers: { accept: 'text/plain' } }));
    await eventually(() => upstream.requests.length === 1);
    open();
    const responses = await drive(clock, Promise.all(calls));
    // Each body is its own stream: reading one does not consume another.
    const bodies = await Promise.all(responses.map((response) => response.text()));
    expect(bodies).toEqual(Array(5).fill('reply for /items/1'));
    expect(responses.map((response) => response.status)).toEqual(Array(5).fill(200));
    expect(upstream.requests).toHaveLength(1);
  });

  it('keeps calls apart that differ in path, query, tenant or a header, and never merges writes', async () => {
    const { clock, upstream, client, open } = await setup();
    const calls = [
      client.fetch('/a'),
      client.fetch('/a', { headers: { 'x-request-id': 'one' } }), // tracing headers do not count
      client.fetch('/a?x=1'),
      client.fetch('/b'),
      client.fetch('/a', { sluice: { tenant: 't' } }),
      client.fetch('/a', { headers: { accept: 'application/json' } }),
      client.fetch('/a', { method: 'POST', body: 'x' }),
      client.fetch('/a', { method: 'POST', body: 'x' }),
    ];
    open();
    const responses = await drive(clock, Promise.all(calls));
    await Promise.all(responses.map((response) => response.text()));
    expect(upstream.requests).toHaveLength(7);
  });

  it('one caller aborting does not abort the others, nor the shared upstream call', async () => {
    const { clock, upstream, client, open } = await setup();
    const controllers = [new AbortController(), new AbortController(), new AbortController()];
    const calls = controllers.map((controller) =>
      client.fetch('/shared', { signal: controller.signal }).then(
        (response) => response.text(),
        (error: unknown) => error,
      ),
    );
    await eventually(() => upstream.requests.length === 1);
    // The first caller, whose call went upstream, goes away.
    controllers[0]?.abort();
    open();
    const [first, second, third] = await drive(clock, Promise.all(calls));
    expect(first).toBeInstanceOf(CallFailedError);
    expect((first as CallFailedError).reason).toBe('aborted');
    expect(second).toBe('reply for /shared');
    expect(third).toBe('reply for /shared');
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.abandoned).toHaveLength(0);
  });

  it('aborts the shared upstream call once every caller has gone', async () => {
    const { clock, upstream, client, open } = await setup();
    const controllers = [new AbortController(), new AbortController()];
    const calls = controllers.map((controller) =>
      client.fetch('/gone', { signal: controller.signal }).catch((error: unknown) => error),
    );
    await eventually(() => upstream.requests.length === 1);
    for (const controller of controllers) controller.abort();
    const errors = await drive(clock, Promise.all(calls));
    expect(errors.map((error) => (error as CallFailedError).reason)).toEqual(['aborted', 'aborted']);
    open();
    await eventually(() => upstream.abandoned.length === 1);
  });

  it('a caller that joined leaves at its own deadline; the others still get the reply', async () => {
    const { clock, upstream, client, open } = await setup();
    const patient = client.fetch('/slow');
    await eventually(() => upstream.requests.length === 1);
    const hurried = client.fetch('/slow', { sluice: { deadlineMs: 500 } }).catch((error: unknown) => error);
    const error = await drive(clock, hurried);
    expect(error).toBeInstanceOf(CallFailedError);
    expect((error as CallFailedError).reason).toBe('deadline');
    open();
    const response = await drive(clock, patient);
    expect(await response.text()).toBe('reply for /slow');
    expect(upstream.requests).toHaveLength(1);
  });

  it('a reply too large to copy goes to one caller as a stream; the others send their own calls', async () => {
    const big = 'y'.repeat(20_000);
    const { clock, upstream, client, open } = await setup({ coalesce: { maxBodyBytes: 1000 } }, () => big);
    const calls = Array.from({ length: 3 }, () => client.fetch('/big').then((response) => response.text()));
    await eventually(() => upstream.requests.length === 1);
    open();
    expect(await drive(clock, Promise.all(calls))).toEqual([big, big, big]);
    expect(upstream.requests).toHaveLength(3);
  });

  it('followers carry RFC 9211 "collapsed" in Cache-Status when the cache is on', async () => {
    const { clock, upstream, client, open } = await setup({ cache: { enabled: true } });
    const calls = Array.from({ length: 3 }, () => client.fetch('/c'));
    await eventually(() => upstream.requests.length === 1);
    open();
    const responses = await drive(clock, Promise.all(calls));
    expect(responses.map((response) => response.headers.get('cache-status'))).toEqual([
      'sluice; fwd=uri-miss; fwd-status=200',
      'sluice; fwd=uri-miss; fwd-status=200; collapsed',
      'sluice; fwd=uri-miss; fwd-status=200; collapsed',
    ]);
  });
});
