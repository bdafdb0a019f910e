/**
 * Budgets that survive an outage of their shared store. While the primary (Redis) answers, every decision is its;
 * when it fails, the `onStoreError` policy decides instead, and the decision says so (`fallback`), never passing
 * for a rate limit:
 * - 'local' (default): an in-process budget store holding this process's share (1/N, N the live instances the
 *   primary counted by heartbeat, or configured) of every limit — configured limits scaled, and what replies say
 *   scaled too (remaining × share), so N processes deciding alone still spend about the whole budget between them.
 *   It is kept warm: every reply is also folded into it, so an outage starts from what was last known.
 * - 'open': admits without pacing. 'closed': refuses with `unavailableRetryAfterMs`.
 * It returns to the primary by itself: every call tries it (a Redis store fails fast while down and probes once a
 * second), and settlements it missed are replayed when it answers again, so no reservation stays counted there.
 */
import { createMemoryBudgetStore } from '../budget/memory-store.js';
import type {
  AdmitDecision,
  AdmitOptions,
  BudgetKey,
  BudgetStore,
  ConfiguredLimit,
  Observation,
  Reservation,
  Settlement,
} from '../budget/types.js';
import { InvalidOptionError } from '../errors.js';
import type { StoreErrorPolicy } from '../limits/types.js';
import type { RateLimitSignal, SignalLimit } from '../signals/types.js';
import { type Clock, systemClock } from '../time.js';
import { createOutageMonitor, describeError, type OutageEvent, type OutageStats } from './outage.js';
import type { StoreLogger } from './store-logger.js';

export interface ResilientBudgetStoreOptions {
  /** Who decides while the primary cannot answer (default 'local'). */
  onStoreError?: StoreErrorPolicy;
  /** The in-process store for 'local' (default: a new memory budget store). */
  fallback?: BudgetStore;
  /** This process's part of every limit for 'local', in (0, 1]. Default: the primary's `localShare()`, else 1. */
  share?: number | (() => number);
  /** 'closed': how long a refused call is told to wait (default 1000 ms). */
  unavailableRetryAfterMs?: number;
  /** Settlements kept for replay while the primary is down (default 10 000; older ones are dropped). */
  maxPendingSettlements?: number;
  clock?: Clock;
  /**
   * Where this fallback logs the outages it decided through. Default: not logged — the Redis stores log their own
   * outages; give a logger for a primary that does not.
   */
  logger?: StoreLogger | false;
  onOutage?(event: OutageEvent): void;
}

export interface ResilientBudgetStats extends OutageStats {
  /** Decisions the fallback made. */
  fallbackDecisions: number;
  /** Settlements waiting to be replayed on the primary, and those dropped because too many waited. */
  pendingSettlements: number;
  droppedSettlements: number;
}

export interface ResilientBudgetStore extends BudgetStore {
  readonly primary: BudgetStore;
  readonly onStoreError: StoreErrorPolicy;
  onChange(listener: () => void): () => void;
  stats(): ResilientBudgetStats;
}

const POLICIES: readonly StoreErrorPolicy[] = ['open', 'closed', 'local'];

interface PendingSettlement {
  settlement: Settlement;
  nowEpochMs: number | undefined;
  policy: Observation['policy'];
}

