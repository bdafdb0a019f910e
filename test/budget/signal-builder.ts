import type { RateLimitSignal, SignalLimit } from '../../src/signals/types.js';

/** Builds a signal the way a reader would, for budget tests that should not depend on one dialect's headers. */
export function signalOf(
  partial: Omit<Partial<RateLimitSignal>, 'limits'> & { limits?: Array<Partial<SignalLimit>> },
): RateLimitSignal {
  const limits: SignalLimit[] = (partial.limits ?? []).map((limit) => ({
    name: limit.name ?? 'requests',
    unit: limit.unit ?? 'requests',
    limit: limit.limit ?? null,
    remaining: limit.remaining ?? null,
    resetAtEpochMs: limit.resetAtEpochMs ?? null,
    resetAfterMs: limit.resetAfterMs ?? null,
    windowMs: limit.windowMs ?? null,
    ...(limit.scope ? { scope: limit.scope } : {}),
  }));
  const primary = limits[0];
  return {
    dialect: partial.dialect ?? 'generic',
    limited: partial.limited ?? false,
    retryable: partial.retryable ?? null,
    retryAfterMs: partial.retryAfterMs ?? null,
    limit: primary?.limit ?? null,
    remaining: primary?.remaining ?? null,
    resetAtEpochMs: primary?.resetAtEpochMs ?? null,
    resetAfterMs: primary?.resetAfterMs ?? null,
    limits,
    ...(partial.resource ? { resource: partial.resource } : {}),
    ...(partial.bucket ? { bucket: partial.bucket } : {}),
    ...(partial.scope ? { scope: partial.scope } : {}),
  };
}
