import type { CachedVariant } from './entry.js';
import type { CacheResource } from './key.js';

/**
 * Where cached replies live: in this process (memory) or shared by every instance (Redis). Stores are an
 * optimisation, so a store that cannot answer never fails a call: reads then return nothing, writes are dropped,
 * and the failure goes to `onError`.
 */
export interface CacheStore {
  /** The variants kept under each key (in the order of `keys`), without those past their `keepUntilEpochMs`. */
  read(keys: readonly string[], nowEpochMs: number): Promise<CachedVariant[][]>;
  /** Keeps `variant` under `key` (replacing the variant with the same id), filed under its resource. */
  write(key: string, resource: CacheResource, variant: CachedVariant, nowEpochMs: number): Promise<void>;
  /** Drops every entry of these resources: every partition, query and variant. Returns how many keys went. */
  invalidate(resources: readonly CacheResource[]): Promise<number>;
  /** Drops every entry of `upstream` whose resource path starts with `pathPrefix`. Returns how many keys went. */
  purgePrefix(upstream: string, pathPrefix: string): Promise<number>;
  /**
   * Claims the background refresh of `key` for up to `ttlMs`: true for the one caller, across every process that
   * shares the store, that should refresh it.
   */
  claimRefresh(key: string, ttlMs: number, nowEpochMs: number): Promise<boolean>;
  releaseRefresh(key: string): Promise<void>;
  close(): Promise<void>;
}

/** Variants kept per key; beyond this the oldest goes (a reply varying on a header with many values). */
export const MAX_VARIANTS_PER_KEY = 8;

/** Adds or replaces `variant` in a key's list, keeping at most MAX_VARIANTS_PER_KEY (the newest). */
export function withVariant(variants: readonly CachedVariant[], variant: CachedVariant): CachedVariant[] {
  const others = variants.filter((existing) => existing.variantId !== variant.variantId);
  others.push(variant);
  if (others.length <= MAX_VARIANTS_PER_KEY) return others;
  others.sort((a, b) => a.freshness.responseAtEpochMs - b.freshness.responseAtEpochMs);
  return others.slice(others.length - MAX_VARIANTS_PER_KEY);
}
