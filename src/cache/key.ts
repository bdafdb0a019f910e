/**
 * Where an entry lives. Every upstream is split into partitions: one per credential (the tenant and the credential
 * headers the call carries), which behaves as that credential's private cache, and one shared partition for replies
 * the upstream explicitly marks shareable. Keys never hold a credential: partitions and variants are digests.
 */
import { createHash } from 'node:crypto';
import type { CallHeaders } from '../pipeline/stage.js';

/** Headers that carry a caller's credential; the gateway adds the names its credentials are sent in. */
export const DEFAULT_CREDENTIAL_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-api-key',
  'api-key',
];

export const SHARED_PARTITION = 'shared';

/** 128 bits of SHA-256, URL-safe: enough to tell credentials and variants apart, nothing to recover them from. */
export function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

/**
 * Recent partitions by their material: the same few credentials call again and again, and hashing costs. The
 * material holds credentials; it stays in this map, in memory, and is never written anywhere.
 */
const recentPartitions = new Map<string, string>();
const RECENT_PARTITIONS = 1024;

export function partitionOf(
  tenant: string | undefined,
  headers: CallHeaders,
  credentialHeaders: readonly string[],
): string {
  let material = tenant === undefined ? '-' : `tenant:${tenant}`;
  for (const name of credentialHeaders) {
    const value = headers[name];
    if (value !== undefined) material += `\n${name}:${value}`;
  }
  let partition = recentPartitions.get(material);
  if (partition === undefined) {
    partition = digest(material);
    // Forgetting all at once is enough: the map only saves work, and stays bounded.
    if (recentPartitions.size >= RECENT_PARTITIONS) recentPartitions.clear();
    recentPartitions.set(material, partition);
  }
  return partition;
}

/** An upstream resource: the path without its query. Invalidation works per resource. */
export interface CacheResource {
  upstream: string;
  path: string;
}

export function resourcePath(path: string): string {
  const queryAt = path.indexOf('?');
  return queryAt === -1 ? path : path.slice(0, queryAt);
}

/** The key of a GET of `path` (query included) in a partition. */
export function entryKey(upstream: string, partition: string, path: string): string {
  return `${upstream} ${partition} ${path}`;
}

function normalizedValue(value: string | undefined): string {
  // Absent differs from empty; whitespace differences do not make a different variant (RFC 9111 §4.1).
  return value === undefined ? '\u0000' : value.trim().replace(/[ \t]+/g, ' ');
}

/** Which variant a request selects among replies that vary on `vary` (sorted, lower-case names). */
export function variantIdOf(vary: readonly string[], headers: CallHeaders): string {
  if (vary.length === 0) return '';
  let material = '';
  for (const name of vary) material += `${name}:${normalizedValue(headers[name])}\n`;
  return digest(material);
}

/** The resource an entry key belongs to (the inverse of entryKey, for stores that file keys by resource). */
export function resourceOfKey(key: string): CacheResource {
  const first = key.indexOf(' ');
  const second = key.indexOf(' ', first + 1);
  return { upstream: key.slice(0, first), path: resourcePath(key.slice(second + 1)) };
}
