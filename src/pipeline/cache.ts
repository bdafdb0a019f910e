/**
 * The cache stage (RFC 9111): answers repeated GETs from stored replies while they are fresh, revalidates them with
 * their validators (a 304 costs nothing on GitHub), refreshes them in the background (stale-while-revalidate), and
 * lets a stale entry stand in when the upstream fails (stale-if-error) or the budget cannot serve the call in time
 * (stale-if-rate-limited). A successful write invalidates the resource and its configured related paths.
 *
 * Each upstream is partitioned per credential: a partition is that credential's private cache, so GitHub's
 * `private` replies are reused for the same token and never for another tenant. Replies the upstream marks
 * shareable (`public`, `s-maxage`) go to a shared partition.
 */
import { type Directives, requestDirectives } from '../cache/cache-control.js';
import { CACHE_DEFAULTS } from '../cache/defaults.js';
import { type CachedVariant, storedHeaders } from '../cache/entry.js';
import {
  type CacheRule,
  currentAgeMs,
  decideStore,
  freshenHeaders,
  headerText,
  type Judgement,
  judgeEntry,
  parseHttpDate,
  varyNames,
} from '../cache/freshness.js';
import {
  type CacheResource,
  DEFAULT_CREDENTIAL_HEADERS,
  entryKey,
  partitionOf,
  resourcePath,
  SHARED_PARTITION,
  variantIdOf,
} from '../cache/key.js';
import { createMemoryCacheStore } from '../cache/memory-store.js';
import {
  type CacheRouteRule,
  createCacheRules,
  type InvalidationRule,
  type InvalidationTarget,
} from '../cache/rules.js';
import { type CacheStatus, formatCacheStatus } from '../cache/status.js';
import type { CacheStore } from '../cache/store.js';
import { InvalidOptionError } from '../errors.js';
import { detectDialect } from '../signals/detect.js';
import type { Dialect } from '../signals/types.js';
import type { Scheduler } from '../time.js';
import { bytesStream, declaredLarger, discardBody, readWholeBody } from './cache-body.js';
import { isCollapsed } from './coalesce.js';
import { type CallFailureReason, isCallFailed } from './errors.js';
import { actualCostOf } from './signal-reading.js';
import type { Call, CallHeaders, Next, Reply, ReplyHeaders, Stage } from './stage.js';
import { TransportError } from './transport.js';

export interface CacheOptions {
  /** Where entries live. Default: an in-memory LRU bounded by maxEntries and maxBytes (owned by the cache). */
  store?: CacheStore;
  maxEntries?: number;
  maxBytes?: number;
  /** Larger replies are not stored (they stream through untouched). Default 1 MiB. */
  maxEntryBytes?: number;
  /** Freshness of replies that state none. Default 0 (such replies are kept only to revalidate them). */
  ttlMs?: number;
  /** Default stale-while-revalidate window for replies that state none. Default 0. */
  staleWhileRevalidateMs?: number;
  /** Default stale-if-error window for replies that state none. Default 0. */
  staleIfErrorMs?: number;
  /** How stale an entry may be and still be served when the budget cannot serve the call in time. Default 5 min. */
  staleIfRateLimitedMs?: number;
  /** How long past freshness an entry with a validator is kept, to revalidate it. Default 1 h. */
  keepStaleMs?: number;
  /** A call that has a stale entry to fall back on waits at most this long for its budget. Default 1 s. */
  maxWaitForFreshMs?: number;
  /** Keep replies marked public or s-maxage in a partition every credential reads. Default true. */
  shared?: boolean;
  /** Request headers that carry a credential (they partition the cache). Default: authorization, cookie... */
  credentialHeaders?: readonly string[];
  /** Per-route overrides of the rule above; the first matching route wins. */
  routes?: readonly CacheRouteRule[];
  /** Writes that invalidate more than their own resource. */
  invalidate?: readonly InvalidationRule[];
  /** Priority of background refreshes (below normal calls). Default -1. */
  refreshPriority?: number;
  /** Told of store failures and failed background refreshes; the calls themselves go on. */
  onError?: (error: unknown) => void;
}

export interface CacheDependencies {
  upstream: string;
  /** The upstream's dialect: where a 304 costs nothing (GitHub), revalidations reserve no budget. Default auto. */
  dialect?: Dialect;
  /** The upstream's base URL, to resolve Location and Content-Location of writes. */
  baseUrl: string;
  scheduler: Scheduler;
}

