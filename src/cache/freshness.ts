/**
 * RFC 9111 as pure functions: whether a reply may be stored and where (a credential's private partition or the
 * shared one), how long it stays fresh, and, at each later request, whether the stored reply may be used as it is,
 * used stale while it is refreshed, or must be revalidated first (and may stand in if that fails).
 */
import type { ReplyHeaders } from '../pipeline/stage.js';
import { type Directives, deltaSecondsMs, parseCacheControl } from './cache-control.js';

/** What the configuration says for a route (or the whole upstream): defaults for replies that say nothing. */
export interface CacheRule {
  /** False: replies on this route are neither stored nor served from the cache. */
  enabled: boolean;
  /** Freshness of replies that state none (no max-age, s-maxage or Expires). 0: they are not fresh. */
  ttlMs: number;
  /** `ttlMs` replaces whatever the reply says (for APIs whose cache headers are wrong); no-store included. */
  override: boolean;
  /** Serve a stale entry at once and refresh it in the background, this long past its freshness. */
  staleWhileRevalidateMs: number;
  /** Serve a stale entry when the upstream fails (5xx, timeout, unreachable), this long past its freshness. */
  staleIfErrorMs: number;
  /** Serve a stale entry when the budget cannot serve the call in time, this long past its freshness. */
  staleIfRateLimitedMs: number;
  /** How long past its freshness an entry with a validator (ETag, Last-Modified) is kept to be revalidated. */
  keepStaleMs: number;
}

/** How a stored reply ages; fixed when it is stored and again whenever a 304 freshens it. */
export interface Freshness {
  /** When the reply (or the 304 that last freshened it) arrived, on the local clock. */
  responseAtEpochMs: number;
  /** Its age on arrival (RFC 9111 §4.2.3 corrected_initial_age). */
  initialAgeMs: number;
  /** Its freshness lifetime (RFC 9111 §4.2.1). */
  lifetimeMs: number;
  staleWhileRevalidateMs: number;
  staleIfErrorMs: number;
  staleIfRateLimitedMs: number;
  /** no-cache: it may be used only after a successful revalidation. */
  revalidateAlways: boolean;
  /** must-revalidate and the like: once stale, it is never used without a successful revalidation. */
  neverStale: boolean;
}

export type StoreDecision =
  | { store: false; reason: string }
  | { store: true; shared: boolean; freshness: Freshness; keepUntilEpochMs: number };

/** RFC 9110 §15.1: statuses that may be cached without explicit freshness (here: with a configured ttl). */
const HEURISTICALLY_CACHEABLE = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);
/** Statuses that are stored only with explicit freshness information. 206 is never stored (no range support). */
const EXPLICITLY_CACHEABLE = new Set([302, 307]);

