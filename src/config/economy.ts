/**
 * The options of the economy stages of an upstream: `cache`, `coalesce` and `batch`. Their schema (the edge),
 * their normalised form (durations in milliseconds, defaults filled in) and the relations a field schema cannot
 * state (placeholders of related paths and batch endpoints).
 */
import { z } from 'zod';
import { CACHE_DEFAULTS } from '../cache/defaults.js';
import type { CacheRouteRule, InvalidationRule } from '../cache/rules.js';
import type { BatchRoute } from '../pipeline/batch-split.js';
import {
  boolean,
  duration,
  durationMs,
  headerName,
  nonNegativeInteger,
  oneOf,
  options,
  positiveInteger,
  text,
} from './fields.js';
import { type ConfigPath, expectedMessage, type PathProblem, problemAt } from './problems.js';
import { routePatternProblem } from './routes.js';

const listOf = <Item extends z.ZodType>(item: Item, expectation: string) =>
  z.array(item, { error: (issue) => expectedMessage(expectation, issue.input) });

const routePattern = (expectation: string) =>
  z.string({ error: (issue) => expectedMessage(expectation, issue.input) }).superRefine((value, context) => {
    const problem = routePatternProblem(value);
    if (problem) context.addIssue({ code: 'custom', message: problem, input: value });
  });