/** What to purge: one resource (every query, partition and variant of it), or everything under a path prefix. */
export type CachePurge = { path: string } | { prefix: string };

export interface Cache {
  readonly stage: Stage;
  readonly store: CacheStore;
  /** Drops entries of this upstream; returns how many keys went. */
  purge(selector: CachePurge): Promise<number>;
  /** Resolves once the background refreshes started so far have finished. */
  settled(): Promise<void>;
  /** Closes the store when the cache created it. */
  close(): Promise<void>;
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Failures that mean "the budget cannot serve this call in time", not that the upstream is broken. */
const RATE_LIMIT_REASONS: ReadonlySet<CallFailureReason> = new Set<CallFailureReason>([
  'deadline',
  'queue-full',
  'quota-exhausted',
  'retry-after-too-long',
]);
const ERROR_REASONS: ReadonlySet<CallFailureReason> = new Set<CallFailureReason>([
  'upstream-timeout',
  'upstream-unreachable',
  'upstream-protocol',
  'circuit-open',
]);
/** RFC 5861: the statuses stale-if-error covers. */
const ERROR_STATUSES = new Set([500, 502, 503, 504]);
const CALLER_CONDITIONALS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range'];
const BACKGROUND_DROPPED = new Set([...CALLER_CONDITIONALS, 'cache-control', 'pragma']);
/** A claimed refresh that never finishes (its process died) may be taken over after this. */
const REFRESH_CLAIM_MS = 30_000;
const NO_DIRECTIVES: Directives = new Map();

interface Found {
  variant: CachedVariant;
  key: string;
}

interface Lookup {
  privateKey: string;
  sharedKey: string | null;
  resource: CacheResource;
  found: Found | null;
  /** Entries exist for the URL, but none for this request's varying headers. */
  varyMiss: boolean;
}

interface StaleFallback {
  detail: 'stale-if-error' | 'stale-if-rate-limited';
  /** The call reached the upstream (which answered `status`, or failed). */
  forwarded: boolean;
  status?: number;
}

function nonNegative(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidOptionError(`cache.${field}`, `expected a non-negative number, got ${JSON.stringify(value)}`);
  }
  return value;
}

const weakEqual = (a: string, b: string) => a.replace(/^W\//, '') === b.replace(/^W\//, '');

/** Whether the caller's own If-None-Match / If-Modified-Since is met by the entry (so a 304 answers it). */
function callerConditionMet(headers: CallHeaders, variant: CachedVariant): boolean {
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    const etag = headerText(variant.headers, 'etag');
    if (etag === undefined) return false;
    if (ifNoneMatch.trim() === '*') return true;
    return ifNoneMatch.split(',').some((tag) => weakEqual(tag.trim(), etag.trim()));
  }
  const since = parseHttpDate(headers['if-modified-since']);
  if (since === null) return false;
  const modified = parseHttpDate(headerText(variant.headers, 'last-modified'));
  return modified !== null && modified <= since;
}

/** The call's headers with the entry's validators, so the upstream can answer 304. */
function withValidators(headers: CallHeaders, variant: CachedVariant): CallHeaders {
  const result = { ...headers };
  const etag = headerText(variant.headers, 'etag');
  const lastModified = headerText(variant.headers, 'last-modified');
  if (etag !== undefined) result['if-none-match'] = etag;
  else if (lastModified !== undefined) result['if-modified-since'] = lastModified;
  return result;
}

const hasCallerConditional = (headers: CallHeaders) => CALLER_CONDITIONALS.some((name) => headers[name] !== undefined);

function replyFromVariant(variant: CachedVariant, ageMs: number, method: string, status = variant.status): Reply {
  const headers: ReplyHeaders = { ...variant.headers, age: String(Math.floor(Math.max(0, ageMs) / 1000)) };
  if (status === 304) return { status, headers, body: null };
  headers['content-length'] = String(variant.body.byteLength);
  return { status, headers, body: method === 'HEAD' || status === 204 ? null : bytesStream(variant.body) };
}

