import type { Cost } from '../pipeline/stage.js';
import { type Clock, systemClock } from '../time.js';
import { admitCall, createBudgetState, isIdle, observeReply, settleReservation } from './core.js';
import {
  type AdmitDecision,
  type AdmitOptions,
  type BudgetKey,
  type BudgetPolicy,
  type BudgetState,
  type BudgetStore,
  defaultBudgetPolicy,
  type Observation,
  type Settlement,
} from './types.js';

export interface MemoryBudgetStoreOptions {
  clock?: Clock;
  /** Called after every observe: lets waiting callers in this process re-check at once instead of polling. */
  onChange?: () => void;
}

/** Budgets of one process. Decisions are synchronous under the hood, so each is atomic. */
export function createMemoryBudgetStore(options: MemoryBudgetStoreOptions = {}): BudgetStore & {
  onChange(listener: () => void): () => void;
} {
  const clock = options.clock ?? systemClock;
  const budgets = new Map<string, BudgetState>();
  const listeners = new Set<() => void>();
  if (options.onChange) listeners.add(options.onChange);
  let decisionsSinceSweep = 0;

  const budgetFor = (key: BudgetKey, nowEpochMs: number): BudgetState => {
    let state = budgets.get(key.key);
    if (!state) {
      state = createBudgetState(nowEpochMs, key.configured);
      budgets.set(key.key, state);
    }
    return state;
  };

  // Budgets are few (one per credential and route bucket), so an occasional pass over them is cheap.
  const sweep = (nowEpochMs: number, policy: BudgetPolicy) => {
    if (++decisionsSinceSweep < 10_000) return;
    decisionsSinceSweep = 0;
    for (const [key, state] of budgets) if (isIdle(state, nowEpochMs, policy.idleExpiryMs)) budgets.delete(key);
  };

  return {
    async admit(keys: readonly BudgetKey[], cost: Cost, admitOptions: AdmitOptions = {}): Promise<AdmitDecision> {
      const now = admitOptions.nowEpochMs ?? clock.now();
      const policy = admitOptions.policy ?? defaultBudgetPolicy;
      sweep(now, policy);
      const states = keys.map((key) => budgetFor(key, now));
      const names = keys.map((key) => key.key);
      const result = admitCall(states, names, cost, now, policy, admitOptions.priority ?? 0);
      if (!result.admitted) {
        return {
          admitted: false,
          waitMs: result.waitMs,
          why: result.why,
          key: names[result.keyIndex] ?? '',
          quotaExhausted: result.quotaExhausted,
        };
      }
      return {
        admitted: true,
        reservation: { keys: names, cost, sequences: result.sequences, admittedAtEpochMs: now },
      };
    },

    async observe(observation: Observation, settlement?: Settlement): Promise<void> {
      const now = observation.nowEpochMs ?? clock.now();
      const policy = observation.policy ?? defaultBudgetPolicy;
      if (settlement) {
        settlement.reservation.keys.forEach((key) => {
          const state = budgets.get(key);
          if (state) settleReservation(state, settlement);
        });
      }
      if (observation.signalKey !== null) {
        const reservation = settlement?.reservation;
        const index = reservation ? reservation.keys.indexOf(observation.signalKey) : -1;
        const sequence = index >= 0 ? (reservation?.sequences[index] ?? 0) : 0;
        const state = budgetFor({ key: observation.signalKey }, now);
        observeReply(state, observation, now, policy, sequence, reservation?.admittedAtEpochMs ?? null);
      }
      for (const listener of listeners) listener();
    },

    async snapshot() {
      return Object.fromEntries([...budgets].map(([key, state]) => [key, structuredClone(state)]));
    },

    async close() {
      budgets.clear();
      listeners.clear();
    },

    onChange(listener: () => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
