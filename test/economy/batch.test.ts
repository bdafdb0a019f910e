import { afterEach, describe, expect, it } from 'vitest';
import { BatchResultError, createBatcher } from '../../src/client/batcher.js';
import { createClient } from '../../src/client/create-client.js';
import type { BatchRouteInput } from '../../src/config/economy.js';
import { CallFailedError } from '../../src/pipeline/errors.js';
import { createManualClock } from '../../src/time.js';
import { drive } from '../support/drive.js';
import { type Handler, startUpstream } from './support.js';

const T0 = 1_700_000_000_000;
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (opened.length) await opened.pop()?.close();
});

describe('createBatcher', () => {
  it('collects the loads of one tick into one call, in order, and fails items one by one', async () => {
    const calls: string[][] = [];
    const load = createBatcher(async (ids: string[]) => {
      calls.push(ids);
      return ids.map((id) => (id === 'bad' ? new Error(`no ${id}`) : `user ${id}`));
    });
    const results = await Promise.allSettled([load.load('1'), load.load('bad'), load.load('2'), load.load('1')]);
    expect(calls).toEqual([['1', 'bad', '2']]);
    expect(results.map((result) => (result.status === 'fulfilled' ? result.value : result.reason.message))).toEqual([
      'user 1',
      'no bad',
      'user 2',
      'user 1',
    ]);
    expect(await load.loadMany(['3', 'bad'])).toEqual(['user 3', new Error('no bad')]);
  });

  it('takes results by key from a Map, and fails the keys it lacks with a typed error', async () => {
    const load = createBatcher(
      async (users: Array<{ id: number }>) =>
        new Map(users.filter((user) => user.id !== 2).map((user) => [user.id, `#${user.id}`])),
      { key: (user) => user.id },
    );
    const [one, two] = await Promise.allSettled([load.load({ id: 1 }), load.load({ id: 2 })]);
    expect(one).toEqual({ status: 'fulfilled', value: '#1' });
    expect(two.status === 'rejected' && two.reason).toBeInstanceOf(BatchResultError);
    expect(two.status === 'rejected' && two.reason.message).toBe('the batch function returned no result for 2');
  });

  it('rejects every item when the results do not line up with the inputs, or the function throws', async () => {
    const short = createBatcher(async (ids: number[]) => ids.slice(1));
    const errors = await Promise.all([short.load(1).catch((e) => e), short.load(2).catch((e) => e)]);
    expect(errors[0]).toBeInstanceOf(BatchResultError);
    expect(errors[0].message).toMatch(/returned 1 results for 2 inputs/);
    const throwing = createBatcher(async () => {
      throw new Error('upstream down');
    });
    await expect(throwing.load('x')).rejects.toThrow('upstream down');
  });

  it('sends at maxBatch at once, and otherwise after maxWaitMs on the injected clock', async () => {
    const clock = createManualClock(T0);
    const calls: number[][] = [];
    const load = createBatcher(
      async (ids: number[]) => {
        calls.push(ids);
        return ids.map((id) => id * 10);
      },
      { maxBatch: 3, maxWaitMs: 50, scheduler: clock },
    );
    const first = [1, 2, 3, 4].map((id) => load.load(id));
    await Promise.resolve();
    expect(calls).toEqual([[1, 2, 3]]);
    expect(load.pending).toBe(1);
    await clock.advanceAsync(49);
    expect(calls).toHaveLength(1);
    await clock.advanceAsync(1);
    expect(calls).toEqual([[1, 2, 3], [4]]);
    expect(await Promise.all(first)).toEqual([10, 20, 30, 40]);
    const late = load.load(5);
    load.flush();
    expect(await late).toBe(50);
  });

  it('drops an item every caller abandoned before its batch was sent', async () => {
    const calls: string[][] = [];
    const load = createBatcher(async (ids: string[]) => {
      calls.push(ids);
      return ids;
    });
    const controller = new AbortController();
    const abandoned = load.load('a', { signal: controller.signal }).catch((error) => error);
    const kept = load.load('b');
    controller.abort(new Error('not needed'));
    expect((await abandoned).message).toBe('not needed');
    expect(await kept).toBe('b');
    expect(calls).toEqual([['b']]);
  });

  it('refuses bad options with the field named', () => {
    expect(() => createBatcher(async () => [], { maxBatch: 0 })).toThrow(
      'maxBatch: expected a positive integer, got 0',
    );
    expect(() => createBatcher(async () => [], { maxWaitMs: -1 })).toThrow('maxWaitMs: expected non-negative');
    expect(() => createBatcher(null as never)).toThrow(/batchFunction: expected a function/);
  });
});

