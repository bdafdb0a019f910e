import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type SluiceClient } from '../../src/client/create-client.js';
import type { CacheInput } from '../../src/config/economy.js';
import { CallFailedError } from '../../src/pipeline/errors.js';
import { createManualClock, type ManualClock } from '../../src/time.js';
import { drive } from '../support/drive.js';
import { type Answer, type Handler, type SeenRequest, startUpstream, type TestUpstream } from './support.js';

const T0 = 1_700_000_000_000;
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (opened.length) await opened.pop()?.close();
});

interface Setup {
  clock: ManualClock;
  upstream: TestUpstream;
  client: SluiceClient;
  get(path: string, init?: Parameters<SluiceClient['fetch']>[1]): Promise<{ response: Response; body: string }>;
}

async function setup(handler: Handler, cache: CacheInput = {}, client: object = {}): Promise<Setup> {
  const clock = createManualClock(T0);
  const upstream = await startUpstream(clock, handler);
  const sluice = createClient({ baseUrl: upstream.url, clock, cache: { enabled: true, ...cache }, ...client });
  opened.push(upstream, sluice);
  const get = async (path: string, init?: Parameters<SluiceClient['fetch']>[1]) => {
    const response = await drive(clock, sluice.fetch(path, init));
    return { response, body: await response.text() };
  };
  return { clock, upstream, client: sluice, get };
}

/** Answers `version N of <path>` and counts versions per path. */
function versioned(headers: (request: SeenRequest) => Record<string, string>): Handler {
  const versions = new Map<string, number>();
  return (request) => {
    const version = (versions.get(request.path) ?? 0) + 1;
    versions.set(request.path, version);
    return { headers: headers(request), body: `version ${version} of ${request.path}` };
  };
}