function staleFallbackForError(error: unknown, judgement: Judgement): StaleFallback | null {
  if (isCallFailed(error)) {
    if (RATE_LIMIT_REASONS.has(error.reason) && judgement.staleIfRateLimited) {
      return { detail: 'stale-if-rate-limited', forwarded: false };
    }
    if (ERROR_REASONS.has(error.reason) && judgement.staleIfError) {
      return { detail: 'stale-if-error', forwarded: error.reason !== 'circuit-open' };
    }
    return null;
  }
  if (error instanceof TransportError && judgement.staleIfError) return { detail: 'stale-if-error', forwarded: true };
  return null;
}

function staleFallbackForReply(reply: Reply, judgement: Judgement): StaleFallback | null {
  const rateLimited = reply.status === 429 || reply.signal?.limited === true;
  if (rateLimited && judgement.staleIfRateLimited) {
    return { detail: 'stale-if-rate-limited', forwarded: true, status: reply.status };
  }
  if (ERROR_STATUSES.has(reply.status) && judgement.staleIfError) {
    return { detail: 'stale-if-error', forwarded: true, status: reply.status };
  }
  return null;
}

export function createCache(options: CacheOptions, dependencies: CacheDependencies): Cache {
  const { upstream, scheduler } = dependencies;
  const defaults = CACHE_DEFAULTS;
  const baseRule: CacheRule = {
    enabled: true,
    ttlMs: nonNegative(options.ttlMs, defaults.ttlMs, 'ttlMs'),
    override: false,
    staleWhileRevalidateMs: nonNegative(
      options.staleWhileRevalidateMs,
      defaults.staleWhileRevalidateMs,
      'staleWhileRevalidateMs',
    ),
    staleIfErrorMs: nonNegative(options.staleIfErrorMs, defaults.staleIfErrorMs, 'staleIfErrorMs'),
    staleIfRateLimitedMs: nonNegative(
      options.staleIfRateLimitedMs,
      defaults.staleIfRateLimitedMs,
      'staleIfRateLimitedMs',
    ),
    keepStaleMs: nonNegative(options.keepStaleMs, defaults.keepStaleMs, 'keepStaleMs'),
  };
  const rules = createCacheRules(baseRule, options.routes, options.invalidate);
  const maxEntryBytes = nonNegative(options.maxEntryBytes, defaults.maxEntryBytes, 'maxEntryBytes');
  const maxWaitForFreshMs = nonNegative(options.maxWaitForFreshMs, defaults.maxWaitForFreshMs, 'maxWaitForFreshMs');
  const shareAllowed = options.shared ?? defaults.shared;
  const credentialHeaders = (options.credentialHeaders ?? DEFAULT_CREDENTIAL_HEADERS).map((name) => name.toLowerCase());
  const refreshPriority = options.refreshPriority ?? defaults.refreshPriority;
  const onError = options.onError ?? (() => {});
  const ownsStore = options.store === undefined;
  const store = options.store ?? createMemoryCacheStore({ maxEntries: options.maxEntries, maxBytes: options.maxBytes });
  const base = new URL(dependencies.baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  /** Keys being refreshed in the background by this process. */
  const refreshing = new Set<string>();
  const backgroundTasks = new Set<Promise<void>>();
  /** Aborts background refreshes when the cache closes. */
  const closing = new AbortController();
  const dialect = dependencies.dialect ?? 'auto';

  /**
   * What a revalidation with our validators reserves: nothing where the provider does not count a 304 (the reply's
   * own rate-limit headers correct the budget if the answer is a full 200 after all).
   */
  function revalidationCost(call: Call, variant: CachedVariant): Call['cost'] {
    const concrete = dialect === 'auto' ? detectDialect(variant.headers) : dialect;
    const free = actualCostOf(concrete, { status: 304, headers: {}, body: null })?.requests === 0;
    return free ? { ...call.cost, requests: 0 } : call.cost;
  }

  async function write(key: string, resource: CacheResource, variant: CachedVariant): Promise<boolean> {
    try {
      await store.write(key, resource, variant, scheduler.now());
      return true;
    } catch (error) {
      onError(error);
      return false;
    }
  }

  async function find(call: Call, nowEpochMs: number): Promise<Lookup> {
    const partition = partitionOf(call.tenant, call.headers, credentialHeaders);
    const privateKey = entryKey(upstream, partition, call.path);
    const sharedKey = shareAllowed ? entryKey(upstream, SHARED_PARTITION, call.path) : null;
    const keys = sharedKey === null ? [privateKey] : [privateKey, sharedKey];
    let lists: CachedVariant[][] = [];
    try {
      lists = await store.read(keys, nowEpochMs);
    } catch (error) {
      onError(error);
    }
    let found: Found | null = null;
    let anyVariant = false;
    lists.forEach((variants, index) => {
      for (const variant of variants) {
        anyVariant = true;
        if (variantIdOf(variant.vary, call.headers) !== variant.variantId) continue;
        // A newer shared entry wins over an older private one, and the other way round.
        if (found === null || variant.freshness.responseAtEpochMs > found.variant.freshness.responseAtEpochMs) {
          found = { variant, key: keys[index] as string };
        }
      }
    });
    return {
      privateKey,
      sharedKey,
      resource: { upstream, path: resourcePath(call.path) },
      found,
      varyMiss: anyVariant && found === null,
    };
  }

  function serve(call: Call, variant: CachedVariant, status: CacheStatus): Reply {
    const ageMs = currentAgeMs(variant.freshness, scheduler.now());
    status.ttlMs = variant.freshness.lifetimeMs - ageMs;
    call.notes.cacheStatus = formatCacheStatus(status);
    const notModified = variant.status === 200 && callerConditionMet(call.headers, variant);
    return replyFromVariant(variant, ageMs, call.method, notModified ? 304 : variant.status);
  }

  /** Stores a full reply when it may be stored, and returns it (its body replayed when it was read). */
  async function keep(
    call: Call,
    sent: Call,
    reply: Reply,
    lookup: Lookup,
    request: Directives,
    requestAtEpochMs: number,
    status: CacheStatus,
  ): Promise<Reply> {
    const responseAtEpochMs = scheduler.now();
    status.fwdStatus = reply.status;
    if (isCollapsed(sent)) status.collapsed = true;
    if (call.method === 'GET' && reply.status !== 304) {
      const decision = decideStore({
        status: reply.status,
        headers: reply.headers,
        request,
        requestAtEpochMs,
        responseAtEpochMs,
        rule: rules.ruleFor(call.path),
        shareAllowed,
      });
      if (decision.store && !declaredLarger(reply, maxEntryBytes)) {
        const body = await readWholeBody(reply, maxEntryBytes);
        if (body !== null) {
          const vary = varyNames(reply.headers);
          const variant: CachedVariant = {
            variantId: variantIdOf(vary, call.headers),
            vary,
            status: reply.status,
            headers: storedHeaders(reply.headers),
            body,
            freshness: decision.freshness,
            keepUntilEpochMs: decision.keepUntilEpochMs,
          };
          const key = decision.shared && lookup.sharedKey !== null ? lookup.sharedKey : lookup.privateKey;
          status.stored = await write(key, lookup.resource, variant);
        }
      }
    }
    call.notes.cacheStatus = formatCacheStatus(status);
    return reply;
  }

  /** A 304 freshens the entry (RFC 9111 §4.3.4); returns the entry as it now stands, and whether it was stored. */
  async function freshen(
    call: Call,
    found: Found,
    lookup: Lookup,
    notModified: Reply,
    request: Directives,
    requestAtEpochMs: number,
  ): Promise<{ variant: CachedVariant; stored: boolean }> {
    discardBody(notModified);
    const responseAtEpochMs = scheduler.now();
    const headers = freshenHeaders(found.variant.headers, storedHeaders(notModified.headers));
    const decision = decideStore({
      status: found.variant.status,
      headers,
      request,
      requestAtEpochMs,
      responseAtEpochMs,
      rule: rules.ruleFor(call.path),
      shareAllowed,
    });
    if (!decision.store) {
      // The entry is valid for this call, but the upstream no longer lets it be kept.
      return { variant: { ...found.variant, headers }, stored: false };
    }
    const vary = varyNames(headers);
    const variant: CachedVariant = {
      ...found.variant,
      variantId: variantIdOf(vary, call.headers),
      vary,
      headers,
      freshness: decision.freshness,
      keepUntilEpochMs: decision.keepUntilEpochMs,
    };
    const key = decision.shared && lookup.sharedKey !== null ? lookup.sharedKey : lookup.privateKey;
    return { variant, stored: await write(key, lookup.resource, variant) };
  }

  function serveStale(call: Call, variant: CachedVariant, fallback: StaleFallback, sent: Call): Reply {
    const status: CacheStatus = fallback.forwarded
      ? { fwd: 'stale', fwdStatus: fallback.status, detail: fallback.detail }
      : { hit: true, detail: fallback.detail };
    if (isCollapsed(sent)) status.collapsed = true;
    return serve(call, variant, status);
  }

  async function revalidate(
    call: Call,
    next: Next,
    lookup: Lookup,
    found: Found,
    request: Directives,
    judgement: Judgement,
  ): Promise<Reply> {
    const callerConditional = hasCallerConditional(call.headers);
    let sent: Call = callerConditional
      ? call
      : { ...call, headers: withValidators(call.headers, found.variant), cost: revalidationCost(call, found.variant) };
    if (judgement.staleIfRateLimited) {
      // With a stale entry to fall back on, waiting long for the budget is worse than serving it.
      const latest = scheduler.now() + maxWaitForFreshMs;
      if (sent.deadlineAtEpochMs === undefined || sent.deadlineAtEpochMs > latest) {
        sent = { ...sent, deadlineAtEpochMs: latest };
      }
    }
    const requestAtEpochMs = scheduler.now();
    let reply: Reply;
    try {
      reply = await next(sent);
    } catch (error) {
      const fallback = staleFallbackForError(error, judgement);
      if (fallback) return serveStale(call, found.variant, fallback, sent);
      throw error;
    }
    const fwd = judgement.forcedByRequest ? 'request' : 'stale';
    if (reply.status === 304 && !callerConditional) {
      const { variant, stored } = await freshen(call, found, lookup, reply, request, requestAtEpochMs);
      return serve(call, variant, { fwd, fwdStatus: 304, stored, collapsed: isCollapsed(sent) || undefined });
    }
    const fallback = staleFallbackForReply(reply, judgement);
    if (fallback) {
      discardBody(reply);
      return serveStale(call, found.variant, fallback, sent);
    }
    return keep(call, sent, reply, lookup, request, requestAtEpochMs, { fwd });
  }

  async function refreshInBackground(call: Call, next: Next, lookup: Lookup, found: Found): Promise<void> {
    if (!(await store.claimRefresh(found.key, REFRESH_CLAIM_MS, scheduler.now()).catch(() => true))) return;
    try {
      // The caller's own conditionals and cache directives were for its call, not for this refresh.
      const headers: CallHeaders = {};
      for (const [name, value] of Object.entries(call.headers)) {
        if (!BACKGROUND_DROPPED.has(name)) headers[name] = value;
      }
      const background: Call = {
        ...call,
        headers: withValidators(headers, found.variant),
        signal: closing.signal,
        deadlineAtEpochMs: undefined,
        priority: refreshPriority,
        cost: revalidationCost(call, found.variant),
        notes: { waitedMs: 0, attempts: 0 },
      };
      const requestAtEpochMs = scheduler.now();
      const reply = await next(background);
      if (reply.status === 304) {
        await freshen(background, found, lookup, reply, NO_DIRECTIVES, requestAtEpochMs);
        return;
      }
      if (reply.status === 429 || reply.signal?.limited === true || reply.status >= 500) {
        // Keep serving the stale entry; the next call past its window revalidates in the foreground.
        discardBody(reply);
        return;
      }
      const kept = await keep(background, background, reply, lookup, NO_DIRECTIVES, requestAtEpochMs, {});
      discardBody(kept);
    } finally {
      await store.releaseRefresh(found.key).catch(onError);
    }
  }

  function startRefresh(call: Call, next: Next, lookup: Lookup, found: Found): void {
    if (refreshing.has(found.key)) return;
    refreshing.add(found.key);
    const task: Promise<void> = refreshInBackground(call, next, lookup, found)
      .catch(onError)
      .finally(() => {
        refreshing.delete(found.key);
        backgroundTasks.delete(task);
      });
    backgroundTasks.add(task);
  }

  /** The path, relative to the base URL, that a Location or Content-Location names (null when elsewhere). */
  function pathOfLink(link: string | undefined, callPath: string): string | null {
    if (link === undefined) return null;
    try {
      const url = new URL(link, new URL(basePath + callPath, base.origin));
      if (url.origin !== base.origin) return null;
      if (url.pathname !== basePath && !url.pathname.startsWith(`${basePath}/`)) return null;
      return url.pathname.slice(basePath.length) || '/';
    } catch {
      return null;
    }
  }

  async function invalidateTargets(targets: readonly InvalidationTarget[]): Promise<number> {
    let count = 0;
    try {
      const resources = targets.filter((target) => !target.prefix).map((target) => ({ upstream, path: target.path }));
      if (resources.length > 0) count += await store.invalidate(resources);
      for (const target of targets) if (target.prefix) count += await store.purgePrefix(upstream, target.path);
    } catch (error) {
      onError(error);
    }
    return count;
  }

  /** RFC 9111 §4.4: a write that succeeded invalidates its target, Location, Content-Location and related paths. */
  async function writeThrough(call: Call, next: Next): Promise<Reply> {
    const reply = await next(call);
    if (reply.status >= 200 && reply.status < 400) {
      const targets: InvalidationTarget[] = [{ path: resourcePath(call.path), prefix: false }];
      for (const name of ['location', 'content-location']) {
        const path = pathOfLink(headerText(reply.headers, name), call.path);
        if (path !== null) targets.push({ path: resourcePath(path), prefix: false });
      }
      targets.push(...rules.relatedTo(call.method, call.path));
      await invalidateTargets(targets);
    }
    return reply;
  }

  function onlyIfCached(call: Call): Reply {
    // RFC 9111 §5.2.1.7: nothing usable is stored, and the caller asked not to go upstream.
    call.notes.cacheStatus = formatCacheStatus({ detail: 'only-if-cached' });
    return { status: 504, headers: { 'content-length': '0' }, body: null };
  }

  async function cacheStage(call: Call, next: Next): Promise<Reply> {
    const method = call.method;
    if (method !== 'GET' && method !== 'HEAD') {
      return UNSAFE_METHODS.has(method) ? writeThrough(call, next) : next(call);
    }
    // Ranges and GETs with a body are not cached (RFC 9111 §3.3 and §2).
    if (call.body !== null || call.headers.range !== undefined) return next(call);
    const rule = rules.ruleFor(call.path);
    if (!rule.enabled) return next(call);
    const request = requestDirectives(call.headers);
    if (request.has('no-store')) {
      call.notes.cacheStatus = formatCacheStatus({ fwd: 'request' });
      return next(call);
    }
    const lookup = await find(call, scheduler.now());
    const found = lookup.found;
    if (found === null) {
      if (request.has('only-if-cached')) return onlyIfCached(call);
      const requestAtEpochMs = scheduler.now();
      const reply = await next(call);
      return keep(call, call, reply, lookup, request, requestAtEpochMs, {
        fwd: lookup.varyMiss ? 'vary-miss' : 'uri-miss',
      });
    }
    const judgement = judgeEntry(found.variant.freshness, scheduler.now(), request);
    switch (judgement.action) {
      case 'serve':
        return serve(call, found.variant, { hit: true, detail: judgement.ttlMs <= 0 ? 'max-stale' : undefined });
      case 'serve-stale-and-refresh':
        startRefresh(call, next, lookup, found);
        return serve(call, found.variant, { hit: true, detail: 'stale-while-revalidate' });
      default:
        if (request.has('only-if-cached')) return onlyIfCached(call);
        return revalidate(call, next, lookup, found, request, judgement);
    }
  }

  return {
    stage: cacheStage,
    store,
    async purge(selector) {
      const given = selector as { path?: unknown; prefix?: unknown } | null;
      const path = given?.path;
      const prefix = given?.prefix;
      if ((path === undefined) === (prefix === undefined)) {
        throw new InvalidOptionError('purge', 'give either { path: "/users/1" } or { prefix: "/users/" }');
      }
      const value = path ?? prefix;
      if (typeof value !== 'string' || !value.startsWith('/')) {
        throw new InvalidOptionError(
          path !== undefined ? 'purge.path' : 'purge.prefix',
          `expected a path starting with "/", got ${JSON.stringify(value)}`,
        );
      }
      return invalidateTargets([
        { path: path !== undefined ? resourcePath(value) : value, prefix: prefix !== undefined },
      ]);
    },
    async settled() {
      while (backgroundTasks.size > 0) await Promise.allSettled([...backgroundTasks]);
    },
    async close() {
      closing.abort();
      await Promise.allSettled([...backgroundTasks]);
      if (ownsStore) await store.close();
    },
  };
}
