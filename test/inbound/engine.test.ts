import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { InvalidOptionError } from '../../src/errors.js';
import { sendProblem } from '../../src/gateway/problem.js';
import {
  createInboundLimits,
  type InboundLimitsOptions,
  type InboundSubject,
  subjectKey,
} from '../../src/inbound/engine.js';
import { refusalResponse } from '../../src/inbound/verdict.js';
import type { LimitStore, StoreRequest } from '../../src/limits/store.js';
import { parseRateLimit } from '../../src/signals/index.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import { createManualClock, type ManualClock } from '../../src/time.js';
import { httpStore, type StoreServer, serveStore } from '../limits/support/http-store.js';

const START = 1_700_000_040_000; // a whole minute

/** Inbound limits from a gateway configuration's `inbound` section (YAML, through the real config loader). */
function limitsFrom(inboundYaml: string, options: InboundLimitsOptions & { clock?: ManualClock } = {}) {
  const config = parseConfig(`
tenants:
  acme: { keys: [{ env: ACME_KEY }], plan: pro }
  globex: { keys: [{ env: GLOBEX_KEY }], plan: free }
  initech: { keys: [{ env: INITECH_KEY }] }
upstreams:
  github: { url: https://api.github.com }
  stripe: { url: https://api.stripe.com }
inbound:
${inboundYaml
  .trim()
  .split('\n')
  .map((line) => `  ${line}`)
  .join('\n')}
`);
  const clock = options.clock ?? createManualClock(START);
  return { limits: createInboundLimits(config.inbound, { clock, ...options }), clock };
}

const call = (subject: Partial<InboundSubject> = {}): InboundSubject => ({
  ip: '192.0.2.1',
  method: 'GET',
  path: '/repos/nodejs/node',
  upstream: 'github',
  ...subject,
});

async function allowedCount(check: () => Promise<{ allowed: boolean }>, attempts: number): Promise<number> {
  let allowed = 0;
  for (let index = 0; index < attempts; index++) if ((await check()).allowed) allowed++;
  return allowed;
}