const pathText = (expectation: string) =>
  z
    .string({ error: (issue) => expectedMessage(expectation, issue.input) })
    .regex(/^\/[^\s?#]*$/, { error: (issue) => expectedMessage(expectation, issue.input) });

const staleWindows = {
  staleWhileRevalidate: duration('non-negative')
    .optional()
    .describe('Serve a stale entry at once and refresh it in the background, this long past freshness. Default 0.'),
  staleIfError: duration('non-negative')
    .optional()
    .describe('Serve a stale entry when the upstream fails (5xx, timeout), this long past freshness. Default 0.'),
  staleIfRateLimited: duration('non-negative')
    .optional()
    .describe(
      'Serve a stale entry when the budget cannot serve the call in time, this long past freshness. Default 5m.',
    ),
  keepStale: duration('non-negative')
    .optional()
    .describe('How long past freshness an entry with an ETag or Last-Modified is kept to revalidate. Default 1h.'),
};

const cacheRouteSchema = options(
  {
    match: routePattern('a route such as "GET /users/*"').describe('The GETs this rule applies to (first match wins).'),
    enabled: boolean().optional().describe('false: calls on this route are never cached.'),
    ttl: duration('non-negative').optional().describe('Freshness of replies that state none, on this route.'),
    override: boolean()
      .optional()
      .describe('ttl replaces what the replies say (Cache-Control, Expires), for APIs whose headers are wrong.'),
    ...staleWindows,
  },
  'a cache route such as { match: "GET /users/*", ttl: 5m }',
);

const invalidationSchema = options(
  {
    match: routePattern('a route such as "POST /repos/{owner}/{repo}/issues"').describe(
      'Writes (POST, PUT, PATCH, DELETE) that invalidate more than their own path.',
    ),
    paths: listOf(pathText('a path such as "/repos/{owner}/{repo}" or "/repos/{owner}/**"'), 'a list of paths')
      .min(1, { error: () => 'expected at least one path' })
      .describe('Paths invalidated too; {name} takes what match captured; a final /** drops everything under it.'),
  },
  'an invalidation such as { match: "POST /users/{id}/emails", paths: ["/users/{id}"] }',
);

export const cacheSchema = options({
  enabled: boolean()
    .optional()
    .describe('Keep cacheable responses (per credential) and revalidate them. Default false.'),
  maxEntries: positiveInteger().optional().describe('Default 10000.'),
  maxBytes: positiveInteger().optional().describe('Default 67108864 (64 MiB).'),
  maxEntryBytes: positiveInteger().optional().describe('Larger responses are not cached. Default 1048576.'),
  ttl: duration('non-negative')
    .optional()
    .describe('Freshness of replies that state none (no max-age, s-maxage or Expires). Default 0.'),
  ...staleWindows,
  maxWaitForFresh: duration('non-negative')
    .optional()
    .describe('A call with a stale entry to fall back on waits at most this long for its budget. Default 1s.'),
  shared: boolean()
    .optional()
    .describe('Replies marked public or s-maxage are shared by every credential. Default true.'),
  routes: listOf(cacheRouteSchema, 'a list of cache routes').optional().describe('Per-route overrides.'),
  invalidate: listOf(invalidationSchema, 'a list of invalidations')
    .optional()
    .describe('Related paths a successful write invalidates.'),
});

export const coalesceSchema = options({
  enabled: boolean().optional().describe('Identical GETs in flight share one upstream call. Default false.'),
  ignoreHeaders: listOf(headerName(), 'a list of header names')
    .optional()
    .describe('Headers that do not make two calls different. Default: tracing headers (traceparent, x-request-id...).'),
  maxBodyBytes: nonNegativeInteger()
    .optional()
    .describe('A shared reply larger than this goes to one caller; the others send their own calls. Default 1048576.'),
});

const batchRouteSchema = options(
  {
    match: routePattern('a route such as "GET /users/{id}"').describe('The single-item calls to collect.'),
    item: text('a placeholder name such as "id"')
      .optional()
      .describe('The placeholder of match holding the item id. Default: the last one.'),
    maxBatch: positiveInteger().optional().describe('Most items per upstream call. Default 50.'),
    maxWait: duration('non-negative').optional().describe('How long the first call waits for others. Default 10ms.'),
    send: options(
      {
        method: oneOf(['GET', 'POST'] as const)
          .optional()
          .describe('GET: ids in the query; POST: ids in a JSON body. Default GET.'),
        path: pathText('a path such as "/users"').describe('The batch endpoint; may use the other placeholders.'),
        parameter: text('a parameter name such as "ids"').describe('The query parameter or JSON field of the ids.'),
        separator: text('a separator such as ","').optional().describe('Between ids in the query. Default ",".'),
        idType: oneOf(['string', 'number'] as const)
          .optional()
          .describe('How ids are written in a JSON body. Default string.'),
      },
      'the batch call, such as { path: /users, parameter: ids }',
    ),
    split: options(
      {
        items: text('a dot path such as "data"')
          .optional()
          .describe('Where the list of items is in the reply. Default: the reply body.'),
        key: text('a dot path such as "id"').describe('The field of each item that equals the id.'),
      },
      'how to split the reply, such as { items: data, key: id }',
    ),
    maxBodyBytes: positiveInteger().optional().describe('Larger batch replies are not split (502). Default 8388608.'),
  },
  'a batch route such as { match: "GET /users/{id}", send: { path: /users, parameter: ids }, split: { key: id } }',
);

export const batchSchema = listOf(batchRouteSchema, 'a list of batch routes');

export type CacheInput = z.input<typeof cacheSchema>;
export type CoalesceInput = z.input<typeof coalesceSchema>;
export type BatchRouteInput = z.input<typeof batchRouteSchema>;

export interface UpstreamCacheOptions {
  enabled: boolean;
  maxEntries: number;
  maxBytes: number;
  maxEntryBytes: number;
  ttlMs: number;
  staleWhileRevalidateMs: number;
  staleIfErrorMs: number;
  staleIfRateLimitedMs: number;
  keepStaleMs: number;
  maxWaitForFreshMs: number;
  shared: boolean;
  /** Only the fields a route sets; the rest come from the upstream's. */
  routes: CacheRouteRule[];
  invalidate: InvalidationRule[];
}

export interface UpstreamCoalesceOptions {
  enabled: boolean;
  /** Lower case; null: the default list of tracing headers. */
  ignoreHeaders: string[] | null;
  maxBodyBytes: number;
}

export const ECONOMY_DEFAULTS = {
  cache: { enabled: false, ...CACHE_DEFAULTS, routes: [], invalidate: [] },
  coalesce: { enabled: false, ignoreHeaders: null, maxBodyBytes: 1024 * 1024 },
  batch: {
    maxBatch: 50,
    maxWaitMs: 10,
    method: 'GET',
    separator: ',',
    idType: 'string',
    maxBodyBytes: 8 * 1024 * 1024,
  },
} as const;

const optionalMs = (value: number | string | undefined) => (value === undefined ? undefined : durationMs(value));
const orMs = (value: number | string | undefined, fallback: number) =>
  value === undefined ? fallback : durationMs(value);

export function buildCacheOptions(input: CacheInput | undefined): UpstreamCacheOptions {
  const cache = input ?? {};
  const defaults = ECONOMY_DEFAULTS.cache;
  return {
    enabled: cache.enabled ?? defaults.enabled,
    maxEntries: cache.maxEntries ?? defaults.maxEntries,
    maxBytes: cache.maxBytes ?? defaults.maxBytes,
    maxEntryBytes: cache.maxEntryBytes ?? defaults.maxEntryBytes,
    ttlMs: orMs(cache.ttl, defaults.ttlMs),
    staleWhileRevalidateMs: orMs(cache.staleWhileRevalidate, defaults.staleWhileRevalidateMs),
    staleIfErrorMs: orMs(cache.staleIfError, defaults.staleIfErrorMs),
    staleIfRateLimitedMs: orMs(cache.staleIfRateLimited, defaults.staleIfRateLimitedMs),
    keepStaleMs: orMs(cache.keepStale, defaults.keepStaleMs),
    maxWaitForFreshMs: orMs(cache.maxWaitForFresh, defaults.maxWaitForFreshMs),
    shared: cache.shared ?? defaults.shared,
    routes: (cache.routes ?? []).map((route) => {
      const rule: CacheRouteRule = { match: route.match };
      if (route.enabled !== undefined) rule.enabled = route.enabled;
      if (route.override !== undefined) rule.override = route.override;
      const durations = {
        ttlMs: optionalMs(route.ttl),
        staleWhileRevalidateMs: optionalMs(route.staleWhileRevalidate),
        staleIfErrorMs: optionalMs(route.staleIfError),
        staleIfRateLimitedMs: optionalMs(route.staleIfRateLimited),
        keepStaleMs: optionalMs(route.keepStale),
      };
      for (const [name, value] of Object.entries(durations)) {
        if (value !== undefined) (rule as unknown as Record<string, number>)[name] = value;
      }
      return rule;
    }),
    invalidate: (cache.invalidate ?? []).map((invalidation) => ({
      match: invalidation.match,
      paths: [...invalidation.paths],
    })),
  };
}

export function buildCoalesceOptions(input: CoalesceInput | undefined): UpstreamCoalesceOptions {
  return {
    enabled: input?.enabled ?? ECONOMY_DEFAULTS.coalesce.enabled,
    ignoreHeaders: input?.ignoreHeaders ? input.ignoreHeaders.map((name) => name.toLowerCase()) : null,
    maxBodyBytes: input?.maxBodyBytes ?? ECONOMY_DEFAULTS.coalesce.maxBodyBytes,
  };
}

/** Batch routes with every default filled in (the pipeline's BatchRoute, all fields set). */
export type UpstreamBatchRoute = Required<Omit<BatchRoute, 'item'>> & {
  item: string | null;
  send: Required<BatchRoute['send']>;
  split: { items: string | null; key: string };
};

export function buildBatchRoutes(input: readonly BatchRouteInput[] | undefined): UpstreamBatchRoute[] {
  const defaults = ECONOMY_DEFAULTS.batch;
  return (input ?? []).map((route) => ({
    match: route.match,
    item: route.item ?? null,
    maxBatch: route.maxBatch ?? defaults.maxBatch,
    maxWaitMs: orMs(route.maxWait, defaults.maxWaitMs),
    send: {
      method: route.send.method ?? defaults.method,
      path: route.send.path,
      parameter: route.send.parameter,
      separator: route.send.separator ?? defaults.separator,
      idType: route.send.idType ?? defaults.idType,
    },
    split: { items: route.split.items ?? null, key: route.split.key },
    maxBodyBytes: route.maxBodyBytes ?? defaults.maxBodyBytes,
  }));
}

type Mapping = Record<string, unknown>;
const isMapping = (value: unknown): value is Mapping =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
const mappings = (value: unknown): Array<[number, Mapping]> =>
  Array.isArray(value)
    ? value.flatMap((item, index) => (isMapping(item) ? [[index, item] as [number, Mapping]] : []))
    : [];

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const placeholders = (text: unknown): string[] =>
  typeof text === 'string' ? [...text.matchAll(PLACEHOLDER)].map((match) => match[1] as string) : [];
const isPattern = (text: unknown): text is string => typeof text === 'string' && routePatternProblem(text) === null;

/** Relations inside `cache`, `coalesce` and `batch` that their field schemas cannot state. */
export function economyRelationProblems(raw: Mapping, at: ConfigPath): PathProblem[] {
  const problems: PathProblem[] = [];
  if (isMapping(raw.cache)) {
    for (const [index, invalidation] of mappings(raw.cache.invalidate)) {
      if (!isPattern(invalidation.match)) continue;
      const known = new Set(placeholders(invalidation.match));
      if (!Array.isArray(invalidation.paths)) continue;
      invalidation.paths.forEach((path, pathIndex) => {
        const unknown = placeholders(path).find((name) => !known.has(name));
        if (unknown !== undefined) {
          problems.push(
            problemAt(
              [...at, 'cache', 'invalidate', index, 'paths', pathIndex],
              `{${unknown}} is not a placeholder of "${invalidation.match}"`,
            ),
          );
        }
      });
    }
  }
  for (const [index, route] of mappings(raw.batch)) {
    const here = [...at, 'batch', index];
    if (!isPattern(route.match)) continue;
    const method = route.match.trim().split(/[ \t]+/).length > 1 ? route.match.trim().split(/[ \t]+/)[0] : null;
    if (method !== null && method !== '*' && method?.toUpperCase() !== 'GET') {
      problems.push(problemAt([...here, 'match'], `only GET calls are batched, got "${route.match}"`));
    }
    const names = placeholders(route.match);
    const item = typeof route.item === 'string' ? route.item : names[names.length - 1];
    if (item === undefined) {
      problems.push(
        problemAt(
          [...here, 'match'],
          `needs a placeholder for the item id, such as "GET /users/{id}", got "${route.match}"`,
        ),
      );
      continue;
    }
    if (!names.includes(item)) {
      problems.push(problemAt([...here, 'item'], `{${item}} is not a placeholder of "${route.match}"`));
      continue;
    }
    if (isMapping(route.send)) {
      const unknown = placeholders(route.send.path).find((name) => !names.includes(name) || name === item);
      if (unknown !== undefined) {
        problems.push(
          problemAt(
            [...here, 'send', 'path'],
            unknown === item
              ? `{${item}} is the item id: the batch path cannot hold it (the ids go in ${route.send.method === 'POST' ? 'the body' : 'the query'})`
              : `{${unknown}} is not a placeholder of "${route.match}"`,
          ),
        );
      }
    }
  }
  return problems;
}
