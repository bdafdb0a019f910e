import { type LimitState, stepPolicy } from './algorithms.js';
import { type ConcurrencyState, releaseLease, renewLease } from './concurrency.js';
import type { CompiledPolicy, PolicyResult } from './types.js';

/** What a store is asked to do with all the policies of one key (see `LimitStore`). */
export type StoreOperation = 'take' | 'peek' | 'release' | 'renew' | 'reset';

export interface Evaluation {
  /** The state to keep per policy, in order (undefined: none). Unchanged states are the same objects. */
  states: (LimitState | undefined)[];
  results: PolicyResult[];
}

/**
 * Evaluates every policy of one key as one atomic step, the reference semantics every store implements:
 *
 * - take: each policy runs its algorithm at `cost`. If all admit, every new state is kept (consume from all);
 *   otherwise no state changes (consume from none), and a policy that would have admitted reports its unchanged
 *   state (its cost-0 result, `allowed: true`) while the ones that limited report their rejection.
 * - peek: nothing changes; `allowed` and `retryAfterMs` say what a take of `cost` would get, `remaining` and
 *   `resetAfterMs` describe the current state (the cost-0 result).
 * - release: each concurrency policy frees lease `leaseId` (`released` says whether it held it); the others
 *   report their cost-0 result.
 * - renew: each concurrency policy that holds lease `leaseId` extends it to now + its lease time (the result
 *   carries the renewed `lease`); the others report their cost-0 result.
 * - reset: every state is dropped; results describe empty states.
 */
export function evaluatePolicies(
  states: readonly (LimitState | undefined)[],
  nowEpochMs: number,
  operation: StoreOperation,
  cost: number,
  policies: readonly CompiledPolicy[],
  leaseId?: string,
): Evaluation {
  switch (operation) {
    case 'take':
      return take(states, nowEpochMs, cost, policies, leaseId);
    case 'peek':
      return {
        states: [...states],
        results: policies.map((policy, i) => peekPolicy(states[i], nowEpochMs, cost, policy)),
      };
    case 'release':
      return changeLeases(states, nowEpochMs, policies, leaseId ?? '', releaseLease);
    case 'renew':
      return changeLeases(states, nowEpochMs, policies, leaseId ?? '', renewLease);
    case 'reset':
      return {
        states: policies.map(() => undefined),
        results: policies.map((policy) => stepPolicy(undefined, nowEpochMs, 0, policy).result),
      };
  }
}

function take(
  states: readonly (LimitState | undefined)[],
  nowEpochMs: number,
  cost: number,
  policies: readonly CompiledPolicy[],
  leaseId: string | undefined,
): Evaluation {
  const steps = policies.map((policy, i) => stepPolicy(states[i], nowEpochMs, cost, policy, leaseId));
  if (steps.every((taken) => taken.result.allowed)) {
    return { states: steps.map((taken) => taken.state), results: steps.map((taken) => taken.result) };
  }
  return {
    states: [...states],
    results: steps.map((taken, i) =>
      taken.result.allowed ? stepPolicy(states[i], nowEpochMs, 0, policies[i] as CompiledPolicy).result : taken.result,
    ),
  };
}

/** What a take of `cost` would get, with `remaining` and `resetAfterMs` of the state as it is. */
export function peekPolicy(
  state: LimitState | undefined,
  nowEpochMs: number,
  cost: number,
  policy: CompiledPolicy,
): PolicyResult {
  const current = stepPolicy(state, nowEpochMs, 0, policy).result;
  if (cost === 0) return current;
  const hypothetical = stepPolicy(state, nowEpochMs, cost, policy).result;
  return {
    allowed: hypothetical.allowed,
    remaining: current.remaining,
    resetAfterMs: current.resetAfterMs,
    retryAfterMs: hypothetical.retryAfterMs,
    delayMs: hypothetical.delayMs,
  };
}

function changeLeases(
  states: readonly (LimitState | undefined)[],
  nowEpochMs: number,
  policies: readonly CompiledPolicy[],
  leaseId: string,
  change: typeof releaseLease,
): Evaluation {
  const next = [...states];
  const results = policies.map((policy, i) => {
    if (policy.algorithm !== 'concurrency') return stepPolicy(states[i], nowEpochMs, 0, policy).result;
    const changed = change(states[i] as ConcurrencyState | undefined, nowEpochMs, leaseId, policy);
    next[i] = changed.state;
    return changed.result;
  });
  return { states: next, results };
}