describe('a rule by key', () => {
  const yaml = `
rules:
  - name: per-key
    by: key
    limits: [{ algorithm: fixed-window, limit: 2, window: 1m }]`;

  it('allows the limit with RateLimit fields, then refuses with 429, Retry-After, the fields and a problem body', async () => {
    const { limits } = limitsFrom(yaml);
    const first = await limits.check(call({ key: 'secret-a' }));
    expect(first).toMatchObject({ allowed: true, outcome: 'allowed', status: null, retryAfterMs: 0 });
    expect(first.problem).toBeUndefined();
    expect(first.rule).toBe('per-key');
    expect(first.headers).toEqual({ 'ratelimit-policy': '"per-key";q=2;w=60', ratelimit: '"per-key";r=1;t=60' });
    expect((await limits.check(call({ key: 'secret-a' }))).headers.ratelimit).toBe('"per-key";r=0;t=60');

    const refused = await limits.check(call({ key: 'secret-a' }));
    expect(refused).toMatchObject({ allowed: false, outcome: 'limited', status: 429, retryAfterMs: 60_000 });
    expect(refused.headers).toEqual({
      'ratelimit-policy': '"per-key";q=2;w=60',
      ratelimit: '"per-key";r=0;t=60',
      'retry-after': '60',
    });
    expect(refused.problem).toEqual({
      status: 429,
      kind: 'inbound-limit',
      title: 'Too Many Requests',
      detail: 'Rule "per-key" allows 2 requests per minute; retry after 60 seconds.',
      retryAfterSeconds: 60,
      extra: { rule: 'per-key', policy: 'per-key', limit: 2, windowSeconds: 60 },
    });
    const response = refusalResponse(refused);
    expect(response?.status).toBe(429);
    expect(response?.headers).toEqual({
      ...refused.headers,
      'content-type': 'application/problem+json',
      'cache-control': 'no-store',
    });
    expect(JSON.parse(response?.body ?? '')).toEqual({
      type: 'urn:sluice:problem:inbound-limit',
      title: 'Too Many Requests',
      status: 429,
      detail: 'Rule "per-key" allows 2 requests per minute; retry after 60 seconds.',
      retryAfterSeconds: 60,
      rule: 'per-key',
      policy: 'per-key',
      limit: 2,
      windowSeconds: 60,
    });
  });

  it("a refusal sent with the gateway's sendProblem is the same answer as refusalResponse", async () => {
    const { limits } = limitsFrom(yaml);
    await limits.check(call());
    await limits.check(call());
    const refused = await limits.check(call());
    const server = createServer((_request, response) => {
      if (refused.problem) sendProblem(response, refused.problem, refused.headers);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const answer = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      const expected = refusalResponse(refused);
      expect(answer.status).toBe(expected?.status);
      for (const [name, value] of Object.entries(expected?.headers ?? {})) expect(answer.headers.get(name)).toBe(value);
      expect(await answer.text()).toBe(expected?.body);
    } finally {
      server.close();
    }
  });

  it('keeps each key apart, and allows again when the window has passed', async () => {
    const { limits, clock } = limitsFrom(yaml);
    expect(await allowedCount(() => limits.check(call({ key: 'secret-a' })), 5)).toBe(2);
    expect(await allowedCount(() => limits.check(call({ key: 'secret-b' })), 5)).toBe(2);
    clock.advance(60_000);
    expect(await allowedCount(() => limits.check(call({ key: 'secret-a' })), 5)).toBe(2);
  });

  it('limits callers without a key by their address (IPv6 by /64), never not at all', async () => {
    const { limits } = limitsFrom(yaml);
    expect(await allowedCount(() => limits.check(call({ ip: '192.0.2.1' })), 3)).toBe(2);
    expect(await allowedCount(() => limits.check(call({ ip: '192.0.2.2' })), 3)).toBe(2);
    expect(await allowedCount(() => limits.check(call({ ip: '2001:db8:1:2::a' })), 1)).toBe(1);
    expect(await allowedCount(() => limits.check(call({ ip: '2001:db8:1:2:ffff::b' })), 3)).toBe(1);
  });

  it('never puts a caller’s key into the store, only its digest', async () => {
    const seen: string[] = [];
    const memory = createMemoryStore();
    const recording: LimitStore = {
      evaluate(request: StoreRequest) {
        seen.push(request.key);
        return memory.evaluate(request);
      },
    };
    const { limits } = limitsFrom(yaml, { store: recording });
    await limits.check(call({ key: 'sk_live_very_secret' }));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^key:[A-Za-z0-9_-]{43}$/);
    expect(seen[0]).not.toContain('secret');
  });
});

