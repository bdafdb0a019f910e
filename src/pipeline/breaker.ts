import { InvalidOptionError } from '../errors.js';
import type { RateLimitSignal } from '../signals/types.js';
import { type Duration, type Scheduler, toMilliseconds } from '../time.js';
import {
  admitCall,
  advanceBreaker,
  type BreakerPolicy,
  type BreakerState,
  type BreakerStateName,
  type CallOutcome,
  initialBreakerState,
  settleCall,
} from './breaker-core.js';
import { CallFailedError, isCallFailed } from './errors.js';
import type { Call, Next, Reply, ReplyHeaders, Stage } from './stage.js';

/**
 * The breaker stage: stops sending to an upstream that is failing (5xx, timeouts, resets) and probes it again after
 * a while. A rate-limit rejection (429, or a reply whose signal says `limited`) is the upstream working as intended:
 * it never counts as a failure — the pacer deals with it.
 */

export interface BreakerOptions {
  /** Failures in a row that open the breaker (default 5). */
  consecutiveFailures?: number;
  /** Share of failed calls over `window` that opens the breaker (default 0.5), once `minimumCalls` were made. */
  failureRatio?: number;
  /** The sliding window the failure ratio is measured over (default "10s"). */
  window?: Duration;
  /** Calls the window must hold before the ratio counts (default 10). */
  minimumCalls?: number;
  /** How long the breaker stays open before it probes (default "10s"); a longer Retry-After on a 503 wins. */
  openFor?: Duration;
  /** The longest a Retry-After may keep the breaker open (default "5m"). */
  maxOpenFor?: Duration;
  /** Calls let through while half-open (default 1); all must succeed to close the breaker, one failure re-opens it. */
  halfOpenProbes?: number;
  /** Told of every change of state (for logs and metrics). It must not throw; if it does, the error is reported once. */
  onStateChange?: (change: BreakerStateChange) => void;
}

export interface BreakerStateChange {
  upstream: string;
  from: BreakerStateName;
  to: BreakerStateName;
  atEpochMs: number;
  /** When the breaker opened: how long it stays open. */
  openForMs?: number;
}

export interface BreakerDependencies {
  scheduler: Scheduler;
  upstream: string;
  /**
   * Reads the rate-limit signal of a reply that has none attached yet (the breaker sits inside the pacer, so it sees
   * upstream replies before the pacer parses them). Used only for 5xx replies: to tell a throttling 503 from an
   * outage, and for its Retry-After.
   */
  readSignal?: (reply: Reply) => RateLimitSignal | null | undefined;
}

export type BreakerStage = Stage & {
  /** The breaker's state now (for metrics). */
  state(): BreakerStateName;
};

const FAILURE_STATUSES = new Set([500, 502, 503, 504]);

const wholeNumber = (value: unknown, field: string, minimum: number, fallback: number): number => {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    throw new InvalidOptionError(field, `expected a whole number, ${minimum} or more, got ${JSON.stringify(value)}`);
  }
  return value;
};

export function resolveBreakerPolicy(options: BreakerOptions = {}): BreakerPolicy {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('breaker', `expected an object of options, got ${JSON.stringify(options)}`);
  }
  const failureRatio = options.failureRatio ?? 0.5;
  if (typeof failureRatio !== 'number' || !(failureRatio > 0 && failureRatio <= 1)) {
    throw new InvalidOptionError(
      'breaker.failureRatio',
      `expected a share above 0 and at most 1 (0.5 is half the calls), got ${JSON.stringify(options.failureRatio)}`,
    );
  }
  const openForMs = options.openFor === undefined ? 10_000 : toMilliseconds(options.openFor, 'breaker.openFor');
  const maxOpenForMs =
    options.maxOpenFor === undefined ? 300_000 : toMilliseconds(options.maxOpenFor, 'breaker.maxOpenFor');
  if (maxOpenForMs < openForMs) {
    throw new InvalidOptionError(
      'breaker.maxOpenFor',
      `expected at least breaker.openFor (${openForMs} ms), got ${maxOpenForMs} ms`,
    );
  }
  return {
    consecutiveFailures: wholeNumber(options.consecutiveFailures, 'breaker.consecutiveFailures', 1, 5),
    failureRatio,
    windowMs: options.window === undefined ? 10_000 : toMilliseconds(options.window, 'breaker.window'),
    minimumCalls: wholeNumber(options.minimumCalls, 'breaker.minimumCalls', 1, 10),
    openForMs,
    maxOpenForMs,
    halfOpenProbes: wholeNumber(options.halfOpenProbes, 'breaker.halfOpenProbes', 1, 1),
  };
}

/** One breaker's state and wiring; the stage is a thin closure over it, the work is done by module functions. */
interface BreakerMachine {
  readonly policy: BreakerPolicy;
  readonly scheduler: Scheduler;
  readonly upstream: string;
  readonly readSignal: ((reply: Reply) => RateLimitSignal | null | undefined) | undefined;
  readonly onStateChange: ((change: BreakerStateChange) => void) | undefined;
  state: BreakerState;
  cancelTimer: (() => void) | undefined;
  reportedCallbackError: boolean;
}

