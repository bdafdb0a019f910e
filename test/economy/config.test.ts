import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/problems.js';
import { normalizeUpstreamOptions } from '../../src/config/upstream.js';
import { economyOptionsFromUpstream } from '../../src/pipeline/cache-stages.js';

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (opened.length) await opened.pop()?.close();
});

const problemsOf = (input: object) => {
  try {
    normalizeUpstreamOptions({ baseUrl: 'https://api.example.com', ...input }, 'createClient');
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((problem) => `${problem.path}: ${problem.message}`);
  }
};

describe('cache, coalesce and batch options', () => {
  it('are normalised: durations in milliseconds, route overrides only as given, defaults filled in', () => {
    const options = normalizeUpstreamOptions(
      {
        baseUrl: 'https://api.example.com',
        cache: {
          enabled: true,
          ttl: '30s',
          staleIfRateLimited: '10m',
          routes: [{ match: 'GET /users/*', ttl: '5m', override: true }],
          invalidate: [{ match: 'POST /users/{id}/emails', paths: ['/users/{id}'] }],
        },
        coalesce: { enabled: true, ignoreHeaders: ['X-Trace'] },
        batch: [{ match: 'GET /users/{id}', send: { path: '/users', parameter: 'ids' }, split: { key: 'id' } }],
      },
      'createClient',
    );
    expect(options.cache).toMatchObject({
      enabled: true,
      ttlMs: 30_000,
      staleIfRateLimitedMs: 600_000,
      staleIfErrorMs: 0,
      maxWaitForFreshMs: 1000,
      routes: [{ match: 'GET /users/*', ttlMs: 300_000, override: true }],
      invalidate: [{ match: 'POST /users/{id}/emails', paths: ['/users/{id}'] }],
    });
    expect(options.coalesce).toEqual({ enabled: true, ignoreHeaders: ['x-trace'], maxBodyBytes: 1_048_576 });
    expect(options.batch).toEqual([
      {
        match: 'GET /users/{id}',
        item: null,
        maxBatch: 50,
        maxWaitMs: 10,
        send: { method: 'GET', path: '/users', parameter: 'ids', separator: ',', idType: 'string' },
        split: { items: null, key: 'id' },
        maxBodyBytes: 8 * 1024 * 1024,
      },
    ]);
  });

  it('report every problem with its path', () => {
    expect(
      problemsOf({
        cache: {
          ttl: -1,
          routes: [{ match: 'users', ttl: '1m' }],
          invalidate: [{ match: 'POST /users/{id}', paths: ['/users/{name}', 'relative'] }],
          staleIfErorr: '1m',
        },
        coalesce: { enabled: 'yes' },
        batch: [
          { match: 'GET /users', send: { path: '/users', parameter: 'ids' }, split: { key: 'id' } },
          { match: 'POST /users/{id}', send: { path: '/users', parameter: 'ids' }, split: { key: 'id' } },
          { match: 'GET /orgs/{org}/users/{id}', send: { path: '/x/{id}', parameter: 'ids' }, split: { key: 'id' } },
          { match: 'GET /users/{id}', item: 'nope', send: { path: '/users' }, split: {} },
        ],
      }),
    ).toEqual([
      'createClient.cache.ttl: expected a non-negative duration, got -1',
      'createClient.cache.routes[0].match: expected a route such as "GET /search/*" or "/v1/chat/completions" (an optional method, then a path starting with "/", no query), got "users"',
      'createClient.cache.invalidate[0].paths[1]: expected a path such as "/repos/{owner}/{repo}" or "/repos/{owner}/**", got "relative"',
      'createClient.cache.staleIfErorr: unknown option (did you mean "staleIfError"?)',
      'createClient.coalesce.enabled: expected true or false, got "yes"',
      'createClient.batch[3].send.parameter: missing (expected a parameter name such as "ids")',
      'createClient.batch[3].split.key: missing (expected a dot path such as "id")',
      'createClient.cache.invalidate[0].paths[0]: {name} is not a placeholder of "POST /users/{id}"',
      'createClient.batch[0].match: needs a placeholder for the item id, such as "GET /users/{id}", got "GET /users"',
      'createClient.batch[1].match: only GET calls are batched, got "POST /users/{id}"',
      'createClient.batch[2].send.path: {id} is the item id: the batch path cannot hold it (the ids go in the query)',
      'createClient.batch[3].item: {nope} is not a placeholder of "GET /users/{id}"',
    ]);
  });

  it('map onto the pipeline: the gateway’s credential header partitions the cache like authorization', async () => {
    const config = parseConfig(
      `
tenants:
  a: { keys: [{ env: KEY_A }] }
upstreams:
  shop:
    url: https://shop.example.com
    cache: { enabled: true, ttl: 1m }
    coalesce: { enabled: true }
    credentials:
      a: { header: x-shopify-access-token, value: { env: SHOP_TOKEN } }
`,
      { format: 'yaml' },
    );
    const shop = config.upstreams.shop;
    if (!shop) throw new Error('no upstream');
    const options = economyOptionsFromUpstream(shop);
    const cache = options.cache || undefined;
    expect(cache?.credentialHeaders).toContain('x-shopify-access-token');
    expect(cache?.ttlMs).toBe(60_000);
    expect(options.coalesce).toEqual({ maxBodyBytes: 1_048_576 });
    expect(options.batch).toEqual([]);
    expect(economyOptionsFromUpstream({ ...shop, cache: { ...shop.cache, enabled: false } }).cache).toBe(false);
  });
});
