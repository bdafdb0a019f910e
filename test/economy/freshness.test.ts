import { describe, expect, it } from 'vitest';
import { deltaSecondsMs, parseCacheControl, requestDirectives } from '../../src/cache/cache-control.js';
import { decodeVariant, encodeVariant, storedHeaders } from '../../src/cache/entry.js';
import {
  type CacheRule,
  decideStore,
  type Freshness,
  freshenHeaders,
  initialAgeMs,
  judgeEntry,
  varyNames,
} from '../../src/cache/freshness.js';
import { partitionOf, resourceOfKey, variantIdOf } from '../../src/cache/key.js';
import { createCacheRules } from '../../src/cache/rules.js';
import { formatCacheStatus } from '../../src/cache/status.js';

const NOW = 1_700_000_000_000;
const DATE = new Date(NOW).toUTCString();
const rule: CacheRule = {
  enabled: true,
  ttlMs: 0,
  override: false,
  staleWhileRevalidateMs: 0,
  staleIfErrorMs: 0,
  staleIfRateLimitedMs: 300_000,
  keepStaleMs: 3_600_000,
};

const decide = (headers: Record<string, string>, options: Partial<Parameters<typeof decideStore>[0]> = {}) =>
  decideStore({
    status: 200,
    headers: { date: DATE, ...headers },
    request: new Map(),
    requestAtEpochMs: NOW,
    responseAtEpochMs: NOW,
    rule,
    shareAllowed: true,
    ...options,
  });

const freshnessOf = (headers: Record<string, string>, options = {}): Freshness => {
  const decision = decide(headers, options);
  if (!decision.store) throw new Error(decision.reason);
  return decision.freshness;
};

describe('Cache-Control', () => {
  it('reads directives case-insensitively, first occurrence winning, quoted arguments unquoted', () => {
    const directives = parseCacheControl(['Max-Age=60, private="set-cookie, x"', 'max-age=5, no-cache']);
    expect(directives.get('max-age')).toBe('60');
    expect(directives.get('private')).toBe('set-cookie, x');
    expect(directives.has('no-cache')).toBe(true);
  });

  it('reads bad delta-seconds as 0 (stale), huge ones as 2^31 s, and garbage as nothing', () => {
    expect(deltaSecondsMs(parseCacheControl('max-age=abc'), 'max-age')).toBe(0);
    expect(deltaSecondsMs(parseCacheControl('max-age'), 'max-age')).toBe(0);
    expect(deltaSecondsMs(parseCacheControl('max-age=99999999999999'), 'max-age')).toBe(2_147_483_648_000);
    expect(deltaSecondsMs(parseCacheControl(',,,;=='), 'max-age')).toBeNull();
    expect(parseCacheControl(undefined).size).toBe(0);
  });

  it('takes Pragma: no-cache only from requests without Cache-Control', () => {
    expect(requestDirectives({ pragma: 'no-cache' }).has('no-cache')).toBe(true);
    expect(requestDirectives({ pragma: 'no-cache', 'cache-control': 'max-stale' }).has('no-cache')).toBe(false);
  });
});

