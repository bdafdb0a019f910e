/**
 * Holding a concurrency slot for as long as a call runs. A lease lives only `leaseMs`, so that the slots of a holder
 * that dies come back within one lease time; a live holder renews it while its call runs and releases it when the
 * call completes or is aborted. With a short lease (a few seconds) a crashed process's slots return quickly, and a
 * long call still keeps its slot.
 */
import { type Scheduler, systemClock } from '../time.js';
import type { CostOptions, Limiter } from './limiter.js';
import type { Decision, Lease, ReleaseOutcome } from './types.js';

export interface HoldLeaseOptions extends CostOptions {
  /** Aborting releases the lease. */
  signal?: AbortSignal;
  /** How often to renew (default: a third of the lease's lifetime, so two renewals may fail before it lapses). */
  renewEveryMs?: number;
  /** Default: the system clock. */
  scheduler?: Scheduler;
}

export interface LeaseHold {
  /** The take's decision: when it was refused, nothing is held. */
  readonly decision: Decision;
  /** The lease as last renewed; undefined when nothing is held (refused, released, or lost). */
  readonly lease: Lease | undefined;
  /** Renewals that failed because the store did not answer (the lease may lapse if they go on). */
  readonly failedRenewals: number;
  /** Stops renewing and releases the lease. Later calls answer 'not-held'. */
  release(): Promise<ReleaseOutcome>;
}

/**
 * Takes a concurrency slot and keeps its lease alive until `release()` or the signal aborts:
 *
 *   const hold = await holdLease(limiter, 'upstream', { signal });
 *   if (!hold.decision.allowed) return retryLater(hold.decision.retryAfterMs);
 *   try { await work(); } finally { await hold.release(); }
 */
export async function holdLease(limiter: Limiter, key: string, options: HoldLeaseOptions = {}): Promise<LeaseHold> {
  const scheduler = options.scheduler ?? systemClock;
  const decision = await limiter.take(key, { cost: options.cost });
  let lease = decision.allowed ? decision.lease : undefined;
  let failedRenewals = 0;
  let cancelTimer: (() => void) | undefined;
  let released: Promise<ReleaseOutcome> | undefined;

  const renewEveryMs =
    options.renewEveryMs ??
    (lease === undefined ? 0 : Math.max(1, Math.floor((lease.expiresAtEpochMs - scheduler.now()) / 3)));

  const scheduleRenewal = () => {
    cancelTimer = scheduler.setTimer(() => {
      cancelTimer = undefined;
      void renewOnce();
    }, renewEveryMs);
  };

  async function renewOnce(): Promise<void> {
    const held = lease;
    if (held === undefined || released !== undefined) return;
    const renewal = await limiter.renew(key, held);
    if (released !== undefined) return;
    if (renewal.outcome === 'renewed') {
      lease = renewal.lease;
      failedRenewals = 0;
    } else if (renewal.outcome === 'not-held') {
      // Expired (the process stalled longer than a lease) or released elsewhere: nothing left to keep alive.
      lease = undefined;
      return;
    } else {
      failedRenewals++;
    }
    scheduleRenewal();
  }

  const onAbort = () => void release();

  function release(): Promise<ReleaseOutcome> {
    if (released !== undefined) return released.then(() => 'not-held' as const);
    cancelTimer?.();
    options.signal?.removeEventListener('abort', onAbort);
    const held = lease;
    lease = undefined;
    released = held === undefined ? Promise.resolve('not-held') : limiter.release(key, held);
    return released;
  }

  if (lease !== undefined) {
    scheduleRenewal();
    if (options.signal?.aborted) await release();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  }

  return {
    decision,
    get lease() {
      return lease;
    },
    get failedRenewals() {
      return failedRenewals;
    },
    release,
  };
}
