/**
 * Purging the cache from outside: the gateway's admin route and the webhooks work hand the request body here.
 * `{ "upstream": "github", "path": "/repos/a/b" }` drops one resource (every query, tenant and variant);
 * `{ "upstream": "github", "prefix": "/repos/a/" }` everything under a prefix; without `upstream`, every upstream
 * that has a cache. Bad input is answered with a problem (RFC 9457 fields) that says what was expected.
 */
import { isMapping } from '../config/upstream-relations.js';
import type { Cache } from './cache.js';

export type CachePurgeOutcome =
  | { ok: true; status: 200; body: { purged: number; upstreams: string[] } }
  | { ok: false; status: 400 | 404; kind: string; title: string; detail: string };

const invalid = (detail: string): CachePurgeOutcome => ({
  ok: false,
  status: 400,
  kind: 'invalid-cache-purge',
  title: 'Invalid cache purge',
  detail,
});

/**
 * Purges what `body` asks for. `caches` lists the upstreams by name with their cache (null when caching is off for
 * that upstream).
 */
export async function purgeCache(body: unknown, caches: ReadonlyMap<string, Cache | null>): Promise<CachePurgeOutcome> {
  if (!isMapping(body)) {
    return invalid('expected a JSON object such as { "upstream": "github", "prefix": "/repos/nodejs/" }');
  }
  const unknown = Object.keys(body).filter((key) => key !== 'upstream' && key !== 'path' && key !== 'prefix');
  if (unknown.length > 0)
    return invalid(`unknown field ${JSON.stringify(unknown[0])}: expected upstream, path or prefix`);
  const { upstream, path, prefix } = body;
  if ((path === undefined) === (prefix === undefined)) {
    return invalid('give either "path" (one resource, every query) or "prefix" (everything under it)');
  }
  const value = path ?? prefix;
  if (typeof value !== 'string' || !value.startsWith('/')) {
    return invalid(
      `"${path !== undefined ? 'path' : 'prefix'}" must be a path starting with "/", got ${JSON.stringify(value)}`,
    );
  }
  if (upstream !== undefined && typeof upstream !== 'string') {
    return invalid(`"upstream" must be an upstream name, got ${JSON.stringify(upstream)}`);
  }
  const names = upstream === undefined ? [...caches.keys()] : [upstream];
  if (upstream !== undefined && !caches.has(upstream)) {
    return {
      ok: false,
      status: 404,
      kind: 'unknown-upstream',
      title: 'Unknown upstream',
      detail: `no upstream "${upstream}"`,
    };
  }
  let purged = 0;
  const purgedFrom: string[] = [];
  for (const name of names) {
    const cache = caches.get(name);
    if (!cache) continue;
    purged += await cache.purge(path !== undefined ? { path: value } : { prefix: value });
    purgedFrom.push(name);
  }
  return { ok: true, status: 200, body: { purged, upstreams: purgedFrom } };
}
