import { InvalidOptionError } from '../errors.js';
import { type Clock, systemClock } from '../time.js';
import { type CallFailureReason, isCallFailed } from './errors.js';
import type { CallEvent, CallEventKind, EventBus } from './events.js';
import type { Call, Next, Reply, Stage } from './stage.js';

/**
 * The observe stage: emits one event per call (outermost, so it also sees cache hits and local rejections) or per
 * upstream attempt (innermost, next to the transport). When nobody listens it only checks a boolean.
 */

/** Failures the pipeline decided itself, as opposed to a failed exchange with the upstream. */
const LOCAL_REASONS: ReadonlySet<CallFailureReason> = new Set<CallFailureReason>([
  'deadline',
  'queue-full',
  'aborted',
  'no-credential',
  'quota-exhausted',
  'retry-after-too-long',
  'circuit-open',
  'draining',
]);

/** What an error that is not a `CallFailedError` is reported as: the gateway's answer to a failed upstream exchange. */
const UNKNOWN_ERROR_STATUS = 502;

interface Observer {
  readonly bus: EventBus;
  readonly kind: CallEventKind;
  readonly upstream: string;
  readonly clock: Clock;
}

export function createObserveStage(
  bus: EventBus,
  kind: CallEventKind,
  upstream: string,
  clock: Clock = systemClock,
): Stage {
  if (kind !== 'call' && kind !== 'attempt') {
    throw new InvalidOptionError('kind', `expected "call" or "attempt", got ${JSON.stringify(kind)}`);
  }
  const observer: Observer = { bus, kind, upstream, clock };
  return (call, next) => observeCall(observer, call, next);
}

function observeCall(observer: Observer, call: Call, next: Next): Promise<Reply> {
  if (!observer.bus.listening) return next(call);
  const startedAtEpochMs = observer.clock.now();
  let reply: Promise<Reply>;
  try {
    reply = next(call);
  } catch (error) {
    reply = Promise.reject(error);
  }
  return reply.then(
    (answer) => {
      const event = eventOf(observer, call, startedAtEpochMs);
      event.status = answer.status;
      if (answer.signal) event.signal = answer.signal;
      observer.bus.emit(event);
      return answer;
    },
    (error: unknown) => {
      const event = eventOf(observer, call, startedAtEpochMs);
      event.error = error;
      if (isCallFailed(error)) {
        event.status = error.status;
        event.reason = error.reason;
        event.outcome = LOCAL_REASONS.has(error.reason) ? 'rejected-locally' : 'error';
      } else {
        event.status = UNKNOWN_ERROR_STATUS;
        event.outcome = 'error';
      }
      observer.bus.emit(event);
      throw error;
    },
  );
}

function eventOf(observer: Observer, call: Call, startedAtEpochMs: number): CallEvent {
  const event: CallEvent = {
    kind: observer.kind,
    upstream: observer.upstream,
    tenant: call.tenant,
    method: call.method,
    path: call.path,
    status: 0,
    outcome: 'ok',
    durationMs: observer.clock.now() - startedAtEpochMs,
    waitedMs: call.notes.waitedMs,
    attempts: call.notes.attempts,
  };
  if (call.notes.cacheStatus !== undefined) event.cacheStatus = call.notes.cacheStatus;
  return event;
}
