/**
 * The pacer: admits a call only when every budget it draws on has room (counting calls in flight), spreading what
 * is left over the time to reset; then reads the reply's rate-limit signal and folds it back into the budgets, so
 * the next call is paced by what the provider just said. A rate-limit rejection pauses the narrowest budget the
 * signal names, for every caller.
 */
import type { BudgetPolicy, BudgetStore, Reservation } from '../budget/types.js';
import type { RateLimitSignal } from '../signals/types.js';
import type { Scheduler } from '../time.js';
import type { BudgetKeying } from './budget-keys.js';
import { CallFailedError } from './errors.js';
import { attachSignal } from './reply-signal.js';
import type { Call, Cost, Reply, Stage } from './stage.js';

export interface PacerOptions {
  upstream: string;
  store: BudgetStore;
  keying: BudgetKeying;
  scheduler: Scheduler;
  policy: BudgetPolicy;
  /** Reads a reply's signal. The body is given only when `needsBody` said so (and it is small). */
  readSignal(reply: { status: number; headers: Reply['headers']; body?: string }, nowEpochMs: number): RateLimitSignal;
  /** Whether this reply's signal may be in its body (Google RetryInfo, AWS error codes, Shopify GraphQL cost). */
  needsBody(reply: Reply, call: Call): boolean;
  /** How a reply's learned limits give budget back (buckets for OpenAI-like providers, windows otherwise). */
  modelOf(signal: RateLimitSignal): 'window' | 'bucket';
  /** What a reply really cost, when it differs from what was reserved (a 304 some providers do not count). */
  actualCost?(reply: Reply, call: Call): Cost | undefined;
  /**
   * Pass the scheduler's time to the store. On for an injected clock (tests); off in production, where a shared
   * store uses its own clock so that every process agrees.
   */
  passTime: boolean;
  /** Lets a waiting call re-check at once when budgets change in this process (a slot freed, a reply folded). */
  subscribe?(listener: () => void): () => void;
  /** The longest a waiting call sleeps before asking again (budgets can change in other processes). */
  maxPollMs?: number;
}

export function createPacerStage(options: PacerOptions): Stage {
  const { store, keying, scheduler, policy, upstream } = options;
  const maxPollMs = options.maxPollMs ?? 1000;
  const nowForStore = () => (options.passTime ? scheduler.now() : undefined);

  const waitForChangeOrTimeout = (delayMs: number, signal: AbortSignal | undefined) =>
    new Promise<void>((resolve, reject) => {
      let unsubscribe: (() => void) | undefined;
      const finish = () => {
        cancelTimer();
        unsubscribe?.();
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        finish();
        reject(
          new CallFailedError('aborted', upstream, `the call to ${upstream} was aborted while waiting for its budget`),
        );
      };
      const cancelTimer = scheduler.setTimer(() => {
        finish();
        resolve();
      }, delayMs);
      unsubscribe = options.subscribe?.(() => {
        finish();
        resolve();
      });
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });

  async function admit(call: Call): Promise<Reservation> {
    const keys = keying.keysFor(call);
    const startedAt = scheduler.now();
    for (;;) {
      if (call.signal?.aborted) {
        throw new CallFailedError(
          'aborted',
          upstream,
          `the call to ${upstream} was aborted while waiting for its budget`,
        );
      }
      const decision = await store.admit(keys, call.cost, {
        priority: call.priority,
        nowEpochMs: nowForStore(),
        policy,
      });
      const now = scheduler.now();
      if (decision.admitted) {
        call.notes.waitedMs += now - startedAt;
        call.notes.budgetKeys = decision.reservation.keys;
        call.notes.onAdmitted?.();
        return decision.reservation;
      }
      if (decision.quotaExhausted) {
        throw new CallFailedError('quota-exhausted', upstream, `${upstream}: ${decision.why}`, {
          retryAfterMs: decision.waitMs,
        });
      }
      if (call.deadlineAtEpochMs !== undefined && now + decision.waitMs > call.deadlineAtEpochMs) {
        throw new CallFailedError(
          'deadline',
          upstream,
          `${upstream}: the budget cannot serve this call before its deadline (${decision.why}); retry in ${decision.waitMs} ms`,
          { retryAfterMs: decision.waitMs },
        );
      }
      await waitForChangeOrTimeout(Math.min(decision.waitMs, maxPollMs), call.signal);
    }
  }

  return async function pacer(call: Call, next) {
    const reservation = await admit(call);
    let reply: Reply;
    try {
      reply = await next(call);
    } catch (error) {
      // No reply: give the reservation back (what it spent upstream, if anything, the next reply will say).
      await store.observe(
        { signal: null, signalKey: null, rejected: false, model: 'window', nowEpochMs: nowForStore(), policy },
        { reservation },
      );
      throw error;
    }
    // The transport normally read it already (so that the breaker and attempt events see it too).
    const signal = reply.signal ?? (await attachSignal(reply, call, options, scheduler.now()));
    await store.observe(
      {
        signal,
        signalKey: keying.keyOfSignal(call, signal),
        rejected: signal.limited,
        model: options.modelOf(signal),
        nowEpochMs: nowForStore(),
        policy,
      },
      { reservation, actual: options.actualCost?.(reply, call) },
    );
    return reply;
  };
}