/** A users API with a batch endpoint; user 3 does not exist. */
const usersApi: Handler = (request) => {
  const url = new URL(request.path, 'http://upstream');
  const exists = (id: string) => id !== '3';
  if (request.method === 'GET' && url.pathname === '/users') {
    const ids = (url.searchParams.get('ids') ?? '').split(',');
    return {
      headers: { 'content-type': 'application/json', 'cache-control': 'max-age=60' },
      body: JSON.stringify({ data: ids.filter(exists).map((id) => ({ id: Number(id), name: `user ${id}` })) }),
    };
  }
  if (request.method === 'POST' && url.pathname === '/orgs/acme/members/lookup') {
    const ids = (JSON.parse(request.body) as { logins: string[] }).logins;
    return {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ids.filter(exists).map((login) => ({ profile: { login }, org: 'acme' }))),
    };
  }
  const single = /^\/users\/(\w+)$/.exec(url.pathname);
  if (single) {
    const id = single[1] as string;
    return exists(id)
      ? {
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: Number(id), name: `user ${id}` }),
        }
      : { status: 404, body: '{"error":"no such user"}' };
  }
  if (url.pathname === '/broken') return { status: 503, body: 'maintenance' };
  return { status: 404, body: 'unknown' };
};

const usersRoute: BatchRouteInput = {
  match: 'GET /users/{id}',
  maxWait: 20,
  send: { path: '/users', parameter: 'ids' },
  split: { items: 'data', key: 'id' },
};

async function setup(batch: BatchRouteInput[], handler: Handler = usersApi, client: object = {}) {
  const clock = createManualClock(T0);
  const upstream = await startUpstream(clock, handler);
  const sluice = createClient({ baseUrl: upstream.url, clock, batch, retry: { attempts: 1 }, ...client });
  opened.push(upstream, sluice);
  const fetchAll = (paths: string[]) =>
    drive(
      clock,
      Promise.all(
        paths.map(async (path) => {
          const response = await sluice.fetch(path);
          return { status: response.status, body: await response.text(), headers: response.headers };
        }),
      ),
    );
  return { clock, upstream, client: sluice, fetchAll };
}

