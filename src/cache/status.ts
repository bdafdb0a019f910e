/** The Cache-Status field (RFC 9211) Sluice adds to replies its cache answered, revalidated or stored. */

export interface CacheStatus {
  /** Answered from the cache without going upstream. */
  hit?: boolean;
  /** Why the call went upstream. */
  fwd?: 'uri-miss' | 'vary-miss' | 'miss' | 'request' | 'stale' | 'bypass';
  /** The status the upstream answered a forwarded call with. */
  fwdStatus?: number;
  /** Freshness left when served, in milliseconds (negative when stale); shown in whole seconds. */
  ttlMs?: number;
  /** The reply was stored. */
  stored?: boolean;
  /** The call shared another identical call's upstream request. */
  collapsed?: boolean;
  /** Why a stale entry was served (stale-while-revalidate, stale-if-error, stale-if-rate-limited). */
  detail?: string;
}

export const CACHE_NAME = 'sluice';

export function formatCacheStatus(status: CacheStatus): string {
  let text = CACHE_NAME;
  if (status.hit) text += '; hit';
  if (status.fwd !== undefined) text += `; fwd=${status.fwd}`;
  if (status.fwdStatus !== undefined) text += `; fwd-status=${status.fwdStatus}`;
  if (status.ttlMs !== undefined) text += `; ttl=${Math.round(status.ttlMs / 1000)}`;
  if (status.stored) text += '; stored';
  if (status.collapsed) text += '; collapsed';
  if (status.detail !== undefined) text += `; detail=${status.detail}`;
  return text;
}
