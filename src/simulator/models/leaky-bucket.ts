/**
 * A leaky bucket as a meter (Shopify's model): each request pours `cost` in, the bucket leaks at
 * `leakPerMs`, and a request that would overflow `size` is rejected and pours nothing.
 */
export interface LeakyBucketState {
  readonly level: number;
  readonly updatedAtEpochMs: number;
}

export interface LeakyBucketDecision {
  allowed: boolean;
  state: LeakyBucketState;
  /** Whole milliseconds until this request would have fit (0 when allowed). */
  fitsAfterMs: number;
}

export function pourLeakyBucket(
  state: LeakyBucketState | null,
  nowEpochMs: number,
  size: number,
  leakPerMs: number,
  cost = 1,
): LeakyBucketDecision {
  const before = state ?? { level: 0, updatedAtEpochMs: nowEpochMs };
  const elapsedMs = Math.max(0, nowEpochMs - before.updatedAtEpochMs);
  const level = Math.max(0, before.level - elapsedMs * leakPerMs);
  const updatedAtEpochMs = Math.max(nowEpochMs, before.updatedAtEpochMs);
  // 1e-9 absorbs floating-point drift so that a bucket drained exactly to the brim accepts.
  if (level + cost <= size + 1e-9) {
    return { allowed: true, state: { level: level + cost, updatedAtEpochMs }, fitsAfterMs: 0 };
  }
  const fitsAfterMs = Math.ceil((level + cost - size) / leakPerMs - 1e-9);
  return { allowed: false, state: { level, updatedAtEpochMs }, fitsAfterMs };
}
