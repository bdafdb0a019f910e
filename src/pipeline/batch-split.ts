/**
 * Batch routes as pure functions: which single-item calls a route collects, the one upstream call that asks for
 * all their items (ids in the query, or in a JSON body), and how that call's JSON reply is split back per item.
 */

import { compilePattern, matchPattern, templateNames } from '../cache/rules.js';
import { InvalidOptionError } from '../errors.js';

export interface BatchRoute {
  /** The single-item route the batch collects, such as "GET /users/{id}" (GET only). */
  match: string;
  /** The placeholder of `match` holding the item's id. Default: its last placeholder. */
  item?: string;
  /** Most distinct items per upstream call. Default 50. */
  maxBatch?: number;
  /** How long the first call of a batch waits for others. Default 10 ms. */
  maxWaitMs?: number;
  send: {
    /** GET: the ids go in the query (`?ids=1,2,3`); POST: in a JSON body (`{"ids": ["1","2","3"]}`). Default GET. */
    method?: 'GET' | 'POST';
    /** The batch endpoint; may use the other placeholders of `match`, such as "/orgs/{org}/members". */
    path: string;
    /** The query parameter (GET) or JSON field (POST) holding the ids. */
    parameter: string;
    /** Between the ids in the query. Default ",". */
    separator?: string;
    /** How ids are written in a JSON body. Default string. */
    idType?: 'string' | 'number';
  };
  split: {
    /** Dot path of the list of items in the reply body; default: the body is the list. */
    items?: string | null;
    /** Dot path, in each item, of the value that equals the id. */
    key: string;
  };
  /** Batch replies larger than this are not split (the calls fail with a 502). Default 8 MiB. */
  maxBodyBytes?: number;
}

export interface CompiledBatchRoute {
  index: number;
  match: string;
  pattern: ReturnType<typeof compilePattern>;
  itemName: string;
  maxBatch: number;
  maxWaitMs: number;
  method: 'GET' | 'POST';
  path: string;
  parameter: string;
  separator: string;
  idType: 'string' | 'number';
  itemsPath: string[];
  keyPath: string[];
  maxBodyBytes: number;
}

const isPath = (text: unknown): text is string => typeof text === 'string' && text.trim() !== '';
const dotPath = (text: string | null | undefined): string[] =>
  text === null || text === undefined || text === '' ? [] : text.split('.');

export function compileBatchRoute(route: BatchRoute, index: number): CompiledBatchRoute {
  const at = `batch[${index}]`;
  if (typeof route !== 'object' || route === null) {
    throw new InvalidOptionError(at, 'expected { match, send: { path, parameter }, split: { key } }');
  }
  const pattern = compilePattern(route.match, `${at}.match`);
  if (pattern.method !== null && pattern.method !== 'GET') {
    throw new InvalidOptionError(`${at}.match`, `only GET calls are batched, got ${JSON.stringify(route.match)}`);
  }
  const names = pattern.segments.flatMap((segment) => (segment.kind === 'one' && segment.name ? [segment.name] : []));
  const itemName = route.item ?? names[names.length - 1];
  if (itemName === undefined || !names.includes(itemName)) {
    throw new InvalidOptionError(
      `${at}.${route.item === undefined ? 'match' : 'item'}`,
      route.item === undefined
        ? `the route needs a placeholder for the item's id, such as "GET /users/{id}", got ${JSON.stringify(route.match)}`
        : `{${route.item}} is not a placeholder of ${JSON.stringify(route.match)}`,
    );
  }
  const send = route.send ?? ({} as BatchRoute['send']);
  if (!isPath(send.path) || !send.path.startsWith('/') || send.path.includes('?')) {
    throw new InvalidOptionError(
      `${at}.send.path`,
      `expected a path starting with "/" (no query), got ${JSON.stringify(send.path)}`,
    );
  }
  const unknown = templateNames(send.path).find((name) => !names.includes(name) || name === itemName);
  if (unknown !== undefined) {
    throw new InvalidOptionError(
      `${at}.send.path`,
      `{${unknown}} is not a placeholder of ${JSON.stringify(route.match)} other than the item's`,
    );
  }
  if (!isPath(send.parameter)) {
    throw new InvalidOptionError(
      `${at}.send.parameter`,
      `expected a parameter name such as "ids", got ${JSON.stringify(send.parameter)}`,
    );
  }
  const method = send.method ?? 'GET';
  if (method !== 'GET' && method !== 'POST') {
    throw new InvalidOptionError(`${at}.send.method`, `expected GET or POST, got ${JSON.stringify(method)}`);
  }
  if (!isPath(route.split?.key)) {
    throw new InvalidOptionError(
      `${at}.split.key`,
      `expected the item field that holds the id, such as "id", got ${JSON.stringify(route.split?.key)}`,
    );
  }
  const maxBatch = route.maxBatch ?? 50;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) {
    throw new InvalidOptionError(`${at}.maxBatch`, `expected a positive integer, got ${JSON.stringify(maxBatch)}`);
  }
  const maxWaitMs = route.maxWaitMs ?? 10;
  if (typeof maxWaitMs !== 'number' || !Number.isFinite(maxWaitMs) || maxWaitMs < 0) {
    throw new InvalidOptionError(
      `${at}.maxWaitMs`,
      `expected non-negative milliseconds, got ${JSON.stringify(maxWaitMs)}`,
    );
  }
  return {
    index,
    match: route.match,
    pattern,
    itemName,
    maxBatch,
    maxWaitMs,
    method,
    path: send.path,
    parameter: send.parameter,
    separator: send.separator ?? ',',
    idType: send.idType ?? 'string',
    itemsPath: dotPath(route.split.items),
    keyPath: dotPath(route.split.key),
    maxBodyBytes: route.maxBodyBytes ?? 8 * 1024 * 1024,
  };
}

