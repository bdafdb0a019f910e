/**
 * The economy stages in their fixed order (cache -> coalesce -> batch), built from the pipeline's options, and the
 * mapping from an upstream's normalised configuration to those options (for the gateway and the client alike).
 */

import type { CacheStore } from '../cache/store.js';
import type { UpstreamOptions } from '../config/upstream.js';
import type { Dialect } from '../signals/types.js';
import type { Scheduler } from '../time.js';
import { createBatchStage } from './batch.js';
import type { BatchRoute } from './batch-split.js';
import { type Cache, type CacheOptions, createCache } from './cache.js';
import { type CoalesceOptions, createCoalesceStage } from './coalesce.js';
import type { Stage } from './stage.js';

/** What the pipeline options say about the economy stages. */
export interface EconomyOptions {
  /** Cache replies (RFC 9111), per credential. Off unless given. */
  cache?: CacheOptions | false;
  /** Identical GETs in flight share one upstream call. Off unless true or given options. */
  coalesce?: CoalesceOptions | boolean;
  /** Single-item GET routes collected into batch calls. None by default. */
  batch?: readonly BatchRoute[];
}

export interface EconomyStages {
  stages: Stage[];
  cache: Cache | null;
}

export function createEconomyStages(
  options: EconomyOptions,
  dependencies: { upstream: string; baseUrl: string; scheduler: Scheduler; dialect?: Dialect },
): EconomyStages {
  const stages: Stage[] = [];
  const cache = options.cache ? createCache(options.cache, dependencies) : null;
  if (cache) stages.push(cache.stage);
  if (options.coalesce) {
    stages.push(createCoalesceStage(options.coalesce === true ? {} : options.coalesce, dependencies));
  }
  if (options.batch && options.batch.length > 0) stages.push(createBatchStage(options.batch, dependencies));
  return { stages, cache };
}

export interface EconomyDependencies {
  /**
   * Where every upstream's cache lives when it is shared (createRedisCacheStore for a Redis store). Default: an
   * in-memory store per upstream, bounded by its cache.maxEntries and cache.maxBytes.
   */
  cacheStore?: CacheStore;
  /** Told of cache store failures and failed background refreshes. */
  onCacheError?: (error: unknown) => void;
}

/** Header names an upstream's configured credentials are sent in: they partition its cache, like authorization. */
function credentialHeadersOf(upstream: UpstreamOptions): string[] {
  const names = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key', 'api-key']);
  for (const credential of Object.values(upstream.credentials)) {
    if (credential.placement === 'header') names.add(credential.header.toLowerCase());
  }
  return [...names];
}

/** The pipeline options of the economy stages, from an upstream's normalised configuration. */
export function economyOptionsFromUpstream(
  upstream: UpstreamOptions,
  dependencies: EconomyDependencies = {},
): EconomyOptions {
  const { cache, coalesce, batch } = upstream;
  return {
    cache: cache.enabled
      ? {
          store: dependencies.cacheStore,
          maxEntries: cache.maxEntries,
          maxBytes: cache.maxBytes,
          maxEntryBytes: cache.maxEntryBytes,
          ttlMs: cache.ttlMs,
          staleWhileRevalidateMs: cache.staleWhileRevalidateMs,
          staleIfErrorMs: cache.staleIfErrorMs,
          staleIfRateLimitedMs: cache.staleIfRateLimitedMs,
          keepStaleMs: cache.keepStaleMs,
          maxWaitForFreshMs: cache.maxWaitForFreshMs,
          shared: cache.shared,
          credentialHeaders: credentialHeadersOf(upstream),
          routes: cache.routes,
          invalidate: cache.invalidate,
          onError: dependencies.onCacheError,
        }
      : false,
    coalesce: coalesce.enabled
      ? {
          maxBodyBytes: coalesce.maxBodyBytes,
          ...(coalesce.ignoreHeaders === null ? {} : { ignoreHeaders: coalesce.ignoreHeaders }),
        }
      : false,
    batch: batch.map((route) => ({
      match: route.match,
      item: route.item ?? undefined,
      maxBatch: route.maxBatch,
      maxWaitMs: route.maxWaitMs,
      send: { ...route.send },
      split: { ...route.split },
      maxBodyBytes: route.maxBodyBytes,
    })),
  };
}
