/**
 * Pagination as an async iterator: follows RFC 8288 `Link: <...>; rel="next"` (GitHub), a cursor in the body
 * (Slack, Stripe...) or offset/limit parameters, one page at a time through the client, so every page is paced like
 * any other call and waits out a rate-limit pause instead of failing.
 */
import { InvalidOptionError, SluiceError } from '../errors.js';

/** Anything with a fetch: a Sluice client, or the global fetch wrapped as `{ fetch }`. */
export interface PaginateClient {
  fetch(input: string, init?: RequestInit): Promise<Response>;
}

interface CommonOptions<Item> {
  /** Options of every page's request (headers, signal, `sluice` per-call options). */
  init?: RequestInit & Record<string, unknown>;
  /** Stop after this many pages. */
  maxPages?: number;
  /** Stop after this many items. */
  maxItems?: number;
  /** Where a page's items are: a dot path into its JSON body, or a function. Default: the body is the list. */
  items?: string | ((body: unknown, response: Response) => readonly Item[]);
}

export interface LinkPagination<Item> extends CommonOptions<Item> {
  style: 'link';
}

export interface CursorPagination<Item> extends CommonOptions<Item> {
  style: 'cursor';
  /** The query parameter the cursor is sent in, such as "cursor" or "starting_after". */
  cursorParam: string;
  /**
   * The next page's cursor: a dot path into the body ("response_metadata.next_cursor"), or a function (Stripe:
   * `(body, items) => body.has_more ? items.at(-1).id : null`). Empty, null or a repeated cursor ends the walk.
   */
  nextCursor: string | ((body: unknown, items: readonly Item[], response: Response) => string | null | undefined);
}

export interface OffsetPagination<Item> extends CommonOptions<Item> {
  style: 'offset';
  /** Items asked for per page; a shorter page is the last. */
  pageSize: number;
  /** Default "offset". */
  offsetParam?: string;
  /** Default "limit". */
  limitParam?: string;
  /** Default 0. */
  startOffset?: number;
}

export type PaginateOptions<Item> = LinkPagination<Item> | CursorPagination<Item> | OffsetPagination<Item>;

export interface Page<Item> {
  /** 1 for the first page. */
  number: number;
  /** The URL the page was fetched from, as given to the client. */
  url: string;
  response: Response;
  body: unknown;
  items: Item[];
}

/** A page could not be fetched or read. */
export class PaginationError extends SluiceError {
  readonly url: string;
  readonly status: number | null;
  constructor(url: string, status: number | null, message: string) {
    super('ERR_SLUICE_PAGINATION', message);
    this.name = 'PaginationError';
    this.url = url;
    this.status = status;
  }
}

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:/i;
/** Resolves relative URLs given to the client (relative to its base URL) without knowing that base. */
const PLACEHOLDER_ORIGIN = 'http://relative.invalid';

function toUrl(url: string): URL {
  return new URL(url, PLACEHOLDER_ORIGIN);
}

function fromUrl(url: URL, like: string): string {
  return ABSOLUTE.test(like) || url.origin !== PLACEHOLDER_ORIGIN ? url.href : url.pathname + url.search;
}

function valueAt(value: unknown, path: string): unknown {
  if (path === '') return value;
  let current = value;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** RFC 8288: the target of the first link whose rel includes "next", or null. Garbage yields null. */
export function nextLink(header: string | null): string | null {
  if (!header) return null;
  const text = header;
  let index = 0;
  const skipSpace = () => {
    while (index < text.length && (text[index] === ' ' || text[index] === '\t')) index++;
  };
  while (index < text.length) {
    const open = text.indexOf('<', index);
    if (open === -1) return null;
    const close = text.indexOf('>', open);
    if (close === -1) return null;
    const target = text.slice(open + 1, close);
    index = close + 1;
    let relation: string | null = null;
    // Parameters (";name=value" or ";name="quoted"") up to the comma that ends this link.
    for (skipSpace(); index < text.length && text[index] === ';'; skipSpace()) {
      index++;
      skipSpace();
      const nameStart = index;
      while (index < text.length && !'=;,'.includes(text[index] as string)) index++;
      const name = text.slice(nameStart, index).trim().toLowerCase();
      let value = '';
      if (text[index] === '=') {
        index++;
        skipSpace();
        if (text[index] === '"') {
          index++;
          while (index < text.length && text[index] !== '"') {
            if (text[index] === '\\') index++;
            value += text[index] ?? '';
            index++;
          }
          index++;
        } else {
          const valueStart = index;
          while (index < text.length && text[index] !== ';' && text[index] !== ',') index++;
          value = text.slice(valueStart, index).trim();
        }
      }
      if (name === 'rel' && relation === null) relation = value;
    }
    if (relation?.toLowerCase().split(/\s+/).includes('next')) return target;
  }
  return null;
}

function checkOptions<Item>(options: PaginateOptions<Item>): void {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', "expected { style: 'link' | 'cursor' | 'offset', ... }");
  }
  const positive = (value: unknown, field: string) => {
    if (value !== undefined && (!Number.isInteger(value) || (value as number) < 1)) {
      throw new InvalidOptionError(field, `expected a positive integer, got ${JSON.stringify(value)}`);
    }
  };
  positive(options.maxPages, 'maxPages');
  positive(options.maxItems, 'maxItems');
  switch (options.style) {
    case 'link':
      return;
    case 'cursor':
      if (typeof options.cursorParam !== 'string' || options.cursorParam === '') {
        throw new InvalidOptionError(
          'cursorParam',
          'expected the query parameter the cursor is sent in, such as "cursor"',
        );
      }
      if (typeof options.nextCursor !== 'string' && typeof options.nextCursor !== 'function') {
        throw new InvalidOptionError(
          'nextCursor',
          'expected a dot path into the body or a function returning the cursor',
        );
      }
      return;
    case 'offset':
      if (options.pageSize === undefined) throw new InvalidOptionError('pageSize', 'required with style "offset"');
      positive(options.pageSize, 'pageSize');
      if (options.startOffset !== undefined && (!Number.isInteger(options.startOffset) || options.startOffset < 0)) {
        throw new InvalidOptionError('startOffset', `expected a non-negative integer, got ${options.startOffset}`);
      }
      return;
    default:
      throw new InvalidOptionError(
        'style',
        `expected "link", "cursor" or "offset", got ${JSON.stringify((options as { style: unknown }).style)}`,
      );
  }
}

