/** The cache's defaults, in one place: the configuration and the pipeline both start from these. */
export const CACHE_DEFAULTS = {
  maxEntries: 10_000,
  maxBytes: 64 * 1024 * 1024,
  maxEntryBytes: 1024 * 1024,
  ttlMs: 0,
  staleWhileRevalidateMs: 0,
  staleIfErrorMs: 0,
  staleIfRateLimitedMs: 5 * 60_000,
  keepStaleMs: 60 * 60_000,
  maxWaitForFreshMs: 1000,
  shared: true,
  refreshPriority: -1,
} as const;