describe('what each kind of rule keys on', () => {
  it('ip: one IPv4 address, one IPv6 /64; ::ffff:a.b.c.d is its IPv4 address; garbage shares one key', () => {
    const key = (ip: unknown) => subjectKey('ip', call({ ip: ip as string }));
    expect(key('192.0.2.1')).toBe('ip:192.0.2.1');
    expect(key('::ffff:192.0.2.1')).toBe('ip:192.0.2.1');
    expect(key('2001:db8:1:2:3:4:5:6')).toBe('ip:2001:db8:1:2::/64');
    expect(key('2001:DB8:1:2::9')).toBe('ip:2001:db8:1:2::/64');
    expect(key('not an address')).toBe('ip:unknown');
    expect(key(undefined)).toBe('ip:unknown');
  });

  it('route: the upstream, the method and the path with ids replaced (or the configured route)', () => {
    const key = (subject: Partial<InboundSubject>) => subjectKey('route', call(subject));
    expect(key({ method: 'get', path: '/repos/1/issues?page=2' })).toBe('route:github GET /repos/{}/issues');
    expect(key({ path: '/users/6ba7b810-9dad-11d1-80b4-00c04fd430c8' })).toBe('route:github GET /users/{}');
    expect(key({ path: '/commits/0123456789abcdef' })).toBe('route:github GET /commits/{}');
    expect(key({ path: '/repos/nodejs/node' })).toBe('route:github GET /repos/nodejs/node');
    expect(key({ upstream: 'stripe', path: '/' })).toBe('route:stripe GET /');
    expect(key({ route: 'GET /repos/{owner}/{repo}', path: '/repos/a/b' })).toBe(
      'route:github GET /repos/{owner}/{repo}',
    );
    expect(key({ path: `/${'segment/'.repeat(100)}` }).length).toBeLessThanOrEqual('route:github '.length + 256);
  });

  it('tenant and plan: their names; callers without one by their address', () => {
    expect(subjectKey('tenant', call({ tenant: 'acme' }))).toBe('tenant:acme');
    expect(subjectKey('plan', call({ plan: 'pro' }))).toBe('plan:pro');
    expect(subjectKey('tenant', call())).toBe('ip:192.0.2.1');
    expect(subjectKey('plan', call())).toBe('ip:192.0.2.1');
  });

  it('route: calls on one route share the limit whoever makes them', async () => {
    const { limits } = limitsFrom(`
rules:
  - { by: route, limits: [{ algorithm: sliding-window, limit: 3, window: 1s }] }`);
    const onRepo = (id: number, ip: string) => limits.check(call({ path: `/repos/${id}/issues`, ip }));
    expect((await onRepo(1, '192.0.2.1')).allowed).toBe(true);
    expect((await onRepo(2, '192.0.2.2')).allowed).toBe(true);
    expect((await onRepo(3, '192.0.2.3')).allowed).toBe(true);
    const refused = await onRepo(4, '192.0.2.4');
    expect(refused).toMatchObject({ allowed: false, rule: 'route' });
    expect((await limits.check(call({ method: 'POST', path: '/repos/1/issues' }))).allowed).toBe(true);
    expect((await limits.check(call({ upstream: 'stripe', path: '/repos/1/issues' }))).allowed).toBe(true);
  });
});

describe('plans and upstreams', () => {
  const yaml = `
rules:
  - name: per-tenant
    by: tenant
    upstreams: [github]
    limits: [{ algorithm: fixed-window, limit: 1, window: 1m }]
    plans:
      pro: [{ algorithm: fixed-window, limit: 3, window: 1m }]
  - name: pro-only
    by: plan
    plans:
      pro: [{ algorithm: token-bucket, limit: 100, window: 1m, burst: 5 }]`;

  it('a plan entry replaces the rule’s limits for that plan’s tenants; the others get the limits', async () => {
    const { limits } = limitsFrom(yaml);
    expect(await allowedCount(() => limits.check(call({ tenant: 'acme', plan: 'pro' })), 5)).toBe(3);
    expect(await allowedCount(() => limits.check(call({ tenant: 'globex', plan: 'free' })), 5)).toBe(1);
    expect(await allowedCount(() => limits.check(call({ tenant: 'initech' })), 5)).toBe(1);
  });

  it('a rule applies only to its upstreams; a rule with plans only applies only to those plans', async () => {
    const { limits } = limitsFrom(yaml);
    // stripe: per-tenant does not apply; pro-only does (to acme, on plan pro), with its burst of 5.
    expect(await allowedCount(() => limits.check(call({ upstream: 'stripe', tenant: 'acme', plan: 'pro' })), 9)).toBe(
      5,
    );
    const free = await limits.check(call({ upstream: 'stripe', tenant: 'globex', plan: 'free' }));
    expect(free).toMatchObject({ allowed: true, rule: null, decision: null, headers: {} });
    // A call for no upstream (middleware-style) skips every rule that names upstreams.
    expect((await limits.check(call({ upstream: undefined, tenant: 'initech' }))).rule).toBe(null);
  });

  it('by plan: every tenant on a plan shares its limit', async () => {
    const { limits } = limitsFrom(`
rules:
  - by: plan
    limits: [{ algorithm: fixed-window, limit: 2, window: 1m }]`);
    expect((await limits.check(call({ tenant: 'acme', plan: 'pro' }))).allowed).toBe(true);
    expect((await limits.check(call({ tenant: 'other', plan: 'pro' }))).allowed).toBe(true);
    expect((await limits.check(call({ tenant: 'acme', plan: 'pro' }))).allowed).toBe(false);
    expect((await limits.check(call({ tenant: 'globex', plan: 'free' }))).allowed).toBe(true);
  });
});

