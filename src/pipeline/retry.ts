/**
 * The retry stage: asks the pure retry policy after every failed attempt, spends the retry budget, and sends the
 * call again through the queue and the pacer (it sits outside them), so every attempt is paced like a new call.
 */
import { randomUUID } from 'node:crypto';
import type { RetryBudget } from '../retry/budget.js';
import type { AttemptOutcome, RetryPolicy } from '../retry/policy.js';
import { type Scheduler, sleep } from '../time.js';
import { CallFailedError } from './errors.js';
import type { Call, Reply, Stage } from './stage.js';
import { failureToCallError, TransportError } from './transport.js';

export interface RetryStageOptions {
  upstream: string;
  policy: RetryPolicy;
  budget: RetryBudget;
  scheduler: Scheduler;
  /** Add an `Idempotency-Key` to POST and PATCH calls that have none, so that they may be retried safely. */
  idempotencyKey?: boolean;
  /** Told about each retry (for metrics). */
  onRetry?(call: Call, reason: string, delayMs: number): void;
}

/** Lets a reply that will not be returned release its connection. */
function discard(reply: Reply): void {
  reply.body?.resume();
  reply.body?.on('error', () => {});
}

export function createRetryStage(options: RetryStageOptions): Stage {
  const { policy, budget, scheduler, upstream } = options;
  return async function retry(call: Call, next) {
    budget.recordCall();
    if (
      options.idempotencyKey &&
      (call.method === 'POST' || call.method === 'PATCH') &&
      !call.headers['idempotency-key']
    ) {
      call.headers['idempotency-key'] = randomUUID();
    }
    const startedAt = scheduler.now();
    let previousDelayMs = 0;
    for (let attempt = 1; ; attempt++) {
      call.notes.attempts = attempt;
      let reply: Reply | undefined;
      let outcome: AttemptOutcome;
      let failure: TransportError | undefined;
      try {
        reply = await next(call);
        outcome = { kind: 'response', status: reply.status, signal: reply.signal ?? null };
      } catch (error) {
        // Local rejections (deadline, full queue, open breaker, abort) already say when to come back.
        if (!(error instanceof TransportError)) throw error;
        failure = error;
        outcome = { kind: 'error', error: error.failure };
      }
      const now = scheduler.now();
      const decision = policy.decide({
        attempt,
        elapsedMs: now - startedAt,
        method: call.method,
        headers: call.headers,
        bodyReplayable: call.body === null || call.body.kind === 'bytes',
        outcome,
        previousDelayMs,
        remainingMs: call.deadlineAtEpochMs === undefined ? undefined : call.deadlineAtEpochMs - now,
      });
      const retrying = decision.retry && budget.tryRetry();
      if (!decision.retry || !retrying) {
        if (reply) return reply;
        throw failureToCallError(upstream, failure as TransportError);
      }
      if (reply) discard(reply);
      options.onRetry?.(call, decision.reason, decision.delayMs);
      previousDelayMs = decision.delayMs;
      try {
        await sleep(scheduler, decision.delayMs, call.signal);
      } catch {
        throw new CallFailedError('aborted', upstream, `the call to ${upstream} was aborted while waiting to retry`);
      }
    }
  };
}