describe('the batch stage', () => {
  it('sends single-item calls as one batch call and splits the reply; a missing item is a 404 for its caller', async () => {
    const { upstream, fetchAll } = await setup([usersRoute]);
    const replies = await fetchAll(['/users/1', '/users/2', '/users/3', '/users/1']);
    expect(upstream.requests.map((request) => request.path)).toEqual(['/users?ids=1,2,3']);
    expect(replies.map((reply) => reply.status)).toEqual([200, 200, 404, 200]);
    expect(JSON.parse(replies[0]?.body as string)).toEqual({ id: 1, name: 'user 1' });
    expect(JSON.parse(replies[1]?.body as string)).toEqual({ id: 2, name: 'user 2' });
    expect(JSON.parse(replies[3]?.body as string)).toEqual({ id: 1, name: 'user 1' });
    const missing = replies[2];
    expect(missing?.headers.get('content-type')).toBe('application/problem+json');
    expect(missing?.headers.get('cache-control')).toBe('no-store');
    expect(JSON.parse(missing?.body as string).detail).toMatch(/has no item with id "3"/);
    // Headers of the batch reply that describe one item still apply; its length is the item's own.
    expect(replies[0]?.headers.get('cache-control')).toBe('max-age=60');
    expect(replies[0]?.headers.get('content-length')).toBe(String(replies[0]?.body.length));
  });

  it('sends a call alone when nothing joins it within maxWait, exactly as it came', async () => {
    const { upstream, fetchAll } = await setup([usersRoute]);
    const [reply] = await fetchAll(['/users/7']);
    expect(reply?.status).toBe(200);
    expect(upstream.requests.map((request) => request.path)).toEqual(['/users/7']);
  });

  it('posts the ids as JSON, using the other placeholders in the batch path, and splits by a nested key', async () => {
    const route: BatchRouteInput = {
      match: 'GET /orgs/{org}/members/{login}',
      send: { method: 'POST', path: '/orgs/{org}/members/lookup', parameter: 'logins' },
      split: { key: 'profile.login' },
    };
    const { upstream, fetchAll } = await setup([route]);
    const replies = await fetchAll(['/orgs/acme/members/ann', '/orgs/acme/members/3', '/orgs/acme/members/bob']);
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0]?.method).toBe('POST');
    expect(upstream.requests[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(upstream.requests[0]?.body ?? '')).toEqual({ logins: ['ann', '3', 'bob'] });
    expect(replies.map((reply) => reply.status)).toEqual([200, 404, 200]);
    expect(JSON.parse(replies[2]?.body as string)).toEqual({ profile: { login: 'bob' }, org: 'acme' });
  });

  it('sends at most maxBatch ids per call, and batches per tenant', async () => {
    const { upstream, clock, client } = await setup([{ ...usersRoute, maxBatch: 2 }]);
    const calls = [
      client.fetch('/users/1'),
      client.fetch('/users/2'),
      client.fetch('/users/4'),
      client.fetch('/users/5', { sluice: { tenant: 'other' } }),
      client.fetch('/users/6', { sluice: { tenant: 'other' } }),
    ];
    const responses = await drive(clock, Promise.all(calls));
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    expect(upstream.requests.map((request) => request.path).sort()).toEqual([
      '/users/4',
      '/users?ids=1,2',
      '/users?ids=5,6',
    ]);
  });

  it('gives every caller the upstream’s answer when the batch call fails as a whole', async () => {
    const route: BatchRouteInput = {
      match: 'GET /things/{id}',
      send: { path: '/broken', parameter: 'ids' },
      split: { key: 'id' },
    };
    const { fetchAll } = await setup([route]);
    const replies = await fetchAll(['/things/1', '/things/2']);
    expect(replies.map((reply) => [reply.status, reply.body])).toEqual([
      [503, 'maintenance'],
      [503, 'maintenance'],
    ]);
  });

  it('fails the calls with a 502-class error when the batch reply cannot be split', async () => {
    const route: BatchRouteInput = { ...usersRoute, split: { items: 'missing', key: 'id' } };
    const { clock, client } = await setup([route]);
    const errors = await drive(
      clock,
      Promise.all(['/users/1', '/users/2'].map((path) => client.fetch(path).catch((error: unknown) => error))),
    );
    for (const error of errors) {
      expect(error).toBeInstanceOf(CallFailedError);
      expect((error as CallFailedError).reason).toBe('upstream-protocol');
      expect((error as CallFailedError).message).toMatch(/expected a list of items at "missing"/);
    }
  });

  it('a caller that aborts leaves its batch; the others are answered', async () => {
    const { clock, client, upstream } = await setup([usersRoute]);
    const controller = new AbortController();
    const leaving = client.fetch('/users/1', { signal: controller.signal }).catch((error: unknown) => error);
    const staying = [client.fetch('/users/2'), client.fetch('/users/4')];
    controller.abort();
    const [error, ...responses] = await drive(clock, Promise.all([leaving, ...staying]));
    expect((error as CallFailedError).reason).toBe('aborted');
    expect(responses.map((response) => (response as Response).status)).toEqual([200, 200]);
    expect(upstream.requests.map((request) => request.path)).toEqual(['/users?ids=2,4']);
  });

  it('works under the cache: split items are stored, so repeated reads cost nothing', async () => {
    const { upstream, fetchAll } = await setup([usersRoute], usersApi, { cache: { enabled: true } });
    await fetchAll(['/users/1', '/users/2']);
    const again = await fetchAll(['/users/1', '/users/2']);
    expect(again.map((reply) => reply.headers.get('cache-status'))).toEqual([
      'sluice; hit; ttl=60',
      'sluice; hit; ttl=60',
    ]);
    expect(upstream.requests).toHaveLength(1);
  });

  it('refuses a batch route it cannot use, naming the option', () => {
    const make = (route: BatchRouteInput) => () => createClient({ baseUrl: 'http://127.0.0.1:1', batch: [route] });
    expect(make({ ...usersRoute, match: 'GET /users' })).toThrow(/batch\[0\]\.match: needs a placeholder/);
    expect(make({ ...usersRoute, match: 'POST /users/{id}' })).toThrow(/only GET calls are batched/);
    expect(make({ ...usersRoute, send: { path: '/users/{id}', parameter: 'ids' } })).toThrow(/batch\[0\]\.send\.path/);
    expect(make({ ...usersRoute, split: { key: '' } })).toThrow(/batch\[0\]\.split\.key/);
  });
});