describe('several rules', () => {
  const yaml = `
rules:
  - name: per-key
    by: key
    limits:
      - { algorithm: fixed-window, limit: 10, window: 1m }
      - { name: per-key-burst, algorithm: token-bucket, limit: 1, window: 1s, burst: 4 }
  - name: per-route
    by: route
    limits: [{ algorithm: fixed-window, limit: 6, window: 1m }]`;

  it('must all pass; the fields report the most restrictive policy among them', async () => {
    const { limits } = limitsFrom(yaml);
    const first = await limits.check(call({ key: 'a' }));
    // per-key: 9 left; per-key-burst: 3 left; per-route: 5 left.
    expect(first).toMatchObject({ allowed: true, rule: 'per-key' });
    expect(first.headers).toEqual({
      'ratelimit-policy': '"per-key-burst";q=1;w=1',
      ratelimit: '"per-key-burst";r=3;t=1',
    });
    const other = await limits.check(call({ key: 'b' }));
    for (let index = 0; index < 3; index++) await limits.check(call({ key: `c${index}` }));
    // The route has 1 left; key "b" has 3 in its bucket: the route is reported.
    const next = await limits.check(call({ key: 'b' }));
    expect(other.allowed && next.allowed).toBe(true);
    expect(next.headers).toEqual({ 'ratelimit-policy': '"per-route";q=6;w=60', ratelimit: '"per-route";r=0;t=60' });
    expect(next.rule).toBe('per-route');
  });

  it('stop at the first refusal: rules before it have consumed, rules after it have not', async () => {
    const { limits, clock } = limitsFrom(yaml);
    // Key "a" spends its burst of 4; the 5th is refused by per-key (per-route untouched by it).
    expect(await allowedCount(() => limits.check(call({ key: 'a' })), 5)).toBe(4);
    const byKey = await limits.check(call({ key: 'a' }));
    expect(byKey).toMatchObject({ allowed: false, rule: 'per-key', status: 429 });
    expect(byKey.problem?.extra.policy).toBe('per-key-burst');
    // per-route has 2 left of 6: per-key's refusals did not reach it.
    expect(await allowedCount(() => limits.check(call({ key: 'b' })), 4)).toBe(2);
    // Now per-route refuses key "c": per-key consumed for "c" anyway (documented), 3 of its burst remain.
    const byRoute = await limits.check(call({ key: 'c' }));
    expect(byRoute).toMatchObject({ allowed: false, rule: 'per-route' });
    clock.advance(60_000);
    const after = await limits.check(call({ key: 'c' }));
    expect(after.allowed).toBe(true);
  });

  it('give back the concurrency slots of earlier rules when a later rule refuses', async () => {
    const { limits } = limitsFrom(`
rules:
  - name: in-flight
    by: key
    limits: [{ algorithm: concurrency, limit: 2 }]
  - name: per-route
    by: route
    limits: [{ algorithm: fixed-window, limit: 1, window: 1m }]`);
    const held = await limits.check(call({ key: 'a', path: '/one' }));
    expect(held.allowed).toBe(true);
    expect(held.holds).toHaveLength(1);
    expect(held.headers.ratelimit).toBe('"per-route";r=0;t=60');
    // Refused by per-route, which must not keep "a"'s second slot.
    for (let index = 0; index < 3; index++) {
      expect((await limits.check(call({ key: 'a', path: '/one' }))).rule).toBe('per-route');
    }
    const second = await limits.check(call({ key: 'a', path: '/two' }));
    expect(second.allowed).toBe(true);
    expect((await limits.check(call({ key: 'a', path: '/three' }))).rule).toBe('in-flight');
    await limits.release(held);
    await limits.release(held); // twice is harmless
    expect((await limits.check(call({ key: 'a', path: '/four' }))).allowed).toBe(true);
  });
});