export function createResilientBudgetStore(
  primary: BudgetStore,
  options: ResilientBudgetStoreOptions = {},
): ResilientBudgetStore {
  const onStoreError = options.onStoreError ?? 'local';
  if (!POLICIES.includes(onStoreError)) {
    throw new InvalidOptionError('onStoreError', `expected "open", "closed" or "local", got ${String(onStoreError)}`);
  }
  const clock = options.clock ?? systemClock;
  const unavailableRetryAfterMs = options.unavailableRetryAfterMs ?? 1000;
  const maxPending = options.maxPendingSettlements ?? 10_000;
  const local = options.fallback ?? createMemoryBudgetStore({ clock });
  const monitor = createOutageMonitor({
    store: `budgets (onStoreError: ${onStoreError})`,
    clock,
    // The primary probes itself; this monitor only counts (and logs, if asked).
    probeIntervalMs: 0,
    logger: options.logger ?? false,
    onOutage: options.onOutage,
  });
  const fallbackReservations = new WeakSet<Reservation>();
  const pending: PendingSettlement[] = [];
  let fallbackDecisions = 0;
  let droppedSettlements = 0;
  let replaying = false;

  const shareNow = (): number => {
    const given = typeof options.share === 'function' ? options.share() : options.share;
    const share = given ?? primary.localShare?.() ?? 1;
    return typeof share === 'number' && share > 0 && share <= 1 ? share : 1;
  };

  function primaryAnswered(): void {
    monitor.succeeded();
    if (pending.length > 0 && !replaying) void replay();
  }

  /** Settles on the primary what was settled while it was down. */
  async function replay(): Promise<void> {
    replaying = true;
    try {
      while (pending.length > 0) {
        const next = pending[0] as PendingSettlement;
        await primary.observe(
          {
            signal: null,
            signalKey: null,
            rejected: false,
            model: 'window',
            nowEpochMs: next.nowEpochMs,
            policy: next.policy,
          },
          next.settlement,
        );
        pending.shift();
      }
    } catch {
      // Down again: the rest waits for the next answer.
    } finally {
      replaying = false;
    }
  }

  async function fallbackAdmit(
    keys: readonly BudgetKey[],
    cost: Parameters<BudgetStore['admit']>[1],
    admitOptions: AdmitOptions,
    error: unknown,
  ): Promise<AdmitDecision> {
    monitor.failed(error);
    fallbackDecisions++;
    const names = keys.map((key) => key.key);
    if (onStoreError === 'closed') {
      return {
        admitted: false,
        waitMs: unavailableRetryAfterMs,
        why: `${names[0] ?? 'budget'}: the budget store is unavailable (${describeError(error)}); onStoreError is closed`,
        key: names[0] ?? '',
        fallback: 'closed',
      };
    }
    if (onStoreError === 'open') {
      const reservation: Reservation = {
        keys: names,
        cost,
        sequences: names.map(() => 0),
        admittedAtEpochMs: admitOptions.nowEpochMs ?? clock.now(),
      };
      fallbackReservations.add(reservation);
      return { admitted: true, reservation, fallback: 'open' };
    }
    const decision = await local.admit(scaledKeys(keys, shareNow()), cost, admitOptions);
    if (decision.admitted) fallbackReservations.add(decision.reservation);
    return { ...decision, fallback: 'local' };
  }

  return {
    primary,
    onStoreError,
    async admit(keys, cost, admitOptions = {}) {
      let decision: AdmitDecision;
      try {
        decision = await primary.admit(keys, cost, admitOptions);
      } catch (error) {
        return fallbackAdmit(keys, cost, admitOptions, error);
      }
      primaryAnswered();
      return decision;
    },

    async observe(observation, settlement) {
      const share = shareNow();
      const scaled = share < 1 ? { ...observation, signal: scaledSignal(observation.signal, share) } : observation;
      const reservation = settlement?.reservation;
      if (reservation && fallbackReservations.has(reservation)) {
        fallbackReservations.delete(reservation);
        // 'open' reservations were never counted anywhere; only 'local' ones are settled.
        await local.observe(scaled, onStoreError === 'local' ? settlement : undefined);
        return;
      }
      // Keep the fallback warm: it knows what the last replies said when an outage starts.
      await local.observe(scaled);
      try {
        await primary.observe(observation, settlement);
      } catch (error) {
        monitor.failed(error);
        if (settlement) {
          pending.push({ settlement, nowEpochMs: observation.nowEpochMs, policy: observation.policy });
          if (pending.length > maxPending) {
            pending.shift();
            droppedSettlements++;
          }
        }
        return;
      }
      primaryAnswered();
    },

    snapshot: () => (monitor.down ? local.snapshot() : primary.snapshot()),

    onChange(listener) {
      const unsubscribe = [local.onChange?.(listener), primary.onChange?.(listener)];
      return () => {
        for (const stop of unsubscribe) stop?.();
      };
    },

    stats: () => ({
      ...monitor.stats(),
      fallbackDecisions,
      pendingSettlements: pending.length,
      droppedSettlements,
    }),

    async close() {
      await Promise.all([local.close(), primary.close()]);
    },
  };
}

const scaledCache = new WeakMap<readonly ConfiguredLimit[], { share: number; limits: ConfiguredLimit[] }>();

/** The keys with their configured limits scaled to `share` (cached per limits list: keys are built per call). */
function scaledKeys(keys: readonly BudgetKey[], share: number): readonly BudgetKey[] {
  if (share >= 1) return keys;
  return keys.map((key) => {
    if (!key.configured || key.configured.length === 0) return key;
    let cached = scaledCache.get(key.configured);
    if (cached === undefined || cached.share !== share) {
      cached = {
        share,
        limits: key.configured.map((limit) => ({
          ...limit,
          limit: scaleCapacity(limit.limit, share),
          ...(limit.burst === undefined ? {} : { burst: scaleCapacity(limit.burst, share) }),
        })),
      };
      scaledCache.set(key.configured, cached);
    }
    return { key: key.key, configured: cached.limits };
  });
}

/** A limit's part: rounded down, never below 1 (0 would refuse everything). */
function scaleCapacity(units: number, share: number): number {
  return Math.max(1, Math.floor(units * share));
}

/** What a reply said, as this process's part of it: capacities and what is left scaled; times unchanged. */
export function scaledSignal(signal: RateLimitSignal | null, share: number): RateLimitSignal | null {
  if (signal === null || share >= 1) return signal;
  const limits: SignalLimit[] = signal.limits.map((limit) => ({
    ...limit,
    limit: limit.limit === null ? null : scaleCapacity(limit.limit, share),
    remaining: limit.remaining === null ? null : Math.floor(limit.remaining * share),
  }));
  return {
    ...signal,
    limit: signal.limit === null ? null : scaleCapacity(signal.limit, share),
    remaining: signal.remaining === null ? null : Math.floor(signal.remaining * share),
    limits,
  };
}