describe('decideStore', () => {
  it('keeps private and plain replies in the credential’s partition, shareable ones in the shared one', () => {
    expect(decide({ 'cache-control': 'private, max-age=60' })).toMatchObject({ store: true, shared: false });
    expect(decide({ 'cache-control': 'max-age=60' })).toMatchObject({ store: true, shared: false });
    expect(decide({ 'cache-control': 'public, max-age=60' })).toMatchObject({ store: true, shared: true });
    expect(decide({ 'cache-control': 's-maxage=60' })).toMatchObject({ store: true, shared: true });
    expect(decide({ 'cache-control': 'public, max-age=60', 'set-cookie': 'a=b' })).toMatchObject({ shared: false });
    expect(decide({ 'cache-control': 'public, max-age=60' }, { shareAllowed: false })).toMatchObject({ shared: false });
  });

  it('uses s-maxage only for shared entries (GitHub: private, max-age=60, s-maxage=60)', () => {
    expect(freshnessOf({ 'cache-control': 'public, max-age=10, s-maxage=100' }).lifetimeMs).toBe(100_000);
    expect(freshnessOf({ 'cache-control': 'private, max-age=10, s-maxage=100' }).lifetimeMs).toBe(10_000);
  });

  it('refuses no-store (reply or request), Vary: *, uncacheable statuses and replies never fresh without a validator', () => {
    expect(decide({ 'cache-control': 'no-store, max-age=60' })).toMatchObject({ store: false });
    expect(decide({ 'cache-control': 'max-age=60' }, { request: new Map([['no-store', null]]) })).toMatchObject({
      store: false,
    });
    expect(decide({ 'cache-control': 'max-age=60', vary: 'Accept, *' })).toMatchObject({ store: false });
    expect(decide({ 'cache-control': 'max-age=60' }, { status: 500 })).toMatchObject({ store: false });
    expect(decide({ 'cache-control': 'max-age=60' }, { status: 206 })).toMatchObject({ store: false });
    expect(decide({}, { status: 302 })).toMatchObject({ store: false });
    expect(decide({ 'cache-control': 'max-age=60' }, { status: 302 })).toMatchObject({ store: true });
    expect(decide({})).toMatchObject({ store: false, reason: expect.stringMatching(/never fresh/) });
    expect(decide({ etag: '"x"' })).toMatchObject({ store: true });
  });

  it('derives freshness from Expires minus Date, and treats an invalid Expires as expired', () => {
    expect(freshnessOf({ expires: new Date(NOW + 90_000).toUTCString() }).lifetimeMs).toBe(90_000);
    expect(freshnessOf({ expires: '0', etag: '"x"' }).lifetimeMs).toBe(0);
  });

  it('applies the configured ttl only to replies that state nothing, unless it overrides', () => {
    const withTtl = { ...rule, ttlMs: 30_000 };
    expect(freshnessOf({}, { rule: withTtl }).lifetimeMs).toBe(30_000);
    expect(freshnessOf({ 'cache-control': 'max-age=5' }, { rule: withTtl }).lifetimeMs).toBe(5000);
    const overriding = { ...withTtl, override: true };
    expect(freshnessOf({ 'cache-control': 'no-store, no-cache, max-age=5' }, { rule: overriding })).toMatchObject({
      lifetimeMs: 30_000,
      revalidateAlways: false,
      neverStale: false,
    });
  });

  it('counts the age a reply already had: Age, the Date gap and the response delay (RFC 9111 §4.2.3)', () => {
    expect(initialAgeMs({ date: DATE, age: '30' }, NOW - 2000, NOW)).toBe(32_000);
    expect(initialAgeMs({ date: new Date(NOW - 50_000).toUTCString() }, NOW, NOW)).toBe(50_000);
    expect(initialAgeMs({ age: 'garbage' }, NOW, NOW)).toBe(0);
  });

  it('keeps an entry for its freshness plus its longest stale use, longer when it can be revalidated', () => {
    const decision = decide(
      { 'cache-control': 'max-age=60, stale-while-revalidate=30' },
      { rule: { ...rule, staleIfRateLimitedMs: 0 } },
    );
    expect(decision).toMatchObject({ store: true, keepUntilEpochMs: NOW + 90_000 });
    const withValidator = decide({ 'cache-control': 'max-age=60', etag: '"x"' });
    expect(withValidator).toMatchObject({ keepUntilEpochMs: NOW + 60_000 + 3_600_000 });
  });
});

