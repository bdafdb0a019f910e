import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/create-client.js';
import { nextLink, PaginationError, paginate, paginatePages } from '../../src/client/paginate.js';
import { createManualClock, type ManualClock } from '../../src/time.js';
import { drive } from '../support/drive.js';
import { type SeenRequest, startUpstream } from './support.js';

const T0 = 1_700_000_000_000;
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (opened.length) await opened.pop()?.close();
});

/** 13 items, numbered 1..13. */
const ITEMS = Array.from({ length: 13 }, (_, index) => ({ id: index + 1 }));

async function collect<T>(clock: ManualClock, iterator: AsyncIterable<T>): Promise<T[]> {
  const run = async () => {
    const items: T[] = [];
    for await (const item of iterator) items.push(item);
    return items;
  };
  return drive(clock, run());
}

/**
 * A GitHub-like upstream: 2 calls per 1 s fixed window (started by the first call), GitHub headers, 429 beyond.
 * `page` answers a request that is within the limit.
 */
async function limitedUpstream(clock: ManualClock, page: (request: SeenRequest, url: URL, base: string) => object) {
  let windowEndsAt = 0;
  let used = 0;
  const counts = { accepted: 0, rejected: 0 };
  const upstream = await startUpstream(clock, (request) => {
    const now = clock.now();
    if (now >= windowEndsAt) {
      windowEndsAt = now + 1000;
      used = 0;
    }
    const headers = {
      'x-ratelimit-limit': '2',
      'x-ratelimit-reset': String(Math.ceil(windowEndsAt / 1000)),
      'x-ratelimit-resource': 'core',
      'content-type': 'application/json',
    };
    if (used >= 2) {
      counts.rejected++;
      return {
        status: 429,
        headers: { ...headers, 'x-ratelimit-remaining': '0', 'retry-after': '1' },
        body: '{"message":"rate limited"}',
      };
    }
    used++;
    counts.accepted++;
    const url = new URL(request.path, 'http://upstream');
    const answer = page(request, url, upstream.url) as { headers?: Record<string, string>; body: string };
    return { ...answer, headers: { ...headers, 'x-ratelimit-remaining': String(2 - used), ...answer.headers } };
  });
  return { upstream, counts };
}