describe('the cache stage: freshness', () => {
  it('answers a fresh entry from the cache, with Age and Cache-Status, without going upstream', async () => {
    const { clock, upstream, get } = await setup(versioned(() => ({ 'cache-control': 'max-age=60' })));
    const first = await get('/items/1');
    expect(first.body).toBe('version 1 of /items/1');
    expect(first.response.headers.get('cache-status')).toBe('sluice; fwd=uri-miss; fwd-status=200; stored');
    await clock.advanceAsync(30_000);
    const second = await get('/items/1');
    expect(second.body).toBe('version 1 of /items/1');
    expect(second.response.headers.get('age')).toBe('30');
    expect(second.response.headers.get('cache-status')).toBe('sluice; hit; ttl=30');
    expect(upstream.requests).toHaveLength(1);
    await clock.advanceAsync(31_000);
    expect((await get('/items/1')).body).toBe('version 2 of /items/1');
    expect(upstream.requests).toHaveLength(2);
  });

  it('caches calls made through the undici dispatcher as well', async () => {
    const { clock, upstream, client } = await setup(versioned(() => ({ 'cache-control': 'max-age=60' })));
    const read = async () => {
      const response = await drive(
        clock,
        client.dispatcher.request({ origin: upstream.url, path: '/via', method: 'GET' }),
      );
      return response.body.text();
    };
    expect(await read()).toBe('version 1 of /via');
    expect(await read()).toBe('version 1 of /via');
    expect(upstream.requests).toHaveLength(1);
  });

  it('keeps different queries apart and does not cache replies that say no-store', async () => {
    const { upstream, get } = await setup(
      versioned((request) => ({ 'cache-control': request.path.includes('secret') ? 'no-store' : 'max-age=60' })),
    );
    await get('/items?page=1');
    expect((await get('/items?page=2')).body).toBe('version 1 of /items?page=2');
    expect((await get('/items?page=1')).body).toBe('version 1 of /items?page=1');
    await get('/secret');
    expect((await get('/secret')).body).toBe('version 2 of /secret');
    expect(upstream.requests.map((request) => request.path)).toEqual([
      '/items?page=1',
      '/items?page=2',
      '/secret',
      '/secret',
    ]);
  });

  it('uses the configured ttl for replies that state no freshness, per route first', async () => {
    const { clock, upstream, get } = await setup(
      versioned(() => ({})),
      {
        ttl: 10_000,
        routes: [
          { match: 'GET /live/**', enabled: false },
          { match: 'GET /slow/*', ttl: 60_000 },
        ],
      },
    );
    await get('/plain');
    await get('/live/feed');
    await get('/slow/thing');
    await clock.advanceAsync(5000);
    await get('/plain');
    await get('/live/feed');
    await get('/slow/thing');
    expect(upstream.requests.map((request) => request.path)).toEqual([
      '/plain',
      '/live/feed',
      '/slow/thing',
      '/live/feed',
    ]);
    await clock.advanceAsync(10_000);
    await get('/plain');
    await get('/slow/thing');
    expect(upstream.requests.slice(4).map((request) => request.path)).toEqual(['/plain']);
  });

  it('a route override replaces wrong cache headers', async () => {
    const { upstream, get } = await setup(
      versioned(() => ({ 'cache-control': 'private, max-age=0, must-revalidate' })),
      {
        routes: [{ match: 'GET /config', ttl: 60_000, override: true }],
      },
    );
    await get('/config');
    await get('/config');
    await get('/other');
    await get('/other');
    expect(upstream.requests.map((request) => request.path)).toEqual(['/config', '/other', '/other']);
  });

  it('honours the caller: no-cache revalidates, no-store bypasses, only-if-cached answers 504 on a miss', async () => {
    const { upstream, get } = await setup(versioned(() => ({ 'cache-control': 'max-age=60', etag: '"v"' })));
    await get('/a');
    const revalidated = await get('/a', { headers: { 'cache-control': 'no-cache' } });
    expect(revalidated.response.headers.get('cache-status')).toBe('sluice; fwd=request; fwd-status=200; stored');
    expect(upstream.requests[1]?.headers['if-none-match']).toBe('"v"');
    const bypassed = await get('/a', { headers: { 'cache-control': 'no-store' } });
    expect(bypassed.response.headers.get('cache-status')).toBe('sluice; fwd=request');
    expect(upstream.requests).toHaveLength(3);
    const onlyCached = await get('/never', { headers: { 'cache-control': 'only-if-cached' } });
    expect(onlyCached.response.status).toBe(504);
    expect(upstream.requests).toHaveLength(3);
  });

  it('serves HEAD from a stored GET, and answers the caller’s own If-None-Match with a 304', async () => {
    const { upstream, get } = await setup(versioned(() => ({ 'cache-control': 'max-age=60', etag: '"abc"' })));
    await get('/doc');
    const head = await get('/doc', { method: 'HEAD' });
    expect(head.response.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.response.headers.get('content-length')).toBe(String('version 1 of /doc'.length));
    const conditional = await get('/doc', { headers: { 'if-none-match': 'W/"abc"' } });
    expect(conditional.response.status).toBe(304);
    expect(upstream.requests).toHaveLength(1);
  });

  it('streams a body larger than maxEntryBytes untouched and does not store it', async () => {
    const big = 'x'.repeat(50_000);
    const { upstream, get } = await setup(() => ({ headers: { 'cache-control': 'max-age=60' }, body: big }), {
      maxEntryBytes: 10_000,
    });
    expect((await get('/big')).body).toBe(big);
    expect((await get('/big')).body).toBe(big);
    expect(upstream.requests).toHaveLength(2);
  });
});