export function createBreakerStage(options: BreakerOptions, dependencies: BreakerDependencies): BreakerStage {
  const policy = resolveBreakerPolicy(options);
  const onStateChange = options.onStateChange;
  if (onStateChange !== undefined && typeof onStateChange !== 'function') {
    throw new InvalidOptionError('breaker.onStateChange', 'expected a function');
  }
  const machine: BreakerMachine = {
    policy,
    scheduler: dependencies.scheduler,
    upstream: dependencies.upstream,
    readSignal: dependencies.readSignal,
    onStateChange,
    state: initialBreakerState(dependencies.scheduler.now(), policy),
    cancelTimer: undefined,
    reportedCallbackError: false,
  };
  return Object.assign((call: Call, next: Next) => passThroughBreaker(machine, call, next), {
    state: () => advanceBreaker(machine.state, machine.scheduler.now()).name,
  });
}

function passThroughBreaker(machine: BreakerMachine, call: Call, next: Next): Promise<Reply> {
  const now = machine.scheduler.now();
  const admitted = admitCall(machine.state, now, machine.policy);
  moveTo(machine, admitted.state, now);
  const decision = admitted.decision;
  if (!decision.allowed) return Promise.reject(circuitOpenError(machine, decision.retryAfterMs));
  const { generation } = decision;
  let reply: Promise<Reply>;
  try {
    reply = next(call);
  } catch (error) {
    reply = Promise.reject(error);
  }
  return reply.then(
    (answer) => {
      const judged = judgeReply(answer, machine.readSignal, machine.scheduler.now());
      settle(machine, generation, judged.outcome, judged.retryAfterMs);
      return answer;
    },
    (error: unknown) => {
      settle(machine, generation, judgeError(error, call), null);
      throw error;
    },
  );
}

function circuitOpenError(machine: BreakerMachine, retryAfterMs: number): CallFailedError {
  const upstream = machine.upstream;
  const afterMs = Math.max(1, Math.ceil(retryAfterMs));
  return new CallFailedError(
    'circuit-open',
    upstream,
    machine.state.name === 'open'
      ? `The circuit breaker for ${upstream} is open after repeated failures (5xx, timeouts, resets); ` +
          `it lets a probe through in ${afterMs} ms.`
      : `The circuit breaker for ${upstream} is probing whether the upstream recovered; try again in ${afterMs} ms.`,
    { retryAfterMs: afterMs },
  );
}

function settle(machine: BreakerMachine, generation: number, outcome: CallOutcome, retryAfterMs: number | null): void {
  const now = machine.scheduler.now();
  moveTo(machine, settleCall(machine.state, { generation, outcome, retryAfterMs }, now, machine.policy), now);
}

/** Stores the next state, announcing a change and arming the timer that half-opens an open breaker on time. */
function moveTo(machine: BreakerMachine, next: BreakerState, now: number): void {
  const previous = machine.state;
  machine.state = next;
  if (previous.name === next.name) return;
  if (next.name === 'open') {
    machine.cancelTimer?.();
    machine.cancelTimer = machine.scheduler.setTimer(() => {
      machine.cancelTimer = undefined;
      const current = machine.scheduler.now();
      moveTo(machine, advanceBreaker(machine.state, current), current);
    }, next.halfOpenAtEpochMs - now);
  } else if (machine.cancelTimer) {
    machine.cancelTimer();
    machine.cancelTimer = undefined;
  }
  if (!machine.onStateChange) return;
  const change: BreakerStateChange = { upstream: machine.upstream, from: previous.name, to: next.name, atEpochMs: now };
  if (next.name === 'open') change.openForMs = next.halfOpenAtEpochMs - now;
  try {
    machine.onStateChange(change);
  } catch (error) {
    if (!machine.reportedCallbackError) {
      machine.reportedCallbackError = true;
      process.emitWarning(
        `breaker.onStateChange for ${machine.upstream} threw (reported once): ${(error as Error)?.message ?? error}`,
        'SluiceWarning',
      );
    }
  }
}

/** Whether a reply shows the upstream failing, and the Retry-After it gave. */
export function judgeReply(
  reply: Reply,
  readSignal: ((reply: Reply) => RateLimitSignal | null | undefined) | undefined,
  now: number,
): { outcome: CallOutcome; retryAfterMs: number | null } {
  if (!FAILURE_STATUSES.has(reply.status)) return { outcome: 'success', retryAfterMs: null };
  const signal = reply.signal ?? readSignalSafely(readSignal, reply);
  // A provider that throttles with a 5xx (S3's 503 SlowDown) is working, not failing.
  if (signal?.limited) return { outcome: 'success', retryAfterMs: null };
  const retryAfterMs = signal ? signal.retryAfterMs : retryAfterFromHeaders(reply.headers, now);
  return { outcome: 'failure', retryAfterMs };
}

/** A reader that throws must not turn an upstream reply into a failed call: it just leaves the breaker unsure. */
function readSignalSafely(
  readSignal: ((reply: Reply) => RateLimitSignal | null | undefined) | undefined,
  reply: Reply,
): RateLimitSignal | undefined {
  try {
    return readSignal?.(reply) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Errors count as failures, except the caller's own deadline or abort, which say nothing about the upstream. */
export function judgeError(error: unknown, call: Call): CallOutcome {
  if (isCallFailed(error) && (error.reason === 'aborted' || error.reason === 'deadline')) return 'neutral';
  if (call.signal?.aborted) return 'neutral';
  return 'failure';
}

/**
 * Retry-After (delta-seconds or an HTTP date) when no signal reader is at hand. The signal readers are the full
 * treatment (Date skew, dialects); this only keeps the breaker from ignoring a plain 503 + Retry-After.
 */
function retryAfterFromHeaders(headers: ReplyHeaders, now: number): number | null {
  const raw = headers['retry-after'];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const atEpochMs = Date.parse(value);
  return Number.isNaN(atEpochMs) ? null : Math.max(0, atEpochMs - now);
}