describe('paginate', () => {
  it('follows Link rel="next" across rate-limit pauses, every page paced', async () => {
    const clock = createManualClock(T0);
    const { upstream, counts } = await limitedUpstream(clock, (_, url, base) => {
      const page = Number(url.searchParams.get('page') ?? '1');
      const items = ITEMS.slice((page - 1) * 3, page * 3);
      const last = Math.ceil(ITEMS.length / 3);
      const links = [`<${base}/items?page=${last}>; rel="last"`];
      if (page < last) links.unshift(`<${base}/items?page=${page + 1}>; rel="next"`);
      return { headers: { link: links.join(', ') }, body: JSON.stringify(items) };
    });
    const client = createClient({ baseUrl: upstream.url, clock, dialect: 'github' });
    opened.push(upstream, client);
    const items = await collect(clock, paginate<{ id: number }>(client, '/items', { style: 'link' }));
    expect(items.map((item) => item.id)).toEqual(ITEMS.map((item) => item.id));
    expect(upstream.requests.map((request) => request.path)).toEqual([
      '/items',
      '/items?page=2',
      '/items?page=3',
      '/items?page=4',
      '/items?page=5',
    ]);
    // Five pages at two per second: the walk waited for the limit instead of being refused.
    expect(counts.rejected).toBe(0);
    expect(clock.now() - T0).toBeGreaterThanOrEqual(2000);
  });

  it('waits out a 429 with Retry-After in the middle of a walk, then goes on where it was', async () => {
    const clock = createManualClock(T0);
    let refusedOnce = false;
    const upstream = await startUpstream(clock, (request) => {
      const page = Number(new URL(request.path, 'http://upstream').searchParams.get('page') ?? '1');
      if (page === 3 && !refusedOnce) {
        refusedOnce = true;
        return { status: 429, headers: { 'retry-after': '5' }, body: '{"message":"slow down"}' };
      }
      const next = page < 4 ? { link: `<${upstream.url}/items?page=${page + 1}>; rel="next"` } : {};
      return {
        headers: { 'content-type': 'application/json', ...next },
        body: JSON.stringify([page * 10, page * 10 + 1]),
      };
    });
    const client = createClient({ baseUrl: upstream.url, clock });
    opened.push(upstream, client);
    const items = await collect(clock, paginate<number>(client, '/items', { style: 'link' }));
    expect(items).toEqual([10, 11, 20, 21, 30, 31, 40, 41]);
    const pageThree = upstream.requests.filter((request) => request.path === '/items?page=3');
    expect(pageThree).toHaveLength(2);
    expect((pageThree[1]?.atEpochMs ?? 0) - (pageThree[0]?.atEpochMs ?? 0)).toBeGreaterThanOrEqual(5000);
  });

  it('follows a cursor in the body until it is empty', async () => {
    const clock = createManualClock(T0);
    const { upstream } = await limitedUpstream(clock, (_, url) => {
      const start = Number(url.searchParams.get('cursor') ?? '0');
      const next = start + 5 < ITEMS.length ? String(start + 5) : '';
      return {
        body: JSON.stringify({ members: ITEMS.slice(start, start + 5), response_metadata: { next_cursor: next } }),
      };
    });
    const client = createClient({ baseUrl: upstream.url, clock, dialect: 'github' });
    opened.push(upstream, client);
    const items = await collect(
      clock,
      paginate<{ id: number }>(client, '/users.list?limit=5', {
        style: 'cursor',
        items: 'members',
        cursorParam: 'cursor',
        nextCursor: 'response_metadata.next_cursor',
      }),
    );
    expect(items).toHaveLength(13);
    expect(upstream.requests.map((request) => request.path)).toEqual([
      '/users.list?limit=5',
      '/users.list?limit=5&cursor=5',
      '/users.list?limit=5&cursor=10',
    ]);
  });

  it('pages by offset and limit until a short page, and stops at maxItems without fetching more', async () => {
    const clock = createManualClock(T0);
    const { upstream } = await limitedUpstream(clock, (_, url) => {
      const offset = Number(url.searchParams.get('offset'));
      const limit = Number(url.searchParams.get('limit'));
      return { body: JSON.stringify({ results: ITEMS.slice(offset, offset + limit) }) };
    });
    const client = createClient({ baseUrl: upstream.url, clock, dialect: 'github' });
    opened.push(upstream, client);
    const options = { style: 'offset', pageSize: 4, items: 'results' } as const;
    expect(await collect(clock, paginate(client, '/search', options))).toHaveLength(13);
    expect(upstream.requests.map((request) => request.path)).toEqual([
      '/search?offset=0&limit=4',
      '/search?offset=4&limit=4',
      '/search?offset=8&limit=4',
      '/search?offset=12&limit=4',
    ]);
    const first = await collect(clock, paginate<{ id: number }>(client, '/search', { ...options, maxItems: 5 }));
    expect(first.map((item) => item.id)).toEqual([1, 2, 3, 4, 5]);
    expect(upstream.requests).toHaveLength(6);
    const pages = await collect(clock, paginatePages(client, '/search', { ...options, maxPages: 1 }));
    expect(pages.map((page) => [page.number, page.items.length])).toEqual([[1, 4]]);
  });

  it('throws a PaginationError naming the page that failed', async () => {
    const clock = createManualClock(T0);
    const upstream = await startUpstream(clock, (request) =>
      request.path.includes('page=2')
        ? { status: 404, body: 'gone' }
        : { headers: { link: '</items?page=2>; rel="next"' }, body: '[1,2]' },
    );
    const client = createClient({ baseUrl: upstream.url, clock, retry: { attempts: 1 } });
    opened.push(upstream, client);
    const error = await collect(clock, paginate(client, '/items', { style: 'link' })).catch((e) => e);
    expect(error).toBeInstanceOf(PaginationError);
    expect(error.status).toBe(404);
    expect(error.url).toBe('/items?page=2');
    expect(error.message).toBe('page 2 (/items?page=2) answered 404: gone');
    const notAList = await collect(clock, paginate(client, '/items', { style: 'link', items: 'data' })).catch((e) => e);
    expect(notAList.message).toMatch(/has no list of items at "data"/);
  });

  it('refuses bad options with the field named', () => {
    const client = { fetch: async () => new Response('[]') };
    const start = (options: object) => paginate(client, '/x', options as never).next();
    return Promise.all([
      expect(start({ style: 'pages' })).rejects.toThrow('style: expected "link", "cursor" or "offset", got "pages"'),
      expect(start({ style: 'offset' })).rejects.toThrow('pageSize: required with style "offset"'),
      expect(start({ style: 'cursor', nextCursor: 'next' })).rejects.toThrow(/cursorParam/),
      expect(start({ style: 'link', maxPages: 0 })).rejects.toThrow('maxPages: expected a positive integer, got 0'),
    ]);
  });
});

describe('nextLink (RFC 8288)', () => {
  it.each([
    [
      '<https://api.github.com/repos/a/b/issues?page=2>; rel="next", <https://x/last>; rel="last"',
      'https://api.github.com/repos/a/b/issues?page=2',
    ],
    ['<https://x/first>; rel="first", <https://x/p3>; rel=next', 'https://x/p3'],
    ['<https://x/p2>; title="a, b; c"; rel="prev next"', 'https://x/p2'],
    ['<https://x/p1>; rel="prev"', null],
    ['garbage', null],
    ['', null],
  ])('%s', (header, expected) => {
    expect(nextLink(header)).toBe(expected);
  });
});
