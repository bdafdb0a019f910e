import { describe, expect, it } from 'vitest';
import { normalizeUpstreamOptions, UPSTREAM_DEFAULTS } from '../../src/config/upstream.js';
import { clientOptionsSchema, upstreamOptionsSchema } from '../../src/config/upstream-schema.js';
import { mergeOptions } from '../../src/presets/merge.js';
import { problemsOf } from './support.js';

describe('normalizeUpstreamOptions', () => {
  it('takes the client form, with baseUrl, and fills in every default', () => {
    const options = normalizeUpstreamOptions({ baseUrl: 'https://api.example.com/v2/' }, 'createClient');
    expect(options).toEqual({
      url: 'https://api.example.com/v2',
      endpoints: [{ url: 'https://api.example.com/v2', weight: 1 }],
      balance: 'weighted',
      preset: null,
      dialect: 'auto',
      userAgent: null,
      limits: [],
      concurrency: null,
      routes: [],
      majorParameters: [],
      pacing: { safetyMargin: 0.01, discovery: { initialRate: 5, windowMs: 1000 } },
      retry: UPSTREAM_DEFAULTS.retry,
      queue: { maxDepth: 1000, timeoutMs: 30_000, reserve: { share: 0, minPriority: 1 } },
      breaker: {
        consecutiveFailures: 5,
        failureRatio: 0.5,
        minimumCalls: 10,
        windowMs: 10_000,
        openForMs: 10_000,
        halfOpenProbes: 1,
      },
      timeouts: { connectMs: 5000, headersMs: 30_000, bodyMs: 30_000 },
      cache: {
        enabled: false,
        maxEntries: 10_000,
        maxBytes: 64 * 1024 * 1024,
        maxEntryBytes: 1024 * 1024,
        ttlMs: 0,
        staleWhileRevalidateMs: 0,
        staleIfErrorMs: 0,
        staleIfRateLimitedMs: 300_000,
        keepStaleMs: 3_600_000,
        maxWaitForFreshMs: 1000,
        shared: true,
        routes: [],
        invalidate: [],
      },
      coalesce: { enabled: false, ignoreHeaders: null, maxBodyBytes: 1_048_576 },
      batch: [],
      maxRequestBytes: 10 * 1024 * 1024,
      maxResponseBytes: 100 * 1024 * 1024,
      headers: { set: {}, default: {}, remove: [] },
      credentials: {},
    });
  });

  it('takes the gateway form, with url or endpoints, the same way', () => {
    const fromUrl = normalizeUpstreamOptions({ url: 'https://api.example.com', retry: { attempts: 5 } }, 'upstreams.a');
    const fromBase = normalizeUpstreamOptions({ baseUrl: 'https://api.example.com', retry: { attempts: 5 } }, 'x');
    expect(fromUrl).toEqual(fromBase);
  });

  it('converts every duration to whole milliseconds, rounding up', () => {
    const options = normalizeUpstreamOptions(
      {
        baseUrl: 'https://api.example.com',
        retry: {
          baseDelay: '250ms',
          maxDelay: '1.5s',
          maxElapsed: '1m',
          maxServerWait: 2000.2,
          budget: { window: '6m0s' },
        },
        queue: { timeout: 0 },
        timeouts: { connect: '1h30m', headers: '2d', body: '1500us' },
        limits: [{ algorithm: 'token-bucket', limit: 10, window: '0.5s' }],
      },
      'createClient',
    );
    expect(options.retry).toMatchObject({
      baseDelayMs: 250,
      maxDelayMs: 1500,
      maxElapsedMs: 60_000,
      maxServerWaitMs: 2001,
      budget: { windowMs: 360_000 },
    });
    expect(options.queue.timeoutMs).toBe(0);
    expect(options.timeouts).toEqual({ connectMs: 5_400_000, headersMs: 172_800_000, bodyMs: 2 });
    expect(options.limits).toEqual([
      {
        algorithm: 'token-bucket',
        name: 'requests',
        limit: 10,
        windowMs: 500,
        burst: 10,
        unit: 'requests',
        scope: 'credential',
        bucket: null,
      },
    ]);
  });

  it('prefixes every problem with the path it is given, and lists them all', () => {
    const problems = problemsOf(() =>
      normalizeUpstreamOptions({ baseUrl: 'ftp://x', retry: { attempts: 0 }, retyr: {} }, 'createClient'),
    );
    expect(problems.map((problem) => problem.path).sort()).toEqual([
      'createClient.baseUrl',
      'createClient.retry.attempts',
      'createClient.retyr',
    ]);
    expect(problemsOf(() => normalizeUpstreamOptions({}, 'createClient'))).toEqual([
      {
        path: 'createClient.baseUrl',
        message: 'missing (expected an absolute http(s) URL such as "https://api.example.com")',
      },
    ]);
    expect(problemsOf(() => normalizeUpstreamOptions('https://x', 'createClient'))).toEqual([
      { path: 'createClient', message: 'expected the client options, got "https://x"' },
    ]);
  });

  it('suggests baseUrl to a client given url by mistake, and url to an upstream given baseUrl', () => {
    // The gateway form is chosen by url/endpoints: a baseUrl there is the client form, and vice versa.
    const problems = problemsOf(() =>
      normalizeUpstreamOptions({ baseUrl: 'https://a.example', url: 'https://a.example' }, 'c'),
    );
    expect(problems).toContainEqual({ path: 'c.url', message: 'unknown option (did you mean "baseUrl"?)' });
  });

  it('keeps secret references with the path they were written at, and reads none of them', () => {
    const options = normalizeUpstreamOptions(
      {
        baseUrl: 'https://api.example.com',
        credentials: {
          default: { value: { env: 'NOT_SET_ANYWHERE_12345' } },
          'team-a': { query: 'key', value: { file: 'relative/key' } },
        },
      },
      'createClient',
      { baseDirectory: '/etc/sluice' },
    );
    expect(options.credentials.default).toEqual({
      placement: 'header',
      header: 'authorization',
      prefix: 'Bearer ',
      value: { env: 'NOT_SET_ANYWHERE_12345', configPath: 'createClient.credentials.default.value' },
    });
    expect(options.credentials['team-a']).toEqual({
      placement: 'query',
      query: 'key',
      value: { file: '/etc/sluice/relative/key', configPath: 'createClient.credentials.team-a.value' },
    });
    expect(options.credentials.toString).toBeUndefined();
  });

  it('sends a credential as its own entry says, else as credentialDefaults say, else as Authorization: Bearer', () => {
    const credentials = (input: Record<string, unknown>) =>
      normalizeUpstreamOptions({ baseUrl: 'https://a.example', ...input }, 'c').credentials;
    const value = { env: 'K' };
    expect(credentials({ credentials: { default: { value } } }).default).toMatchObject({
      placement: 'header',
      header: 'authorization',
      prefix: 'Bearer ',
    });
    expect(
      credentials({ credentialDefaults: { header: 'X-Api-Key' }, credentials: { default: { value } } }).default,
    ).toMatchObject({ placement: 'header', header: 'x-api-key', prefix: '' });
    // An entry that names its own header does not inherit the default header's prefix.
    expect(
      credentials({
        credentialDefaults: { header: 'authorization', prefix: 'Bot ' },
        credentials: { default: { header: 'x-token', value } },
      }).default,
    ).toMatchObject({ placement: 'header', header: 'x-token', prefix: '' });
    expect(
      credentials({ credentialDefaults: { query: 'api_key' }, credentials: { default: { value, prefix: 'k-' } } })
        .default,
    ).toMatchObject({ placement: 'query', query: 'api_key' });
  });

  it('keeps header names in lower case', () => {
    const options = normalizeUpstreamOptions(
      { baseUrl: 'https://a.example', headers: { set: { 'X-Source': 'sluice' }, remove: ['Cookie'] } },
      'c',
    );
    expect(options.headers).toEqual({ set: { 'x-source': 'sluice' }, default: {}, remove: ['cookie'] });
  });

  it('accepts null to remove a cap a preset sets', () => {
    const options = normalizeUpstreamOptions(
      { baseUrl: 'https://a.example', preset: 'github', concurrency: null },
      'c',
    );
    expect(options.concurrency).toBeNull();
  });
});

