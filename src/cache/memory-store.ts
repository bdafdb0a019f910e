/**
 * The in-process cache store: an LRU bounded in entries and in bytes (lru-cache), with an index from each resource
 * to its keys so that a write invalidates every partition and query of a resource without a scan.
 */
import { LRUCache } from 'lru-cache';
import { InvalidOptionError } from '../errors.js';
import { type CachedVariant, variantSize } from './entry.js';
import type { CacheResource } from './key.js';
import { type CacheStore, withVariant } from './store.js';

export interface MemoryCacheStoreOptions {
  /** Most keys kept (each holds up to 8 variants). Default 10000. */
  maxEntries?: number;
  /** Most bytes kept, bodies and headers counted. Default 64 MiB. */
  maxBytes?: number;
}

export interface MemoryCacheStore extends CacheStore {
  /** Keys and bytes held now. */
  size(): { entries: number; bytes: number };
}

interface Slot {
  resource: string;
  variants: CachedVariant[];
}

const resourceId = (resource: CacheResource) => `${resource.upstream} ${resource.path}`;

function positive(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new InvalidOptionError(field, `expected a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function createMemoryCacheStore(options: MemoryCacheStoreOptions = {}): MemoryCacheStore {
  const maxEntries = positive(options.maxEntries, 10_000, 'cache.maxEntries');
  const maxBytes = positive(options.maxBytes, 64 * 1024 * 1024, 'cache.maxBytes');
  const byResource = new Map<string, Set<string>>();
  const refreshClaims = new Map<string, number>();

  const forget = (key: string, resource: string) => {
    const keys = byResource.get(resource);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) byResource.delete(resource);
  };

  const slots = new LRUCache<string, Slot>({
    max: maxEntries,
    maxSize: maxBytes,
    sizeCalculation: (slot) =>
      Math.max(
        1,
        slot.variants.reduce((sum, variant) => sum + variantSize(variant), 0),
      ),
    dispose: (slot, key, reason) => {
      // A slot replaced by a newer list for the same key stays indexed.
      if (reason !== 'set') forget(key, slot.resource);
    },
  });

  const dropKeys = (keys: Iterable<string>) => {
    let count = 0;
    for (const key of [...keys]) if (slots.delete(key)) count++;
    return count;
  };

  return {
    async read(keys, nowEpochMs) {
      return keys.map((key) => {
        const slot = slots.get(key);
        if (!slot) return [];
        const live = slot.variants.filter((variant) => variant.keepUntilEpochMs > nowEpochMs);
        if (live.length === slot.variants.length) return live;
        if (live.length === 0) slots.delete(key);
        else slots.set(key, { resource: slot.resource, variants: live });
        return live;
      });
    },
    async write(key, resource, variant, nowEpochMs) {
      const id = resourceId(resource);
      const existing = slots.get(key);
      const kept = (existing?.variants ?? []).filter((old) => old.keepUntilEpochMs > nowEpochMs);
      slots.set(key, { resource: id, variants: withVariant(kept, variant) });
      // lru-cache refuses an item larger than maxSize; only index what it kept.
      if (!slots.has(key)) return;
      let keys = byResource.get(id);
      if (!keys) byResource.set(id, (keys = new Set()));
      keys.add(key);
    },
    async invalidate(resources) {
      let count = 0;
      for (const resource of resources) {
        const keys = byResource.get(resourceId(resource));
        if (keys) count += dropKeys(keys);
      }
      return count;
    },
    async purgePrefix(upstream, pathPrefix) {
      const start = `${upstream} ${pathPrefix}`;
      let count = 0;
      for (const [id, keys] of [...byResource]) if (id.startsWith(start)) count += dropKeys(keys);
      return count;
    },
    async claimRefresh(key, ttlMs, nowEpochMs) {
      const heldUntil = refreshClaims.get(key);
      if (heldUntil !== undefined && heldUntil > nowEpochMs) return false;
      refreshClaims.set(key, nowEpochMs + ttlMs);
      return true;
    },
    async releaseRefresh(key) {
      refreshClaims.delete(key);
    },
    async close() {
      slots.clear();
      byResource.clear();
      refreshClaims.clear();
    },
    size: () => ({ entries: slots.size, bytes: slots.calculatedSize }),
  };
}
