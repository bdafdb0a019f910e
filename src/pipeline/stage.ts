import type { Readable } from 'node:stream';
import type { LimitUnit, RateLimitSignal } from '../signals/types.js';

/** What a call spends, per unit. Absent units cost nothing; `requests` defaults to 1. */
export type Cost = Partial<Record<LimitUnit, number>>;

/**
 * A request body as the pipeline carries it. `bytes` is kept whole (up to `retry.maxReplayBytes`) so it can be sent
 * again on a retry; `stream` can be sent once only, so a call carrying one is never retried after it was sent.
 */
export type CallBody = { kind: 'bytes'; bytes: Uint8Array } | { kind: 'stream'; stream: Readable; length?: number };

/** Request header names are lower-case; a header that repeats is joined as HTTP allows (", "). */
export type CallHeaders = Record<string, string>;

/** Response headers as undici gives them: lower-case names, repeated ones (set-cookie) as arrays. */
export type ReplyHeaders = Record<string, string | string[]>;

/** Per-call notes that stages leave for the stages around them and for the caller's diagnostics. */
export interface CallNotes {
  /** Milliseconds the call waited in the queue and the pacer together, over every attempt. */
  waitedMs: number;
  /** Upstream attempts made so far (0 when the reply came from the cache or a local rejection). */
  attempts: number;
  /** Set by the queue: the pacer calls it once the call is admitted, so the next queued call may ask. */
  onAdmitted?: () => void;
  /** Whose credential the call uses (a tenant's name, or "default"): budgets are kept per credential. */
  credential?: string;
  /** Where the call's budget is kept (computed by the budget stage, read by the pacer and observe). */
  budgetKeys?: string[];
  /** RFC 9211 Cache-Status value when the cache stage answered or revalidated. */
  cacheStatus?: string;
}

/** A call as every stage sees it; the client builds it from a `Request`, the gateway from an incoming request. */
export interface Call {
  upstream: string;
  method: string;
  /** Path and query relative to the upstream's base URL, starting with "/". */
  path: string;
  headers: CallHeaders;
  body: CallBody | null;
  /** The tenant whose credential (and budget) the call uses. */
  tenant: string | undefined;
  /** Higher is served first. 0 is normal. */
  priority: number;
  deadlineAtEpochMs: number | undefined;
  signal: AbortSignal | undefined;
  cost: Cost;
  notes: CallNotes;
}

/** What a stage returns. The body streams; a stage that needs it whole (cache) reads it and replaces it. */
export interface Reply {
  status: number;
  headers: ReplyHeaders;
  body: Readable | null;
  /** The rate-limit signal parsed from this reply (set by the pacer, which parses every upstream reply once). */
  signal?: RateLimitSignal;
}

export type Next = (call: Call) => Promise<Reply>;

/** One concern of the pipeline. A stage may answer itself, change the call, or call `next` (once or, for retry, more). */
export type Stage = (call: Call, next: Next) => Promise<Reply>;

/** Chains stages in order around the transport; the first stage is outermost. */
export function composeStages(stages: readonly Stage[], transport: Next): Next {
  let next = transport;
  for (let index = stages.length - 1; index >= 0; index--) {
    const stage = stages[index] as Stage;
    const inner = next;
    next = (call) => stage(call, inner);
  }
  return next;
}