describe('the preset merge rule', () => {
  it('takes the preset first, then the user’s options key by key, through nested mappings', () => {
    const options = normalizeUpstreamOptions(
      { baseUrl: 'https://ghe.example.com/api/v3', preset: 'github', retry: { attempts: 5 }, cache: { maxEntries: 5 } },
      'c',
    );
    expect(options.url).toBe('https://ghe.example.com/api/v3');
    expect(options.dialect).toBe('github');
    expect(options.retry.attempts).toBe(5);
    expect(options.cache).toMatchObject({
      enabled: true,
      maxEntries: 5,
      maxBytes: 64 * 1024 * 1024,
      maxEntryBytes: 1048576,
    });
    expect(options.headers.default).toEqual({
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
    });
  });

  it('replaces lists whole', () => {
    const options = normalizeUpstreamOptions(
      {
        baseUrl: 'https://api.github.com',
        preset: 'github',
        limits: [{ algorithm: 'fixed-window', limit: 15_000, window: '1h', bucket: 'core' }],
      },
      'c',
    );
    expect(options.limits).toHaveLength(1);
    expect(options.limits[0]).toMatchObject({ limit: 15_000, bucket: 'core', name: 'core' });
    expect(options.routes.map((route) => route.bucket)).toEqual(['code_search', 'search', 'graphql', 'core']);
  });

  it('explains a preset limit left without its route when the user replaced the routes', () => {
    const problems = problemsOf(() =>
      normalizeUpstreamOptions(
        { baseUrl: 'https://api.github.com', preset: 'github', routes: [{ match: '/x', bucket: 'x' }] },
        'c',
      ),
    );
    expect(problems[0]?.message).toContain(
      'no route sends calls to bucket "core": add a route with bucket: core, or drop the bucket to count every call (the limit comes from preset "github", whose routes yours replace: set limits as well)',
    );
  });

  it('a user’s endpoints replace the preset’s url; a secret reference is never merged field by field', () => {
    expect(
      mergeOptions({ url: 'https://preset.example', retry: { attempts: 2 } }, { endpoints: [{ url: 'https://mine' }] }),
    ).toEqual({ endpoints: [{ url: 'https://mine' }], retry: { attempts: 2 } });
    expect(
      mergeOptions(
        { credentials: { default: { header: 'x', value: { file: '/a' } } } },
        { credentials: { default: { value: { env: 'B' } } } },
      ),
    ).toEqual({ credentials: { default: { value: { env: 'B' } } } });
    expect(
      mergeOptions(
        { credentialDefaults: { header: 'authorization', prefix: 'Bearer ' } },
        { credentialDefaults: { query: 'key' } },
      ),
    ).toEqual({ credentialDefaults: { query: 'key' } });
  });
});

describe('the exported schemas', () => {
  it('the client schema can be extended by the client with its own, non-serialisable options', () => {
    const extended = clientOptionsSchema.extend({ fetch: clientOptionsSchema.shape.baseUrl.optional() });
    expect(extended.safeParse({ baseUrl: 'https://a.example', fetch: 'https://b.example' }).success).toBe(true);
    expect(extended.safeParse({ baseUrl: 'https://a.example', store: {} }).success).toBe(false);
  });

  it('the upstream and client schemas differ only in where the upstream is', () => {
    const upstreamKeys = Object.keys(upstreamOptionsSchema.shape).filter(
      (key) => !['url', 'endpoints', 'balance'].includes(key),
    );
    const clientKeys = Object.keys(clientOptionsSchema.shape).filter((key) => key !== 'baseUrl');
    expect(clientKeys).toEqual(upstreamKeys);
  });
});