describe('the cache stage: Vary and partitions', () => {
  it('selects the variant by the headers the reply varies on', async () => {
    const { upstream, get } = await setup((request) => ({
      headers: { 'cache-control': 'max-age=60', vary: 'Accept' },
      body: `as ${request.headers.accept}`,
    }));
    expect((await get('/doc', { headers: { accept: 'application/json' } })).body).toBe('as application/json');
    const otherAccept = await get('/doc', { headers: { accept: 'text/html' } });
    expect(otherAccept.body).toBe('as text/html');
    expect(otherAccept.response.headers.get('cache-status')).toBe('sluice; fwd=vary-miss; fwd-status=200; stored');
    expect((await get('/doc', { headers: { accept: 'application/json' } })).body).toBe('as application/json');
    expect((await get('/doc', { headers: { accept: ' text/html ' } })).body).toBe('as text/html');
    expect(upstream.requests).toHaveLength(2);
  });

  it('never answers one tenant with another tenant’s private entry, and reuses it for the same tenant', async () => {
    const { upstream, get } = await setup((request) => ({
      headers: { 'cache-control': 'private, max-age=60' },
      body: `for ${request.headers.authorization ?? 'nobody'}`,
    }));
    const asA = { headers: { authorization: 'token a' }, sluice: { tenant: 'a' } };
    const asB = { headers: { authorization: 'token b' }, sluice: { tenant: 'b' } };
    expect((await get('/me', asA)).body).toBe('for token a');
    expect((await get('/me', asB)).body).toBe('for token b');
    expect((await get('/me', asA)).body).toBe('for token a');
    expect((await get('/me', asB)).body).toBe('for token b');
    expect(upstream.requests).toHaveLength(2);
  });

  it('partitions by credential header when calls name no tenant', async () => {
    const { upstream, get } = await setup((request) => ({
      headers: { 'cache-control': 'max-age=60' },
      body: `for ${request.headers.authorization}`,
    }));
    expect((await get('/me', { headers: { authorization: 'Bearer one' } })).body).toBe('for Bearer one');
    expect((await get('/me', { headers: { authorization: 'Bearer two' } })).body).toBe('for Bearer two');
    expect((await get('/me', { headers: { authorization: 'Bearer one' } })).body).toBe('for Bearer one');
    expect(upstream.requests).toHaveLength(2);
  });

  it('shares only replies the upstream marks shareable (public, s-maxage), unless sharing is off', async () => {
    const handler = versioned((request) => ({
      'cache-control': request.path === '/public' ? 'public, max-age=60' : 'max-age=60',
    }));
    const { upstream, get } = await setup(handler);
    for (const tenant of ['a', 'b', 'c']) {
      await get('/public', { sluice: { tenant } });
      await get('/mine', { sluice: { tenant } });
    }
    expect(upstream.requests.map((request) => request.path)).toEqual(['/public', '/mine', '/mine', '/mine']);

    const unshared = await setup(handler, { shared: false });
    await unshared.get('/public', { sluice: { tenant: 'a' } });
    await unshared.get('/public', { sluice: { tenant: 'b' } });
    expect(unshared.upstream.requests).toHaveLength(2);
  });
});

describe('the cache stage: revalidation', () => {
  it('revalidates with If-None-Match, and a 304 refreshes the entry', async () => {
    let notModified = 0;
    const { clock, upstream, get } = await setup((request) => {
      if (request.headers['if-none-match'] === '"v1"') {
        notModified++;
        return { status: 304, headers: { 'cache-control': 'max-age=10', etag: '"v1"' } };
      }
      return { headers: { 'cache-control': 'max-age=10', etag: '"v1"' }, body: 'the body' };
    });
    await get('/thing');
    await clock.advanceAsync(11_000);
    const revalidated = await get('/thing');
    expect(revalidated.response.status).toBe(200);
    expect(revalidated.body).toBe('the body');
    expect(revalidated.response.headers.get('cache-status')).toBe('sluice; fwd=stale; fwd-status=304; ttl=10; stored');
    expect(revalidated.response.headers.get('age')).toBe('0');
    expect(upstream.requests[1]?.headers['if-none-match']).toBe('"v1"');
    // Fresh again for another 10 s, from the 304.
    await clock.advanceAsync(5000);
    expect((await get('/thing')).response.headers.get('cache-status')).toBe('sluice; hit; ttl=5');
    expect(upstream.requests).toHaveLength(2);
    expect(notModified).toBe(1);
  });

  it('revalidates with If-Modified-Since when there is no ETag, and replaces the entry on a 200', async () => {
    const { clock, upstream, get } = await setup(
      versioned(() => ({ 'cache-control': 'max-age=1', 'last-modified': 'Tue, 14 Nov 2023 22:00:00 GMT' })),
    );
    await get('/page');
    await clock.advanceAsync(2000);
    const second = await get('/page');
    expect(upstream.requests[1]?.headers['if-modified-since']).toBe('Tue, 14 Nov 2023 22:00:00 GMT');
    expect(second.body).toBe('version 2 of /page');
    expect(second.response.headers.get('cache-status')).toBe('sluice; fwd=stale; fwd-status=200; stored');
    expect((await get('/page')).body).toBe('version 2 of /page');
  });

  it('a GitHub 304 costs nothing: revalidations go on while the hourly budget is spent', async () => {
    // GitHub's model: 3 calls an hour; a conditional request answered 304 does not count.
    let used = 0;
    const resetSeconds = Math.ceil((T0 + 3_600_000) / 1000);
    const clock = createManualClock(T0);
    const rateHeaders = () => ({
      'x-ratelimit-limit': '3',
      'x-ratelimit-remaining': String(3 - used),
      'x-ratelimit-reset': String(resetSeconds),
      'x-ratelimit-used': String(used),
      'x-ratelimit-resource': 'core',
    });
    const upstream = await startUpstream(clock, (request) => {
      if (request.headers['if-none-match'] === '"r1"') {
        return { status: 304, headers: { ...rateHeaders(), etag: '"r1"', 'cache-control': 'private, max-age=60' } };
      }
      used++;
      return { headers: { ...rateHeaders(), etag: '"r1"', 'cache-control': 'private, max-age=60' }, body: '{}' };
    });
    const client = createClient({ baseUrl: upstream.url, clock, dialect: 'github', cache: { enabled: true } });
    opened.push(upstream, client);
    await drive(clock, client.fetch('/repos/a/b'));
    await drive(clock, client.fetch('/repos/a/c'));
    for (let round = 0; round < 10; round++) {
      await clock.advanceAsync(61_000);
      const response = await drive(clock, client.fetch('/repos/a/b'));
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-status')).toContain('fwd-status=304');
      await response.text();
    }
    // Ten revalidations in about ten minutes, though only one call of the hour's three was left.
    expect(clock.now() - T0).toBeLessThan(11 * 61_000 + 5_000);
    expect(upstream.requests).toHaveLength(12);
    expect(used).toBe(2);
  });
});

