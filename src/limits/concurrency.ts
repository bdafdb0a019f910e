import type { CompiledPolicy, PolicyResult, Step } from './types.js';

/** One held lease: `cost` slots until released or until `expiresAtEpochMs`. */
export interface HeldLease {
  readonly id: string;
  readonly expiresAtEpochMs: number;
  readonly cost: number;
}

/** The leases held on a key, in the order they were acquired. */
export interface ConcurrencyState {
  readonly leases: readonly HeldLease[];
}

/**
 * Concurrency: at most `limit` slots held at once. An admitted take acquires a lease of `cost` slots that lives
 * `leaseMs` unless released first, so a holder that dies frees its slots when its lease expires. A rejection
 * changes nothing. `retryAfterMs` and `resetAfterMs` assume nobody releases early (they are upper bounds).
 * `leaseId` names the lease a take acquires; the caller makes it unique (the limiter uses a random UUID).
 */
export function concurrency(
  state: ConcurrencyState | undefined,
  nowEpochMs: number,
  cost: number,
  policy: CompiledPolicy,
  leaseId = '',
): Step<ConcurrencyState> {
  const { limit } = policy;
  const live = liveLeases(state, nowEpochMs);
  const held = slotsHeld(live);

  if (held + cost <= limit) {
    if (cost === 0) {
      return { state, result: summary(live, limit - held, nowEpochMs) };
    }
    const lease = { id: leaseId, expiresAtEpochMs: nowEpochMs + policy.leaseMs };
    const leases = [...live, { id: leaseId, expiresAtEpochMs: lease.expiresAtEpochMs, cost }];
    const result = summary(leases, limit - held - cost, nowEpochMs);
    result.lease = lease;
    return { state: { leases }, result };
  }
  const result = summary(live, Math.max(0, limit - held), nowEpochMs);
  result.allowed = false;
  result.retryAfterMs = cost > limit ? Number.POSITIVE_INFINITY : untilFreeMs(live, held + cost - limit, nowEpochMs);
  return { state, result };
}

/** Frees the lease `leaseId` if it is still held; `released` says whether it was. */
export function releaseLease(
  state: ConcurrencyState | undefined,
  nowEpochMs: number,
  leaseId: string,
  policy: CompiledPolicy,
): Step<ConcurrencyState> {
  const live = liveLeases(state, nowEpochMs);
  const leases = live.filter((lease) => lease.id !== leaseId);
  const released = leases.length < live.length;
  const result = summary(leases, Math.max(0, policy.limit - slotsHeld(leases)), nowEpochMs);
  result.released = released;
  return { state: released || live.length < (state?.leases.length ?? 0) ? { leases } : state, result };
}

/**
 * Extends the lease `leaseId` to `now + leaseMs` if it is still held (the result then carries it with its new
 * expiry), so a holder that is alive keeps a short lease for as long as its call runs.
 */
export function renewLease(
  state: ConcurrencyState | undefined,
  nowEpochMs: number,
  leaseId: string,
  policy: CompiledPolicy,
): Step<ConcurrencyState> {
  const live = liveLeases(state, nowEpochMs);
  const expiresAtEpochMs = nowEpochMs + policy.leaseMs;
  let renewed = false;
  const leases = live.map((lease) => {
    if (lease.id !== leaseId) return lease;
    renewed = true;
    return { id: leaseId, expiresAtEpochMs, cost: lease.cost };
  });
  const result = summary(leases, Math.max(0, policy.limit - slotsHeld(leases)), nowEpochMs);
  if (renewed) result.lease = { id: leaseId, expiresAtEpochMs };
  return { state: renewed || live.length < (state?.leases.length ?? 0) ? { leases } : state, result };
}

function liveLeases(state: ConcurrencyState | undefined, nowEpochMs: number): readonly HeldLease[] {
  if (state === undefined) return [];
  const { leases } = state;
  for (const lease of leases) {
    if (lease.expiresAtEpochMs <= nowEpochMs) return leases.filter((held) => held.expiresAtEpochMs > nowEpochMs);
  }
  return leases;
}

function slotsHeld(leases: readonly HeldLease[]): number {
  let held = 0;
  for (const lease of leases) held += lease.cost;
  return held;
}

function summary(leases: readonly HeldLease[], remaining: number, nowEpochMs: number): PolicyResult {
  let latestExpiryAtEpochMs = nowEpochMs;
  for (const lease of leases) latestExpiryAtEpochMs = Math.max(latestExpiryAtEpochMs, lease.expiresAtEpochMs);
  return {
    allowed: true,
    remaining,
    resetAfterMs: latestExpiryAtEpochMs - nowEpochMs,
    retryAfterMs: 0,
    delayMs: 0,
    lease: undefined,
    released: undefined,
  };
}

/** The wait until leases holding at least `slots` slots have expired, soonest-expiring first. */
function untilFreeMs(live: readonly HeldLease[], slots: number, nowEpochMs: number): number {
  const byExpiry = [...live].sort((a, b) => a.expiresAtEpochMs - b.expiresAtEpochMs);
  let freed = 0;
  for (const lease of byExpiry) {
    freed += lease.cost;
    if (freed >= slots) return lease.expiresAtEpochMs - nowEpochMs;
  }
  return 0;
}

/** After this time the state is equivalent to no state (a store may drop it). */
export function concurrencyExpiresAtEpochMs(state: ConcurrencyState): number {
  let latest = 0;
  for (const lease of state.leases) latest = Math.max(latest, lease.expiresAtEpochMs);
  return latest;
}