describe('judgeEntry', () => {
  const none = new Map<string, string | null>();
  const entry = freshnessOf({ 'cache-control': 'max-age=60, stale-while-revalidate=30, stale-if-error=120' });

  it('serves fresh, then stale while revalidating, then revalidates with stale-if-error and -rate-limited', () => {
    expect(judgeEntry(entry, NOW + 59_000, none)).toMatchObject({ action: 'serve', ttlMs: 1000 });
    expect(judgeEntry(entry, NOW + 80_000, none)).toMatchObject({ action: 'serve-stale-and-refresh', ttlMs: -20_000 });
    expect(judgeEntry(entry, NOW + 100_000, none)).toMatchObject({
      action: 'revalidate',
      staleIfError: true,
      staleIfRateLimited: true,
    });
    expect(judgeEntry(entry, NOW + 200_000, none)).toMatchObject({ staleIfError: false, staleIfRateLimited: true });
    expect(judgeEntry(entry, NOW + 400_000, none)).toMatchObject({ staleIfError: false, staleIfRateLimited: false });
  });

  it('follows the request: no-cache and max-age force a revalidation without stale stand-ins; max-stale and min-fresh', () => {
    const noCache = judgeEntry(entry, NOW + 1000, new Map([['no-cache', null]]));
    expect(noCache).toMatchObject({
      action: 'revalidate',
      forcedByRequest: true,
      staleIfError: false,
      staleIfRateLimited: false,
    });
    expect(judgeEntry(entry, NOW + 10_000, new Map([['max-age', '5']]))).toMatchObject({ action: 'revalidate' });
    expect(judgeEntry(entry, NOW + 55_000, new Map([['min-fresh', '10']]))).toMatchObject({ action: 'revalidate' });
    expect(judgeEntry(entry, NOW + 150_000, new Map([['max-stale', '100']]))).toMatchObject({ action: 'serve' });
    expect(judgeEntry(entry, NOW + 150_000, new Map([['max-stale', null]]))).toMatchObject({ action: 'serve' });
    expect(judgeEntry(entry, NOW + 200_000, new Map([['max-stale', '100']]))).toMatchObject({ action: 'revalidate' });
  });

  it('never uses stale an entry that says must-revalidate or no-cache', () => {
    const strict = freshnessOf({ 'cache-control': 'max-age=60, must-revalidate, stale-if-error=600' });
    expect(judgeEntry(strict, NOW + 61_000, new Map([['max-stale', null]]))).toMatchObject({
      action: 'revalidate',
      staleIfError: false,
      staleIfRateLimited: false,
    });
    const noCache = freshnessOf({ 'cache-control': 'no-cache', etag: '"x"' });
    expect(judgeEntry(noCache, NOW, none)).toMatchObject({ action: 'revalidate', staleIfRateLimited: false });
    const sharedStrict = freshnessOf({ 'cache-control': 'public, s-maxage=60, stale-if-error=600' });
    expect(judgeEntry(sharedStrict, NOW + 61_000, none)).toMatchObject({ staleIfError: false });
  });
});

describe('headers, keys, variants', () => {
  it('freshens stored headers from a 304 but keeps those describing the body', () => {
    expect(
      freshenHeaders(
        { etag: '"1"', 'content-type': 'text/plain', 'cache-control': 'max-age=1' },
        { 'cache-control': 'max-age=60', 'content-type': 'application/json', date: DATE },
      ),
    ).toEqual({ etag: '"1"', 'content-type': 'text/plain', 'cache-control': 'max-age=60', date: DATE });
  });

  it('stores no connection headers, nor those Connection names', () => {
    expect(
      storedHeaders({
        connection: 'x-hop, close',
        'x-hop': '1',
        'keep-alive': 'timeout=5',
        'content-length': '3',
        a: 'b',
      }),
    ).toEqual({ a: 'b' });
  });

  it('partitions by tenant and credential, and never puts a credential in a key', () => {
    const a = partitionOf('team-a', { authorization: 'token secret' }, ['authorization']);
    expect(a).not.toContain('secret');
    expect(a).not.toBe(partitionOf('team-b', { authorization: 'token secret' }, ['authorization']));
    expect(a).not.toBe(partitionOf('team-a', { authorization: 'token other' }, ['authorization']));
    expect(a).toBe(partitionOf('team-a', { authorization: 'token secret', accept: 'x' }, ['authorization']));
    expect(resourceOfKey('github p1 /repos/a/b?page=2')).toEqual({ upstream: 'github', path: '/repos/a/b' });
  });

  it('tells variants apart by the varying headers only, ignoring whitespace, absent differing from empty', () => {
    expect(varyNames({ vary: 'Accept-Encoding, ACCEPT, accept' })).toEqual(['accept', 'accept-encoding']);
    const vary = ['accept'];
    expect(variantIdOf(vary, { accept: 'a/b', other: '1' })).toBe(variantIdOf(vary, { accept: ' a/b ' }));
    expect(variantIdOf(vary, { accept: 'a/b' })).not.toBe(variantIdOf(vary, { accept: 'c/d' }));
    expect(variantIdOf(vary, {})).not.toBe(variantIdOf(vary, { accept: '' }));
    expect(variantIdOf([], { accept: 'x' })).toBe('');
  });

  it('encodes an entry for shared stores and reads garbage as nothing', () => {
    const variant = {
      variantId: 'v',
      vary: ['accept'],
      status: 200,
      headers: { 'set-cookie': ['a=1', 'b=2'], etag: '"e"' },
      body: Buffer.from('body bytes \u0000\u00ff'),
      freshness: freshnessOf({ 'cache-control': 'max-age=60' }),
      keepUntilEpochMs: NOW + 1,
    };
    const decoded = decodeVariant(encodeVariant(variant));
    expect({ ...decoded, body: Buffer.from(decoded?.body ?? []) }).toEqual(variant);
    expect(decodeVariant(Buffer.from('nonsense'))).toBeNull();
    expect(decodeVariant(Buffer.alloc(2))).toBeNull();
    const badMeta = Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from('{}')]);
    expect(decodeVariant(badMeta)).toBeNull();
  });

  it('formats Cache-Status per RFC 9211', () => {
    expect(formatCacheStatus({ hit: true, ttlMs: 29_600 })).toBe('sluice; hit; ttl=30');
    expect(formatCacheStatus({ fwd: 'stale', fwdStatus: 304, ttlMs: 60_000, stored: true, collapsed: true })).toBe(
      'sluice; fwd=stale; fwd-status=304; ttl=60; stored; collapsed',
    );
    expect(formatCacheStatus({ hit: true, ttlMs: -12_000, detail: 'stale-if-rate-limited' })).toBe(
      'sluice; hit; ttl=-12; detail=stale-if-rate-limited',
    );
  });
});