describe('the cache stage: stale entries', () => {
  it('stale-while-revalidate serves at once and refreshes exactly once in the background', async () => {
    let release: (() => void) | null = null;
    const { clock, upstream, client, get } = await setup(
      versioned(() => ({ 'cache-control': 'max-age=1, stale-while-revalidate=60' })),
    );
    await get('/feed');
    await clock.advanceAsync(5000);
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const plain = upstream.handler;
    upstream.handler = async (request) => {
      await gate;
      return plain(request);
    };
    const served = await Promise.all(Array.from({ length: 5 }, () => get('/feed')));
    for (const { response, body } of served) {
      expect(body).toBe('version 1 of /feed');
      expect(response.headers.get('cache-status')).toBe('sluice; hit; ttl=-4; detail=stale-while-revalidate');
      expect(response.headers.get('age')).toBe('5');
    }
    (release as unknown as () => void)();
    await drive(clock, client.pipeline.cache?.settled() ?? Promise.resolve());
    expect(upstream.requests).toHaveLength(2);
    expect(upstream.requests[1]?.headers['cache-control']).toBeUndefined();
    const after = await get('/feed');
    expect(after.body).toBe('version 2 of /feed');
    expect(after.response.headers.get('cache-status')).toMatch(/^sluice; hit; ttl=/);
    expect(upstream.requests).toHaveLength(2);
  });

  it('stale-if-error serves the stale entry when the upstream fails, only within its window', async () => {
    let failing = false;
    const { clock, get } = await setup(
      (request) =>
        failing
          ? { status: 503, body: 'down' }
          : { headers: { 'cache-control': 'max-age=1, stale-if-error=30' }, body: `ok ${request.path}` },
      {},
      { retry: { attempts: 1 } },
    );
    await get('/status');
    failing = true;
    await clock.advanceAsync(10_000);
    const stale = await get('/status');
    expect(stale.response.status).toBe(200);
    expect(stale.body).toBe('ok /status');
    expect(stale.response.headers.get('cache-status')).toBe(
      'sluice; fwd=stale; fwd-status=503; ttl=-9; detail=stale-if-error',
    );
    await clock.advanceAsync(30_000);
    const tooOld = await get('/status');
    expect(tooOld.response.status).toBe(503);
  });

  it('serves a stale entry while the budget cools down after a 429, instead of failing or waiting', async () => {
    const { clock, upstream, get } = await setup(
      (request) =>
        request.path === '/trigger'
          ? { status: 429, headers: { 'retry-after': '120' }, body: 'slow down' }
          : { headers: { 'cache-control': 'max-age=1', etag: '"e"' }, body: `ok ${request.path}` },
      {},
      { dialect: 'github', retry: { attempts: 1 } },
    );
    await get('/users/1');
    expect((await get('/trigger')).response.status).toBe(429);
    await clock.advanceAsync(3000);
    const startedAt = clock.now();
    const stale = await get('/users/1');
    expect(stale.response.status).toBe(200);
    expect(stale.body).toBe('ok /users/1');
    expect(stale.response.headers.get('cache-status')).toBe('sluice; hit; ttl=-2; detail=stale-if-rate-limited');
    expect(stale.response.headers.get('age')).toBe('3');
    // It waited at most maxWaitForFresh (1 s), not the 120 s the budget is paused for, and never went upstream.
    expect(clock.now() - startedAt).toBeLessThanOrEqual(1000);
    expect(upstream.requests.map((request) => request.path)).toEqual(['/users/1', '/trigger']);
  });

  it('serves a stale entry when revalidation itself is answered 429, and fails past the window', async () => {
    let limited = false;
    const { clock, get } = await setup(
      () =>
        limited
          ? { status: 429, headers: { 'retry-after': '1' }, body: 'slow down' }
          : { headers: { 'cache-control': 'max-age=1', etag: '"e"' }, body: 'cached' },
      { staleIfRateLimited: 60_000 },
      { retry: { attempts: 1 } },
    );
    await get('/x');
    limited = true;
    await clock.advanceAsync(2000);
    const stale = await get('/x');
    expect(stale.body).toBe('cached');
    expect(stale.response.headers.get('cache-status')).toBe(
      'sluice; fwd=stale; fwd-status=429; ttl=-1; detail=stale-if-rate-limited',
    );
    await clock.advanceAsync(120_000);
    expect((await get('/x')).response.status).toBe(429);
  });

  it('never serves stale an entry marked must-revalidate', async () => {
    const { clock, client, upstream } = await setup(
      () =>
        upstream.requests.length > 1
          ? { status: 429, headers: { 'retry-after': '600' } }
          : {
              headers: { 'cache-control': 'max-age=1, must-revalidate' },
              body: 'strict',
            },
      {},
      { retry: { attempts: 1 } },
    );
    await drive(
      clock,
      client.fetch('/strict').then((response) => response.text()),
    );
    await clock.advanceAsync(2000);
    const response = await drive(clock, client.fetch('/strict'));
    expect(response.status).toBe(429);
  });

  it('a rate-limit failure with nothing stale to serve still fails as before', async () => {
    const { clock, client } = await setup(
      (request) => (request.path === '/trigger' ? { status: 429, headers: { 'retry-after': '120' } } : { body: 'x' }),
      {},
      { retry: { attempts: 1 } },
    );
    await drive(clock, client.fetch('/trigger'));
    const error = await drive(clock, client.fetch('/uncached', { sluice: { deadlineMs: 500 } })).catch((e) => e);
    expect(error).toBeInstanceOf(CallFailedError);
    expect(error.reason).toBe('deadline');
  });
});

