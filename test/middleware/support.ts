/**
 * What the Express, Fastify and Hono tests share: a real HTTP client (with a chosen source address), and one suite
 * of behaviours every middleware must show, run against each framework's real app on a real port.
 */
import { type IncomingHttpHeaders, request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { clientAddressKey } from '../../src/inbound/address.js';
import { createLimiter } from '../../src/limits/limiter.js';
import type { LimitStore, StoreRequest } from '../../src/limits/store.js';
import type { RateLimitOptions } from '../../src/middleware/core.js';
import { parseRateLimit } from '../../src/signals/index.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import { createManualClock } from '../../src/time.js';
import { httpStore, serveStore } from '../limits/support/http-store.js';

export const START = 1_700_000_040_000; // a whole minute: fixed windows reset in exactly 60 s

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface SendOptions {
  headers?: Record<string, string>;
  /** The client's source address (127.0.0.2, ::1...). */
  localAddress?: string;
  host?: string;
}

/** One request on a fresh connection, so the source address is the one asked for. */
export function send(port: number, path: string, options: SendOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: options.host ?? '127.0.0.1',
        port,
        path,
        headers: options.headers,
        localAddress: options.localAddress,
        agent: false,
      },
      (incoming) => {
        let body = '';
        incoming.setEncoding('utf8');
        incoming.on('data', (chunk: string) => {
          body += chunk;
        });
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body }));
        incoming.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** A second IPv6 address of this machine outside ::/64 (such as a ULA), if it has one. */
export function otherIPv6Address(): string | undefined {
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (entry.family === 'IPv6' && !entry.internal && !entry.address.startsWith('fe80')) return entry.address;
    }
  }
  return undefined;
}

/** A real memory store that notes the keys it is asked about. */
export function recordingStore(): LimitStore & { keys: string[] } {
  const memory = createMemoryStore();
  const keys: string[] = [];
  return {
    keys,
    evaluate(storeRequest: StoreRequest) {
      keys.push(storeRequest.key);
      return memory.evaluate(storeRequest);
    },
  };
}

/** A store whose server is gone: every evaluation fails with a refused connection. */
export async function unreachableStore(): Promise<LimitStore> {
  const server = await serveStore(createMemoryStore());
  const store = httpStore(server.url);
  await server.stop();
  return store;
}

