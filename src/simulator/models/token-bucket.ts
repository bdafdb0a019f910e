/**
 * A token bucket that holds up to `capacity` and refills continuously at `capacity` per `windowMs`
 * (OpenAI's model for requests and tokens). Levels are fractional; headers show them floored.
 */
export interface TokenBucketState {
  readonly level: number;
  readonly updatedAtEpochMs: number;
}

export interface TokenBucket {
  capacity: number;
  windowMs: number;
}

export function fullBucket(bucket: TokenBucket, nowEpochMs: number): TokenBucketState {
  return { level: bucket.capacity, updatedAtEpochMs: nowEpochMs };
}

/** The bucket at `nowEpochMs`: refilled for the time since its last update, never above capacity. */
export function refill(state: TokenBucketState, bucket: TokenBucket, nowEpochMs: number): TokenBucketState {
  const elapsedMs = Math.max(0, nowEpochMs - state.updatedAtEpochMs);
  const level = Math.min(bucket.capacity, state.level + (elapsedMs * bucket.capacity) / bucket.windowMs);
  return { level, updatedAtEpochMs: Math.max(nowEpochMs, state.updatedAtEpochMs) };
}

/** Whole milliseconds until the bucket holds `amount` (0 when it already does; the bucket never exceeds capacity). */
export function refillAfterMs(state: TokenBucketState, bucket: TokenBucket, amount: number): number {
  const missing = Math.min(amount, bucket.capacity) - state.level;
  return missing <= 0 ? 0 : Math.ceil((missing * bucket.windowMs) / bucket.capacity - 1e-9);
}

/** Whole milliseconds until the bucket is full again ("time until full replenishment"). */
export function fullAfterMs(state: TokenBucketState, bucket: TokenBucket): number {
  return refillAfterMs(state, bucket, bucket.capacity);
}
