/**
 * What inbound limiting answers for one request: pass (with the RateLimit fields of the most restrictive policy)
 * or refuse (429 with Retry-After, the fields and a problem body; 503 when the store failed and its fallback
 * refused). Shared by the gateway's engine and the middleware.
 */
import type { Limiter } from '../limits/limiter.js';
import type { Decision, Lease, Outcome } from '../limits/types.js';
import { type HeaderRecord, type RateLimitDraft, retryAfterSeconds, writeRateLimitFields } from './fields.js';
import {
  type InboundProblem,
  limitedProblem,
  type ProblemResponse,
  problemResponse,
  unavailableProblem,
} from './problem.js';

/** A concurrency slot an admitted request holds until it is released. */
export interface LeaseHold {
  limiter: Limiter;
  key: string;
  lease: Lease;
}

export interface InboundVerdict {
  allowed: boolean;
  /**
   * 'limited': a limit refused. 'unavailable': a limit store could not answer and its `onStoreError` fallback
   * decided (with 'open', the request is allowed). Otherwise 'allowed'.
   */
  outcome: Outcome;
  /** The status to answer a refused request with (429, or 503 for a refusal by a store fallback); null if allowed. */
  status: 429 | 503 | null;
  /** 0 when allowed; otherwise how long the caller should wait (`Retry-After` is this in whole seconds, rounded up). */
  retryAfterMs: number;
  /** To add to the reply, lower-case names: RateLimit fields (on allowed replies too), and Retry-After on refusals. */
  headers: HeaderRecord;
  /**
   * Why a refusal was refused, for its RFC 9457 body (`refusalResponse` writes it; the gateway's `sendProblem`
   * takes it as it is); absent when allowed.
   */
  problem?: InboundProblem;
  /** The rule whose decision the fields report (the one that refused, else the most restrictive); null if none. */
  rule: string | null;
  /** That decision; null when no limit applied or none could be reported. */
  decision: Decision | null;
  /** Concurrency slots held for this request: release them when its response ends (`releaseVerdict`). */
  holds: readonly LeaseHold[];
}

const NO_HOLDS: readonly LeaseHold[] = [];

/**
 * An admitted request. `decision` is the most restrictive of the decisions that a store answered (null: none; a
 * store fallback's guess is not worth telling a caller), `degraded` whether any store failed.
 */
export function allowVerdict(
  draft: RateLimitDraft,
  rule: string | null,
  decision: Decision | null,
  holds: readonly LeaseHold[] | null,
  degraded: boolean,
): InboundVerdict {
  const headers: HeaderRecord = {};
  if (decision !== null) writeRateLimitFields(draft, decision, headers);
  return {
    allowed: true,
    outcome: degraded ? 'unavailable' : 'allowed',
    status: null,
    retryAfterMs: 0,
    headers,
    rule,
    decision,
    holds: holds ?? NO_HOLDS,
  };
}

/** A refused request: `decision` is the refusal of `rule` (null for middleware). */
export function refuseVerdict(draft: RateLimitDraft, rule: string | null, decision: Decision): InboundVerdict {
  const headers: HeaderRecord = {};
  const unavailable = decision.outcome === 'unavailable';
  // A store that did not answer told us nothing about the policy: no RateLimit fields, only when to come back.
  if (!unavailable) writeRateLimitFields(draft, decision, headers);
  headers['retry-after'] = String(retryAfterSeconds(decision.retryAfterMs));
  const problem = unavailable ? unavailableProblem(rule, decision) : limitedProblem(rule, decision);
  return {
    allowed: false,
    outcome: decision.outcome,
    status: problem.status,
    retryAfterMs: decision.retryAfterMs,
    headers,
    problem,
    rule,
    decision,
    holds: NO_HOLDS,
  };
}

/** The status, head and JSON body to answer a refused verdict with; null when it was allowed. */
export function refusalResponse(verdict: InboundVerdict): ProblemResponse | null {
  return verdict.problem === undefined ? null : problemResponse(verdict.problem, verdict.headers);
}

/** Frees the concurrency slots a verdict holds (a no-op without any). Never rejects: a lost slot expires anyway. */
export async function releaseVerdict(verdict: InboundVerdict): Promise<void> {
  const { holds } = verdict;
  if (holds.length === 0) return;
  verdict.holds = NO_HOLDS;
  await releaseHolds(holds);
}

export async function releaseHolds(holds: readonly LeaseHold[]): Promise<void> {
  for (const hold of holds) {
    try {
      await hold.limiter.release(hold.key, hold.lease);
    } catch {
      // The lease expires by itself; a failed release must not fail the response it follows.
    }
  }
}