export interface TestApp {
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the framework's app, listening on `::` (IPv4 and IPv6), with the middleware applied to every route:
 * `GET /hello` answers "hello"; `GET /hold` answers only once `release()` of the returned gate is called.
 */
// biome-ignore lint/suspicious/noExplicitAny: each framework has its own request type
export type StartApp = (options: RateLimitOptions<any>, gate: Gate) => Promise<TestApp>;

export interface Gate {
  /** Resolves when the test opens the gate. */
  wait(): Promise<void>;
  /** Resolves when a request has reached the handler and is waiting. */
  entered(): Promise<void>;
  open(): void;
}

export function createGate(): Gate {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  let enter: () => void = () => {};
  const entered = new Promise<void>((resolve) => {
    enter = resolve;
  });
  return {
    wait() {
      enter();
      return opened;
    },
    entered: () => entered,
    open,
  };
}

const twoPerMinute = { algorithm: 'fixed-window', limit: 2, window: '1m' } as const;

export function runMiddlewareSuite(framework: string, start: StartApp): void {
  describe(`${framework}: rateLimit`, () => {
    let app: TestApp | undefined;
    afterEach(async () => {
      await app?.close();
      app = undefined;
    });
    const launch = async (options: RateLimitOptions<unknown>, gate = createGate()) => {
      app = await start(options, gate);
      return app;
    };
    const clock = () => createManualClock(START);

    it('allowed replies carry the RateLimit fields; the (limit+1)th gets 429, Retry-After, the fields and a problem', async () => {
      const { port } = await launch({ limits: twoPerMinute, clock: clock() });
      const first = await send(port, '/hello');
      expect(first.status).toBe(200);
      expect(first.body).toBe('hello');
      expect(first.headers['ratelimit-policy']).toBe('"default";q=2;w=60');
      expect(first.headers.ratelimit).toBe('"default";r=1;t=60');
      expect(first.headers['retry-after']).toBeUndefined();
      const second = await send(port, '/hello');
      expect(second.status).toBe(200);
      expect(second.headers.ratelimit).toBe('"default";r=0;t=60');

      const refused = await send(port, '/hello');
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('60');
      expect(refused.headers['ratelimit-policy']).toBe('"default";q=2;w=60');
      expect(refused.headers.ratelimit).toBe('"default";r=0;t=60');
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(refused.body)).toEqual({
        type: 'urn:sluice:problem:inbound-limit',
        title: 'Too Many Requests',
        status: 429,
        detail: 'Policy "default" allows 2 requests per minute; retry after 60 seconds.',
        retryAfterSeconds: 60,
        policy: 'default',
        limit: 2,
        windowSeconds: 60,
      });
      // Sluice's own reader understands the refusal.
      const signal = parseRateLimit(
        { status: refused.status, headers: refused.headers as Record<string, string>, body: refused.body },
        { now: START },
      );
      expect(signal).toMatchObject({ limited: true, limit: 2, remaining: 0, retryAfterMs: 60_000 });
    });

    it('a key function keeps callers apart; a request it cannot name is limited by its address', async () => {
      const { port } = await launch({
        limits: twoPerMinute,
        clock: clock(),
        key: (request: unknown) => headerOf(request, 'x-api-key'),
      });
      const as = (key?: string) => send(port, '/hello', key ? { headers: { 'x-api-key': key } } : {});
      expect([(await as('a')).status, (await as('a')).status, (await as('a')).status]).toEqual([200, 200, 429]);
      expect((await as('b')).status).toBe(200);
      expect([(await as()).status, (await as()).status, (await as()).status]).toEqual([200, 200, 429]);
      expect((await as('b')).status).toBe(200);
    });

    it('by default each client address is a caller (IPv4-mapped IPv6 as IPv4, IPv6 by /64)', async () => {
      const store = recordingStore();
      const { port } = await launch({ limits: { ...twoPerMinute, limit: 1 }, store, clock: clock() });
      expect((await send(port, '/hello', { localAddress: '127.0.0.1' })).status).toBe(200);
      expect((await send(port, '/hello', { localAddress: '127.0.0.1' })).status).toBe(429);
      expect((await send(port, '/hello', { localAddress: '127.0.0.2' })).status).toBe(200);
      expect((await send(port, '/hello', { host: '::1' })).status).toBe(200);
      expect((await send(port, '/hello', { host: '::1' })).status).toBe(429);
      const expected = ['127.0.0.1', '127.0.0.1', '127.0.0.2', '::/64', '::/64'];
      const other = otherIPv6Address();
      if (other !== undefined) {
        expect((await send(port, '/hello', { host: other, localAddress: other })).status).toBe(200);
        expected.push(clientAddressKey(other) as string);
      }
      expect(store.keys).toEqual(expected);
    });

    it('headers: draft-07, draft-06 or none', async () => {
      const { port } = await launch({ limits: twoPerMinute, clock: clock(), headers: 'draft-07' });
      const draft07 = await send(port, '/hello');
      expect(draft07.headers['ratelimit-policy']).toBe('2;w=60');
      expect(draft07.headers.ratelimit).toBe('limit=2, remaining=1, reset=60');
      await app?.close();
      const { port: port06 } = await launch({ limits: twoPerMinute, clock: clock(), headers: 'draft-06' });
      const draft06 = await send(port06, '/hello');
      expect([draft06.headers['ratelimit-limit'], draft06.headers['ratelimit-remaining']]).toEqual(['2', '1']);
      expect(draft06.headers['ratelimit-reset']).toBe('60');
      await app?.close();
      const { port: portNone } = await launch({
        limits: { ...twoPerMinute, limit: 1 },
        clock: clock(),
        headers: 'none',
      });
      expect((await send(portNone, '/hello')).headers.ratelimit).toBeUndefined();
      const refused = await send(portNone, '/hello');
      expect(refused.status).toBe(429);
      expect(refused.headers.ratelimit).toBeUndefined();
      expect(refused.headers['retry-after']).toBe('60');
    });

    it('a store outage lets calls through by default (no fields) and gives 503, never 429, when closed', async () => {
      const { port } = await launch({ limits: { ...twoPerMinute, limit: 1 }, store: await unreachableStore() });
      for (let index = 0; index < 3; index++) {
        const answer = await send(port, '/hello');
        expect(answer.status).toBe(200);
        expect(answer.headers.ratelimit).toBeUndefined();
      }
      await app?.close();
      const closed = await launch({ limits: twoPerMinute, store: await unreachableStore(), onStoreError: 'closed' });
      const refused = await send(closed.port, '/hello');
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(JSON.parse(refused.body)).toMatchObject({
        type: 'urn:sluice:problem:inbound-limits-unavailable',
        status: 503,
      });
    });

    it('a concurrency slot is held until the response ends', async () => {
      const gate = createGate();
      const { port } = await launch({ limits: { algorithm: 'concurrency', limit: 1 }, clock: clock() }, gate);
      const held = send(port, '/hold');
      await gate.entered();
      const refused = await send(port, '/hello');
      expect(refused.status).toBe(429);
      expect(refused.headers.ratelimit).toBe('"default";r=0');
      gate.open();
      expect((await held).status).toBe(200);
      // The slot is released when the response is done (on 'close' for Node-based frameworks).
      let status = 0;
      for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
        status = (await send(port, '/hello')).status;
        if (status !== 200) await new Promise((resolve) => setImmediate(resolve));
      }
      expect(status).toBe(200);
    });

    it('holds a request back as long as a leaky bucket without nodelay says (nginx limit_req)', async () => {
      const manual = clock();
      const { port } = await launch({
        limits: { algorithm: 'leaky-bucket', limit: 10, window: '1s', burst: 2 },
        clock: manual,
      });
      expect((await send(port, '/hello')).status).toBe(200);
      // The second is admitted at once but held 100 ms: it answers only when the clock gets there.
      const held = send(port, '/hello');
      await until(() => manual.pendingTimers() === 1);
      manual.advance(99);
      expect(manual.pendingTimers()).toBe(1);
      manual.advance(1);
      expect((await held).status).toBe(200);
    });

    it('takes a limiter of your own', async () => {
      const limiter = createLimiter(
        { algorithm: 'sliding-window', name: 'per-ip', limit: 1, window: '10s' },
        { clock: clock() },
      );
      const { port } = await launch({ limiter });
      expect((await send(port, '/hello')).headers['ratelimit-policy']).toBe('"per-ip";q=1;w=10');
      const refused = await send(port, '/hello');
      expect(refused.status).toBe(429);
      expect(JSON.parse(refused.body).policy).toBe('per-ip');
    });

    it('refuses bad options when the middleware is set up, naming the option', async () => {
      const attempts: Array<[RateLimitOptions<unknown>, string]> = [
        [{}, 'limits: required'],
        [{ limits: twoPerMinute, limiter: createLimiter(twoPerMinute) }, 'limiter: give either limits or limiter'],
        [{ limiter: createLimiter(twoPerMinute), onStoreError: 'closed' }, 'onStoreError: set it on the limiter'],
        [{ limits: { ...twoPerMinute, limit: 0 } }, 'policy.limit: expected a positive integer, got 0'],
        [{ limits: twoPerMinute, headers: 'draft-11' as never }, 'headers: expected one of'],
        [{ limits: twoPerMinute, key: 'x-api-key' as never }, 'key: expected a function'],
        [{ limits: { ...twoPerMinute, name: 'naïve' } }, 'cannot be sent in a RateLimit field'],
      ];
      for (const [options, message] of attempts) {
        const failure = await start(options, createGate()).then(
          async (started) => {
            await started.close();
            return undefined;
          },
          (error: unknown) => error,
        );
        expect(failure, message).toBeInstanceOf(InvalidOptionError);
        expect((failure as Error).message, message).toContain(message);
      }
    });
  });
}

/** Waits (turning the event loop, never sleeping) until `condition` holds; fails after many turns. */
async function until(condition: () => boolean): Promise<void> {
  for (let turn = 0; turn < 10_000; turn++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect.fail('the condition never held');
}

/** A request header, for key functions, across the three frameworks' request objects. */
function headerOf(request: unknown, name: string): string | undefined {
  const candidate = request as {
    headers?: Record<string, string | string[] | undefined>;
    req?: { header(name: string): string | undefined };
  };
  if (candidate.req !== undefined) return candidate.req.header(name); // Hono's context
  const value = candidate.headers?.[name];
  return typeof value === 'string' ? value : undefined;
}