describe('the cache stage: invalidation', () => {
  const cached: (request: SeenRequest) => Answer = (request) => ({
    status: request.method === 'GET' ? 200 : request.method === 'POST' ? 201 : 204,
    headers: {
      'cache-control': 'max-age=600',
      ...(request.method === 'POST' ? { location: '/users/42' } : {}),
    },
    body: `${request.method} ${request.path} #${request.atEpochMs}`,
  });

  it('a successful write invalidates its resource (every query), its Location and its related paths', async () => {
    const { clock, upstream, get } = await setup(cached, {
      invalidate: [{ match: 'POST /users/{id}/emails', paths: ['/users/{id}', '/directory/**'] }],
    });
    const paths = ['/users/1', '/users/1?fields=name', '/users/42', '/users/7', '/directory/a', '/directory/b/c'];
    for (const path of paths) await get(path);
    const count = () => upstream.requests.length;
    const before = count();
    for (const path of paths) await get(path);
    expect(count()).toBe(before);

    await clock.advanceAsync(1000);
    await get('/users/1', { method: 'PUT', body: '{}' });
    await get('/users/1');
    await get('/users/1?fields=name');
    expect(count()).toBe(before + 3);

    await get('/users', { method: 'POST', body: '{}' });
    await get('/users/42');
    expect(count()).toBe(before + 5);

    await get('/users/7/emails', { method: 'POST', body: '{}' });
    for (const path of ['/users/7', '/directory/a', '/directory/b/c', '/users/1']) await get(path);
    expect(upstream.requests.slice(before + 6).map((request) => request.path)).toEqual([
      '/users/7',
      '/directory/a',
      '/directory/b/c',
    ]);
  });

  it('a failed write invalidates nothing', async () => {
    const { upstream, get } = await setup(
      (request) =>
        request.method === 'DELETE'
          ? { status: 500, body: 'failed' }
          : { headers: { 'cache-control': 'max-age=60' }, body: 'v' },
      {},
      { retry: { attempts: 1 } },
    );
    await get('/thing');
    await get('/thing', { method: 'DELETE' });
    await get('/thing');
    expect(upstream.requests.map((request) => request.method)).toEqual(['GET', 'DELETE']);
  });

  it('purges by path and by prefix through the library call', async () => {
    const { upstream, client, get } = await setup(cached);
    for (const path of ['/repos/a/x', '/repos/a/y?page=2', '/repos/b/z']) await get(path);
    expect(await client.pipeline.cache?.purge({ path: '/repos/a/x?ignored=1' })).toBe(1);
    expect(await client.pipeline.cache?.purge({ prefix: '/repos/b/' })).toBe(1);
    for (const path of ['/repos/a/x', '/repos/a/y?page=2', '/repos/b/z']) await get(path);
    expect(upstream.requests.slice(3).map((request) => request.path)).toEqual(['/repos/a/x', '/repos/b/z']);
    await expect(client.pipeline.cache?.purge({ path: 'no-slash' })).rejects.toThrow(/purge.path: expected a path/);
    await expect(client.pipeline.cache?.purge({} as never)).rejects.toThrow(/give either/);
  });
});

