import { InvalidOptionError } from '../errors.js';
import type { RateLimitSignal } from '../signals/types.js';
import type { CallFailureReason } from './errors.js';

/**
 * The pipeline's events: one per call (as the caller saw it) and one per upstream attempt. Metrics, logs and the
 * dashboard subscribe to the bus; the bus costs a boolean check per call when nobody listens.
 */

export type CallEventKind = 'call' | 'attempt';

/**
 * `ok`: a reply came back (whatever its status). `rejected-locally`: the pipeline answered itself (queue full,
 * deadline, circuit open, aborted...). `error`: the exchange with the upstream failed (timeout, reset, protocol).
 */
export type CallEventOutcome = 'ok' | 'rejected-locally' | 'error';

export interface CallEvent {
  kind: CallEventKind;
  upstream: string;
  tenant: string | undefined;
  method: string;
  path: string;
  /** The reply's status, or the status the failure maps to (429 for a full queue, 503 for an open circuit...). */
  status: number;
  outcome: CallEventOutcome;
  /** Why the call failed, when it did with a `CallFailedError`. */
  reason?: CallFailureReason;
  /** From the moment the call (or attempt) entered the stage to its reply's headers or its failure. */
  durationMs: number;
  /** Time spent waiting in the queue and the pacer, over every attempt so far. */
  waitedMs: number;
  /** Upstream attempts made so far. */
  attempts: number;
  signal?: RateLimitSignal;
  /** RFC 9211 Cache-Status, when the cache answered or revalidated. */
  cacheStatus?: string;
  error?: unknown;
}

export type CallEventListener = (event: CallEvent) => void;

export interface EventBus {
  /** True while anyone listens: check it before building an event. */
  readonly listening: boolean;
  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: CallEventListener): () => void;
  /** Hands `event` to every listener. A listener that throws does not stop the others, nor the call. */
  emit(event: CallEvent): void;
}

export interface EventBusOptions {
  /**
   * Told when a listener throws, once per listener (a broken listener would otherwise flood it with one error per
   * call). Defaults to a process warning.
   */
  onListenerError?: (error: unknown, listener: CallEventListener) => void;
}

const warnOfListenerError = (error: unknown) => {
  process.emitWarning(
    `A listener of Sluice call events threw; its later errors are not reported: ${(error as Error)?.message ?? error}`,
    'SluiceWarning',
  );
};

export function createEventBus(options: EventBusOptions = {}): EventBus {
  const onListenerError = options.onListenerError ?? warnOfListenerError;
  const reported = new WeakSet<CallEventListener>();
  // A plain field rather than a getter: it is read on every call of every upstream.
  const bus = {
    listening: false,
    // Replaced, never changed in place, so a listener that unsubscribes during emit does not disturb the loop.
    listeners: [] as readonly CallEventListener[],
    subscribe(listener: CallEventListener): () => void {
      if (typeof listener !== 'function') {
        throw new InvalidOptionError('listener', `expected a function, got ${typeof listener}`);
      }
      bus.listeners = [...bus.listeners, listener];
      bus.listening = true;
      let subscribed = true;
      return () => {
        if (!subscribed) return;
        subscribed = false;
        const index = bus.listeners.indexOf(listener);
        if (index >= 0) bus.listeners = [...bus.listeners.slice(0, index), ...bus.listeners.slice(index + 1)];
        bus.listening = bus.listeners.length > 0;
      };
    },
    emit(event: CallEvent): void {
      for (const listener of bus.listeners) {
        try {
          listener(event);
        } catch (error) {
          if (reported.has(listener)) continue;
          reported.add(listener);
          try {
            onListenerError(error, listener);
          } catch {
            // The error reporter itself failed: nothing sensible is left to tell, and the call must go on.
          }
        }
      }
    },
  };
  return bus;
}