describe('algorithms through the config', () => {
  it('a leaky bucket admits its whole capacity (burst) at once and then one per interval, never delaying', async () => {
    const { limits, clock } = limitsFrom(`
rules:
  - by: ip
    limits: [{ algorithm: leaky-bucket, limit: 10, window: 1s, burst: 3 }]`);
    expect(await allowedCount(() => limits.check(call()), 5)).toBe(3);
    const refused = await limits.check(call());
    expect(refused.retryAfterMs).toBe(100);
    expect(refused.headers['retry-after']).toBe('1');
    clock.advance(100);
    const next = await limits.check(call());
    expect(next.allowed).toBe(true);
    expect(next.decision?.delayMs).toBe(0);
  });

  it('each algorithm of createLimiter can be configured', async () => {
    for (const policy of [
      '{ algorithm: fixed-window, limit: 2, window: 1m }',
      '{ algorithm: sliding-window, limit: 2, window: 1m }',
      '{ algorithm: sliding-log, limit: 2, window: 1m }',
      '{ algorithm: token-bucket, limit: 2, window: 1m }',
      '{ algorithm: leaky-bucket, limit: 2, window: 1m }',
      '{ algorithm: concurrency, limit: 2, lease: 30s }',
    ]) {
      const { limits } = limitsFrom(`rules: [{ by: ip, limits: [${policy}] }]`);
      expect(await allowedCount(() => limits.check(call()), 4), policy).toBe(2);
    }
  });
});

describe('headers: which draft', () => {
  it.each([
    ['draft-07', { 'ratelimit-policy': '5;w=1', ratelimit: 'limit=5, remaining=4, reset=1' }],
    [
      'draft-06',
      { 'ratelimit-limit': '5', 'ratelimit-remaining': '4', 'ratelimit-reset': '1', 'ratelimit-policy': '5;w=1' },
    ],
    ['none', {}],
  ])('%s', async (draft, expected) => {
    const { limits } = limitsFrom(`
headers: ${draft}
rules: [{ by: ip, limits: [{ algorithm: fixed-window, limit: 5, window: 1s }] }]`);
    expect((await limits.check(call())).headers).toEqual(expected);
    expect(limits.headers).toBe(draft);
  });

  it('none still sends Retry-After on a refusal', async () => {
    const { limits } = limitsFrom(`
headers: none
rules: [{ by: ip, limits: [{ algorithm: fixed-window, limit: 1, window: 1s }] }]`);
    await limits.check(call());
    expect((await limits.check(call())).headers).toEqual({ 'retry-after': '1' });
  });

  it('every draft reads back through parseRateLimit on the allowed reply and the 429', async () => {
    for (const draft of ['draft-10', 'draft-07', 'draft-06']) {
      const { limits, clock } = limitsFrom(`
headers: ${draft}
rules: [{ by: ip, limits: [{ algorithm: sliding-window, limit: 2, window: 10s }] }]`);
      const allowed = await limits.check(call());
      const read = parseRateLimit({ status: 200, headers: allowed.headers }, { now: clock.now() });
      expect(read, draft).toMatchObject({ limited: false, limit: 2, remaining: 1 });
      await limits.check(call());
      const refused = await limits.check(call());
      const response = refusalResponse(refused);
      const signal = parseRateLimit(
        { status: response?.status ?? 0, headers: response?.headers ?? {}, body: response?.body },
        { now: clock.now() },
      );
      expect(signal, draft).toMatchObject({ limited: true, limit: 2, remaining: 0 });
      expect(signal.retryAfterMs, draft).toBe(Math.ceil(refused.retryAfterMs / 1000) * 1000);
    }
  });
});