describe('purgeCache (the admin route and webhooks)', () => {
  it('purges one upstream or all, and answers bad input with a problem naming what was expected', async () => {
    const { purgeCache } = await import('../../src/pipeline/cache-admin.js');
    const { client, upstream, get } = await setup(() => ({ headers: { 'cache-control': 'max-age=60' }, body: 'x' }));
    await get('/repos/a/1');
    await get('/repos/a/2');
    const caches = new Map([
      ['api', client.pipeline.cache],
      ['nocache', null],
    ]);
    expect(await purgeCache({ upstream: 'api', prefix: '/repos/a/' }, caches)).toEqual({
      ok: true,
      status: 200,
      body: { purged: 2, upstreams: ['api'] },
    });
    await get('/repos/a/1');
    expect(upstream.requests).toHaveLength(3);
    expect(await purgeCache({ path: '/repos/a/1?x' }, caches)).toMatchObject({
      body: { purged: 1, upstreams: ['api'] },
    });
    expect(await purgeCache({ upstream: 'nope', path: '/x' }, caches)).toMatchObject({ status: 404 });
    expect(await purgeCache('garbage', caches)).toMatchObject({
      status: 400,
      detail: expect.stringMatching(/JSON object/),
    });
    expect(await purgeCache({ path: '/a', prefix: '/b' }, caches)).toMatchObject({ status: 400 });
    expect(await purgeCache({ prefix: 'a' }, caches)).toMatchObject({ detail: expect.stringMatching(/starting with/) });
    expect(await purgeCache({ path: '/a', key: 1 }, caches)).toMatchObject({
      detail: expect.stringMatching(/unknown field "key"/),
    });
  });
});

describe('Cache-Status', () => {
  it('puts Sluice’s entry in front of those of caches nearer the origin (RFC 9211)', async () => {
    const { get } = await setup(() => ({
      headers: { 'cache-control': 'max-age=60', 'cache-status': 'origin-cdn; hit' },
      body: 'x',
    }));
    await get('/layered');
    const { response } = await get('/layered');
    expect(response.headers.get('cache-status')).toMatch(/^sluice; hit.*, origin-cdn; hit$/);
  });
});