async function readPage<Item>(
  client: PaginateClient,
  url: string,
  number: number,
  options: PaginateOptions<Item>,
): Promise<Page<Item>> {
  const response = await client.fetch(url, options.init);
  if (!response.ok) {
    const text = await response.text().catch(() => '');
    throw new PaginationError(
      url,
      response.status,
      `page ${number} (${url}) answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`,
    );
  }
  const text = await response.text();
  let body: unknown = null;
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      throw new PaginationError(url, response.status, `page ${number} (${url}) is not JSON`);
    }
  }
  const found =
    typeof options.items === 'function' ? options.items(body, response) : valueAt(body, options.items ?? '');
  if (!Array.isArray(found)) {
    throw new PaginationError(
      url,
      response.status,
      `page ${number} (${url}) has no list of items ${options.items === undefined ? 'as its body' : `at "${String(options.items)}"`}: set the items option`,
    );
  }
  return { number, url, response, body, items: found as Item[] };
}

function withQuery(url: string, parameters: Record<string, string>): string {
  const parsed = toUrl(url);
  for (const [name, value] of Object.entries(parameters)) parsed.searchParams.set(name, value);
  return fromUrl(parsed, url);
}

/** The pages, one at a time: the next is fetched only when the previous has been taken. */
export async function* paginatePages<Item = unknown>(
  client: PaginateClient,
  url: string,
  options: PaginateOptions<Item>,
): AsyncGenerator<Page<Item>, void, undefined> {
  checkOptions(options);
  const maxPages = options.maxPages ?? Number.POSITIVE_INFINITY;
  const seenCursors = new Set<string>();
  let pageUrl: string | null =
    options.style === 'offset'
      ? withQuery(url, {
          [options.offsetParam ?? 'offset']: String(options.startOffset ?? 0),
          [options.limitParam ?? 'limit']: String(options.pageSize),
        })
      : url;
  for (let number = 1; pageUrl !== null && number <= maxPages; number++) {
    const page: Page<Item> = await readPage(client, pageUrl, number, options);
    yield page;
    pageUrl = nextPageUrl(url, page, options, seenCursors);
  }
}

function nextPageUrl<Item>(
  firstUrl: string,
  page: Page<Item>,
  options: PaginateOptions<Item>,
  seenCursors: Set<string>,
): string | null {
  switch (options.style) {
    case 'link': {
      const link = nextLink(page.response.headers.get('link'));
      return link === null ? null : fromUrl(new URL(link, toUrl(page.url)), page.url);
    }
    case 'cursor': {
      const cursor =
        typeof options.nextCursor === 'function'
          ? options.nextCursor(page.body, page.items, page.response)
          : valueAt(page.body, options.nextCursor);
      if (cursor === null || cursor === undefined || cursor === '' || typeof cursor === 'object') return null;
      const text = String(cursor);
      // A provider that repeats a cursor would otherwise be paged forever.
      if (seenCursors.has(text)) return null;
      seenCursors.add(text);
      return withQuery(firstUrl, { [options.cursorParam]: text });
    }
    case 'offset': {
      if (page.items.length < options.pageSize) return null;
      const offset = (options.startOffset ?? 0) + page.number * options.pageSize;
      return withQuery(firstUrl, {
        [options.offsetParam ?? 'offset']: String(offset),
        [options.limitParam ?? 'limit']: String(options.pageSize),
      });
    }
  }
}

/** The items of every page, in order, up to `maxItems`; pages are fetched as the items are taken. */
export async function* paginate<Item = unknown>(
  client: PaginateClient,
  url: string,
  options: PaginateOptions<Item>,
): AsyncGenerator<Item, void, undefined> {
  const maxItems = options.maxItems ?? Number.POSITIVE_INFINITY;
  let count = 0;
  for await (const page of paginatePages(client, url, options)) {
    for (const item of page.items) {
      yield item;
      if (++count >= maxItems) return;
    }
  }
}