describe('when the store cannot answer', () => {
  let server: StoreServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function downStore(): Promise<LimitStore> {
    server = await serveStore(createMemoryStore());
    const store = httpStore(server.url);
    await server.stop();
    return store;
  }

  const yaml = `
rules:
  - name: per-ip
    by: ip
    limits: [{ algorithm: fixed-window, limit: 1, window: 1m }]
  - name: per-route
    by: route
    limits: [{ algorithm: fixed-window, limit: 100, window: 1m }]`;

  it("by default ('open') lets calls through, says 'unavailable', and reports no RateLimit fields it cannot know", async () => {
    const { limits } = limitsFrom(yaml, { store: await downStore() });
    for (let index = 0; index < 3; index++) {
      const verdict = await limits.check(call());
      expect(verdict).toMatchObject({ allowed: true, outcome: 'unavailable', status: null, headers: {} });
    }
  });

  it("'closed' refuses with 503 (never 429) and a problem that says the limits are unavailable", async () => {
    const { limits } = limitsFrom(yaml, { store: await downStore(), onStoreError: 'closed' });
    const verdict = await limits.check(call());
    expect(verdict).toMatchObject({ allowed: false, outcome: 'unavailable', status: 503, retryAfterMs: 1000 });
    expect(verdict.headers).toEqual({ 'retry-after': '1' });
    expect(verdict.problem).toMatchObject({
      kind: 'inbound-limits-unavailable',
      title: 'Rate Limits Unavailable',
      status: 503,
      retryAfterSeconds: 1,
      extra: { rule: 'per-ip' },
    });
    expect(JSON.parse(refusalResponse(verdict)?.body ?? '')).toMatchObject({
      type: 'urn:sluice:problem:inbound-limits-unavailable',
      status: 503,
      rule: 'per-ip',
    });
    expect(verdict.problem?.detail).toContain('onStoreError: closed');
  });

  it('recovers by itself when the store is back', async () => {
    server = await serveStore(createMemoryStore());
    const { limits } = limitsFrom(yaml, { store: httpStore(server.url), onStoreError: 'closed' });
    await server.stop();
    expect((await limits.check(call())).status).toBe(503);
    await server.start();
    expect(await limits.check(call())).toMatchObject({ allowed: true, outcome: 'allowed' });
    expect(await limits.check(call())).toMatchObject({ allowed: false, outcome: 'limited', status: 429 });
  });
});

describe('bad input', () => {
  const rule = {
    name: 'r',
    by: 'ip' as const,
    upstreams: null,
    plans: {},
    limits: [{ algorithm: 'fixed-window' as const, name: 'r', limit: 1, windowMs: 1000 }],
  };

  it('an invalid policy names its place in the configuration', () => {
    const bad = { ...rule, limits: [{ ...rule.limits[0]!, limit: 0 }] };
    expect(() => createInboundLimits({ headers: 'draft-10', rules: [rule, bad] })).toThrow(
      'inbound.rules[1].limits[0].limit: expected a positive integer, got 0',
    );
    const badPlan = { ...rule, plans: { pro: [{ ...rule.limits[0]!, windowMs: -1 }] } };
    expect(() => createInboundLimits({ headers: 'draft-10', rules: [badPlan] })).toThrow(
      /^inbound\.rules\[0\]\.plans\.pro\[0\]\.window: /,
    );
  });

  it('an unknown draft or store-error policy is an InvalidOptionError', () => {
    expect(() => createInboundLimits({ headers: 'draft-99' as never, rules: [] })).toThrow(InvalidOptionError);
    expect(() => createInboundLimits({ headers: 'draft-10', rules: [] }, { onStoreError: 'ignore' as never })).toThrow(
      'onStoreError: expected "open", "closed" or "local", got "ignore"',
    );
  });

  it('a subject with garbage in it is checked, not crashed on', async () => {
    const limits = createInboundLimits({
      headers: 'draft-10',
      rules: [
        { ...rule, by: 'route' },
        { ...rule, name: 'k', by: 'key' },
      ],
    });
    const garbage = { ip: 42, method: undefined, path: null, key: '' } as unknown as InboundSubject;
    expect((await limits.check(garbage)).allowed).toBe(true);
    expect((await limits.check(garbage)).allowed).toBe(false);
  });

  it('no rules: everything is allowed, with no fields', async () => {
    const limits = createInboundLimits({ headers: 'draft-10', rules: [] });
    expect(await limits.check(call())).toMatchObject({ allowed: true, outcome: 'allowed', headers: {}, rule: null });
  });
});