export interface BatchMatch {
  route: CompiledBatchRoute;
  /** The id as it appears in the path (percent-encoded). */
  rawId: string;
  /** The upstream path of the batch call, before the ids are added (with the single call's query). */
  batchPath: string;
}

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function matchBatchRoute(
  routes: readonly CompiledBatchRoute[],
  method: string,
  path: string,
): BatchMatch | null {
  for (const route of routes) {
    const captures = matchPattern(route.pattern, method, path);
    if (!captures) continue;
    const rawId = captures[route.itemName];
    if (rawId === undefined || rawId === '') continue;
    const queryAt = path.indexOf('?');
    const query = queryAt === -1 ? '' : path.slice(queryAt);
    const filled = route.path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => captures[name] ?? '');
    return { route, rawId, batchPath: filled + query };
  }
  return null;
}

/** The path and body of the call that asks for every id at once. */
export function batchRequest(
  route: CompiledBatchRoute,
  batchPath: string,
  rawIds: readonly string[],
): { path: string; body: Uint8Array | null } {
  if (route.method === 'GET') {
    const joiner = batchPath.includes('?') ? '&' : '?';
    // Ids come from path segments, so they are already percent-encoded; the separator is written as configured.
    const value = rawIds.join(route.separator);
    return { path: `${batchPath}${joiner}${encodeURIComponent(route.parameter)}=${value}`, body: null };
  }
  const ids = rawIds.map((raw) => {
    const id = decoded(raw);
    return route.idType === 'number' && /^-?\d+(\.\d+)?$/.test(id) ? Number(id) : id;
  });
  return { path: batchPath, body: Buffer.from(JSON.stringify({ [route.parameter]: ids })) };
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const part of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** Per id (as in the path), the item's JSON, or null when the reply has no such item. */
export type SplitResult = { ok: true; items: Map<string, string | null> } | { ok: false; problem: string };

export function splitBatchReply(route: CompiledBatchRoute, bodyText: string, rawIds: readonly string[]): SplitResult {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return { ok: false, problem: 'the batch reply is not JSON' };
  }
  const list = valueAt(body, route.itemsPath);
  if (!Array.isArray(list)) {
    const where = route.itemsPath.length === 0 ? 'the body' : `"${route.itemsPath.join('.')}"`;
    return {
      ok: false,
      problem: `expected a list of items at ${where} of the batch reply (batch[${route.index}].split.items)`,
    };
  }
  const byId = new Map<string, unknown>();
  for (const item of list) {
    const key = valueAt(item, route.keyPath);
    if (typeof key === 'string' || typeof key === 'number' || typeof key === 'bigint') {
      if (!byId.has(String(key))) byId.set(String(key), item);
    }
  }
  const items = new Map<string, string | null>();
  for (const raw of rawIds) {
    const item = byId.get(decoded(raw));
    items.set(raw, item === undefined ? null : JSON.stringify(item));
  }
  return { ok: true, items };
}