export function headerText(headers: ReplyHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** HTTP dates; anything unreadable is null. */
export function parseHttpDate(value: string | undefined): number | null {
  if (value === undefined) return null;
  const parsed = Date.parse(value);
  return Number.isFinite(parsed) ? parsed : null;
}

/** Lower-case names listed in Vary; `['*']` when it holds a "*". */
export function varyNames(headers: ReplyHeaders): string[] {
  const text = headerText(headers, 'vary');
  if (text === undefined) return [];
  const names = text
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (names.includes('*')) return ['*'];
  return [...new Set(names)].sort();
}

export function hasValidator(headers: ReplyHeaders): boolean {
  return headers.etag !== undefined || headers['last-modified'] !== undefined;
}

/** RFC 9111 §4.2.3: the age a reply already had when it arrived. */
export function initialAgeMs(headers: ReplyHeaders, requestAtEpochMs: number, responseAtEpochMs: number): number {
  const dateMs = parseHttpDate(headerText(headers, 'date'));
  const apparentAgeMs = dateMs === null ? 0 : Math.max(0, responseAtEpochMs - dateMs);
  const ageText = headerText(headers, 'age')?.split(',')[0]?.trim();
  const ageValueMs =
    ageText !== undefined && /^\d+$/.test(ageText) ? Math.min(Number(ageText), 2_147_483_648) * 1000 : 0;
  const responseDelayMs = Math.max(0, responseAtEpochMs - requestAtEpochMs);
  return Math.max(apparentAgeMs, ageValueMs + responseDelayMs);
}

/** RFC 9111 §4.2.1: how long the reply is fresh, or null when it states nothing. */
function statedLifetimeMs(directives: Directives, headers: ReplyHeaders, shared: boolean): number | null {
  if (shared) {
    const sharedMaxAge = deltaSecondsMs(directives, 's-maxage');
    if (sharedMaxAge !== null) return sharedMaxAge;
  }
  const maxAge = deltaSecondsMs(directives, 'max-age');
  if (maxAge !== null) return maxAge;
  const expiresText = headerText(headers, 'expires');
  if (expiresText === undefined) return null;
  // An invalid Expires ("0", "-1") means "already expired" (RFC 9111 §5.3).
  const expiresMs = parseHttpDate(expiresText);
  if (expiresMs === null) return 0;
  const dateMs = parseHttpDate(headerText(headers, 'date'));
  return dateMs === null ? 0 : Math.max(0, expiresMs - dateMs);
}

/** A reply the upstream explicitly allows any caller to reuse. */
function isShareable(directives: Directives, headers: ReplyHeaders): boolean {
  if (directives.has('private')) return false;
  if (headers['set-cookie'] !== undefined) return false;
  return directives.has('public') || directives.has('s-maxage');
}

export interface StoreInput {
  status: number;
  headers: ReplyHeaders;
  /** The request's own directives: its no-store forbids storing. */
  request: Directives;
  requestAtEpochMs: number;
  responseAtEpochMs: number;
  rule: CacheRule;
  /** Whether shareable replies go to the shared partition (otherwise every entry is private to its credential). */
  shareAllowed: boolean;
}

/** Whether, where and for how long a reply to a GET may be kept (RFC 9111 §3). */
export function decideStore(input: StoreInput): StoreDecision {
  const { status, headers, rule } = input;
  if (!rule.enabled) return { store: false, reason: 'caching is off for this route' };
  if (input.request.has('no-store')) return { store: false, reason: 'the request said no-store' };
  const directives = parseCacheControl(headers['cache-control']);
  const vary = varyNames(headers);
  if (vary[0] === '*') return { store: false, reason: 'Vary: * (every request differs)' };
  const overriding = rule.override && rule.ttlMs > 0;
  if (!overriding && directives.has('no-store')) return { store: false, reason: 'the reply said no-store' };
  if (!HEURISTICALLY_CACHEABLE.has(status) && !EXPLICITLY_CACHEABLE.has(status)) {
    return { store: false, reason: `status ${status} is not cached` };
  }
  const shared = !overriding && input.shareAllowed && isShareable(directives, headers);
  const stated = overriding ? null : statedLifetimeMs(directives, headers, shared);
  if (stated === null && EXPLICITLY_CACHEABLE.has(status) && !overriding) {
    return { store: false, reason: `status ${status} is cached only with explicit freshness` };
  }
  const revalidateAlways = !overriding && directives.has('no-cache');
  const lifetimeMs = revalidateAlways ? 0 : (stated ?? rule.ttlMs);
  const validator = hasValidator(headers);
  if (lifetimeMs === 0 && !validator) {
    // Never fresh and nothing to revalidate with: keeping it would only ever serve it stale.
    return { store: false, reason: 'the reply is never fresh (no max-age, Expires or ttl) and has no validator' };
  }
  // must-revalidate (and, for a shared entry, proxy-revalidate and s-maxage) forbid any use of a stale entry.
  const neverStale =
    revalidateAlways ||
    (!overriding &&
      (directives.has('must-revalidate') ||
        (shared && (directives.has('proxy-revalidate') || directives.has('s-maxage')))));
  const staleWindow = (directive: string, configured: number) =>
    neverStale ? 0 : overriding ? configured : (deltaSecondsMs(directives, directive) ?? configured);
  const freshness: Freshness = {
    responseAtEpochMs: input.responseAtEpochMs,
    initialAgeMs: initialAgeMs(headers, input.requestAtEpochMs, input.responseAtEpochMs),
    lifetimeMs,
    staleWhileRevalidateMs: staleWindow('stale-while-revalidate', rule.staleWhileRevalidateMs),
    staleIfErrorMs: staleWindow('stale-if-error', rule.staleIfErrorMs),
    staleIfRateLimitedMs: neverStale ? 0 : rule.staleIfRateLimitedMs,
    revalidateAlways,
    neverStale,
  };
  const keepUntilEpochMs = keepUntil(freshness, validator ? rule.keepStaleMs : 0);
  if (keepUntilEpochMs <= input.responseAtEpochMs) {
    return { store: false, reason: 'the reply is stale on arrival and has no validator to revalidate it with' };
  }
  return { store: true, shared, freshness, keepUntilEpochMs };
}

/** Until when an entry is worth keeping: its freshness plus the longest use it allows once stale. */
export function keepUntil(freshness: Freshness, keepStaleMs: number): number {
  const freshUntilEpochMs = freshness.responseAtEpochMs + freshness.lifetimeMs - freshness.initialAgeMs;
  const staleUseMs = Math.max(
    freshness.staleWhileRevalidateMs,
    freshness.staleIfErrorMs,
    freshness.staleIfRateLimitedMs,
    keepStaleMs,
  );
  return freshUntilEpochMs + staleUseMs;
}

export function currentAgeMs(freshness: Freshness, nowEpochMs: number): number {
  return freshness.initialAgeMs + Math.max(0, nowEpochMs - freshness.responseAtEpochMs);
}

/**
 * What to do with a stored entry for a request:
 * - `serve`: use it as it is (fresh, or stale within the request's max-stale);
 * - `serve-stale-and-refresh`: use it now and refresh it in the background (stale-while-revalidate);
 * - `revalidate`: ask the upstream first; if that fails, `staleIfError` / `staleIfRateLimited` say whether the
 *   entry may stand in.
 */
export interface Judgement {
  action: 'serve' | 'serve-stale-and-refresh' | 'revalidate';
  ageMs: number;
  /** Freshness left (negative once stale). */
  ttlMs: number;
  staleIfError: boolean;
  staleIfRateLimited: boolean;
  /** Why the request itself forced a revalidation (no-cache, max-age, min-fresh), for Cache-Status. */
  forcedByRequest: boolean;
}

export function judgeEntry(freshness: Freshness, nowEpochMs: number, request: Directives): Judgement {
  const ageMs = currentAgeMs(freshness, nowEpochMs);
  const ttlMs = freshness.lifetimeMs - ageMs;
  const requestNoCache = request.has('no-cache');
  const requestMaxAgeMs = deltaSecondsMs(request, 'max-age');
  const minFreshMs = deltaSecondsMs(request, 'min-fresh') ?? 0;
  const forcedByRequest =
    requestNoCache || (requestMaxAgeMs !== null && ageMs > requestMaxAgeMs) || (ttlMs > 0 && ttlMs < minFreshMs);
  const fresh = !freshness.revalidateAlways && ttlMs > 0 && !forcedByRequest;
  const result: Judgement = {
    action: 'revalidate',
    ageMs,
    ttlMs,
    staleIfError: false,
    staleIfRateLimited: false,
    forcedByRequest,
  };
  if (fresh) {
    result.action = 'serve';
    return result;
  }
  // A request that asked for a fresh answer (no-cache, max-age) gets one or an error, never a stale stand-in.
  if (freshness.neverStale || requestNoCache || requestMaxAgeMs !== null) return result;
  const stalenessMs = -ttlMs;
  const maxStaleMs = request.has('max-stale') ? (deltaSecondsMs(request, 'max-stale') ?? 0) : null;
  // max-stale without a value accepts any staleness.
  if (maxStaleMs !== null && (request.get('max-stale') === null || stalenessMs <= maxStaleMs)) {
    result.action = 'serve';
    return result;
  }
  if (stalenessMs < freshness.staleWhileRevalidateMs && !forcedByRequest) {
    result.action = 'serve-stale-and-refresh';
    return result;
  }
  const requestStaleIfErrorMs = deltaSecondsMs(request, 'stale-if-error') ?? 0;
  result.staleIfError = stalenessMs < Math.max(freshness.staleIfErrorMs, requestStaleIfErrorMs);
  result.staleIfRateLimited = stalenessMs < freshness.staleIfRateLimitedMs;
  return result;
}

/**
 * RFC 9111 §4.3.4: a 304 freshens the stored reply. Its headers replace the stored ones of the same name (except
 * those describing the body), and the entry's age starts again from the 304.
 */
export function freshenHeaders(stored: ReplyHeaders, notModified: ReplyHeaders): ReplyHeaders {
  const merged: ReplyHeaders = { ...stored };
  for (const [name, value] of Object.entries(notModified)) {
    if (BODY_HEADERS.has(name)) continue;
    merged[name] = value;
  }
  return merged;
}

const BODY_HEADERS = new Set([
  'content-length',
  'content-encoding',
  'content-type',
  'content-range',
  'transfer-encoding',
]);
