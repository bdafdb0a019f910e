/**
 * A stored reply (one variant of a cache key) and its byte form for shared stores. Decoding never throws: bytes
 * that are not an entry read as null, which the cache treats as a miss.
 */
import type { ReplyHeaders } from '../pipeline/stage.js';
import type { Freshness } from './freshness.js';

export interface CachedVariant {
  /** Tells this variant from the others of its key: a digest of the request's values of the `vary` headers. */
  variantId: string;
  /** Lower-case names of the request headers the reply varies on (from its Vary), sorted. */
  vary: readonly string[];
  status: number;
  headers: ReplyHeaders;
  body: Uint8Array;
  freshness: Freshness;
  /** After this the entry is of no use and may be dropped. */
  keepUntilEpochMs: number;
}

/** Connection-level headers (RFC 9110 §7.6.1) are never stored; the body's length is set again when served. */
const NOT_STORED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'age',
]);

/** The headers worth storing: everything but connection-level ones (and those the Connection header names). */
export function storedHeaders(headers: ReplyHeaders): ReplyHeaders {
  const named = headers.connection;
  const alsoDropped = new Set(
    (Array.isArray(named) ? named.join(',') : (named ?? ''))
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name !== ''),
  );
  const kept: ReplyHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || NOT_STORED.has(name) || alsoDropped.has(name)) continue;
    kept[name] = Array.isArray(value) ? [...value] : value;
  }
  return kept;
}

/** Rough bytes an entry holds in memory: its body, its headers and a fixed overhead for the rest. */
export function variantSize(variant: CachedVariant): number {
  let size = 256 + variant.body.byteLength;
  for (const [name, value] of Object.entries(variant.headers)) {
    size += name.length + (Array.isArray(value) ? value.reduce((sum, item) => sum + item.length, 0) : value.length);
  }
  return size;
}

interface EncodedMeta {
  v: 1;
  variantId: string;
  vary: string[];
  status: number;
  headers: ReplyHeaders;
  freshness: Freshness;
  keepUntilEpochMs: number;
}

/** [4-byte big-endian length of the JSON meta][meta][body]. */
export function encodeVariant(variant: CachedVariant): Buffer {
  const meta: EncodedMeta = {
    v: 1,
    variantId: variant.variantId,
    vary: [...variant.vary],
    status: variant.status,
    headers: variant.headers,
    freshness: variant.freshness,
    keepUntilEpochMs: variant.keepUntilEpochMs,
  };
  const metaBytes = Buffer.from(JSON.stringify(meta));
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(metaBytes.length, 0);
  return Buffer.concat([prefix, metaBytes, variant.body]);
}

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

function isFreshness(value: unknown): value is Freshness {
  const freshness = value as Freshness | null;
  return (
    typeof freshness === 'object' &&
    freshness !== null &&
    isFiniteNumber(freshness.responseAtEpochMs) &&
    isFiniteNumber(freshness.initialAgeMs) &&
    isFiniteNumber(freshness.lifetimeMs) &&
    isFiniteNumber(freshness.staleWhileRevalidateMs) &&
    isFiniteNumber(freshness.staleIfErrorMs) &&
    isFiniteNumber(freshness.staleIfRateLimitedMs) &&
    typeof freshness.revalidateAlways === 'boolean' &&
    typeof freshness.neverStale === 'boolean'
  );
}

function isHeaders(value: unknown): value is ReplyHeaders {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every(
    (item) => typeof item === 'string' || (Array.isArray(item) && item.every((part) => typeof part === 'string')),
  );
}

export function decodeVariant(bytes: Buffer): CachedVariant | null {
  if (bytes.length < 4) return null;
  const metaLength = bytes.readUInt32BE(0);
  if (metaLength > bytes.length - 4) return null;
  let meta: EncodedMeta;
  try {
    meta = JSON.parse(bytes.subarray(4, 4 + metaLength).toString('utf8')) as EncodedMeta;
  } catch {
    return null;
  }
  if (
    typeof meta !== 'object' ||
    meta === null ||
    meta.v !== 1 ||
    typeof meta.variantId !== 'string' ||
    !Array.isArray(meta.vary) ||
    !meta.vary.every((name) => typeof name === 'string') ||
    !Number.isInteger(meta.status) ||
    !isHeaders(meta.headers) ||
    !isFreshness(meta.freshness) ||
    !isFiniteNumber(meta.keepUntilEpochMs)
  ) {
    return null;
  }
  return {
    variantId: meta.variantId,
    vary: meta.vary,
    status: meta.status,
    headers: meta.headers,
    body: bytes.subarray(4 + metaLength),
    freshness: meta.freshness,
    keepUntilEpochMs: meta.keepUntilEpochMs,
  };
}