describe('cache rules', () => {
  const base = { ...rule, ttlMs: 1000 };
  const rules = createCacheRules(
    base,
    [
      { match: 'GET /live/**', enabled: false },
      { match: '/users/{id}', ttlMs: 60_000 },
    ],
    [{ match: 'POST /repos/{owner}/{repo}/issues', paths: ['/repos/{owner}/{repo}', '/search/**'] }],
  );

  it('picks the first matching route, and falls back to the upstream’s rule', () => {
    expect(rules.ruleFor('/live/a/b').enabled).toBe(false);
    expect(rules.ruleFor('/users/7?x=1').ttlMs).toBe(60_000);
    expect(rules.ruleFor('/users/7/emails')).toBe(base);
  });

  it('fills related paths from what the write matched', () => {
    expect(rules.relatedTo('POST', '/repos/nodejs/node/issues')).toEqual([
      { path: '/repos/nodejs/node', prefix: false },
      { path: '/search/', prefix: true },
    ]);
    expect(rules.relatedTo('PUT', '/repos/nodejs/node/issues')).toEqual([]);
  });

  it('refuses placeholders the pattern does not capture, naming the option', () => {
    expect(() => createCacheRules(base, [], [{ match: 'POST /a/{id}', paths: ['/b/{other}'] }])).toThrow(
      'cache.invalidate[0].paths[0]: {other} is not a placeholder of "POST /a/{id}"',
    );
    expect(() => createCacheRules(base, [{ match: 'nope' }])).toThrow(/cache.routes\[0\].match: expected a route/);
  });
});

describe('garbage never crashes the cache rules', () => {
  it('any header values give a decision with finite, non-negative times, and a judgement', async () => {
    const fc = await import('fast-check');
    const text = fc.oneof(
      fc.string(),
      fc.constantFrom('max-age=60', 'max-age=-1', 's-maxage=1e309', 'no-cache="a,b', 'private, public', '"', ',,'),
    );
    fc.assert(
      fc.property(
        fc.record(
          { 'cache-control': text, expires: text, date: text, age: text, vary: text, etag: text },
          { requiredKeys: [] },
        ),
        fc.integer({ min: 100, max: 599 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        (headers, status, laterMs) => {
          const decision = decideStore({
            status,
            headers,
            request: parseCacheControl(headers['cache-control']),
            requestAtEpochMs: NOW,
            responseAtEpochMs: NOW,
            rule,
            shareAllowed: true,
          });
          if (!decision.store) return;
          for (const value of Object.values(decision.freshness)) {
            if (typeof value === 'number') expect(Number.isFinite(value) && value >= 0).toBe(true);
          }
          expect(Number.isFinite(decision.keepUntilEpochMs)).toBe(true);
          const judgement = judgeEntry(decision.freshness, NOW + laterMs, new Map());
          expect(['serve', 'serve-stale-and-refresh', 'revalidate']).toContain(judgement.action);
          expect(Number.isFinite(judgement.ageMs) && judgement.ageMs >= 0).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
