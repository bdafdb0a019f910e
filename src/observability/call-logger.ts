/**
 * Structured logs of upstream traffic: one line per upstream attempt and one per call Sluice answered itself, each
 * with the parsed rate-limit signal. Lines are built from pipeline events only — never from headers or bodies — and
 * the path goes through the redactor, so credentials a caller sent never reach the log.
 */
import type { Logger } from 'pino';
import { InvalidOptionError } from '../errors.js';
import { isCallFailed } from '../pipeline/errors.js';
import type { CallEvent, CallEventListener, EventBus } from '../pipeline/events.js';
import { TransportError } from '../pipeline/transport.js';
import { createBusSubscriptions } from './bus-subscriptions.js';
import { createPathRedactor, scrubSecrets } from './redact.js';
import { type SignalSummary, summarizeSignal } from './signal-summary.js';

export interface CallLoggerOptions {
  /** Query parameters whose values are replaced by `***`, besides any named like key, token, secret, password... */
  redactQueryParameters?: readonly string[];
  /** Secret values (upstream credentials, callers' keys) hidden wherever they would appear. Read on every line. */
  secrets?: () => Iterable<string>;
}

/** One log line, as the logger's object argument. */
export interface CallLogLine {
  upstream: string;
  tenant: string | null;
  method: string;
  path: string;
  status: number;
  outcome: CallEvent['outcome'];
  reason?: string;
  /** For failed exchanges: a stable code (never the error's message, which may quote a URL). */
  errorCode?: string;
  durationMs: number;
  /** Which attempt of the call this was (1 for the first); on a call Sluice refused, the attempt it refused. */
  attempt: number;
  waitedMs: number;
  cacheStatus?: string;
  signal?: SignalSummary;
}

export interface CallLogger {
  /**
   * Logs the pipeline's attempts and local rejections; returns the function that stops. Pipelines sharing one event
   * bus (the gateway's) are listened to once.
   */
  watch(pipeline: { readonly events: EventBus }): () => void;
  /** The listener itself, for a bus shared by several pipelines. */
  readonly listener: CallEventListener;
}

type Level = 'info' | 'warn';

const ATTEMPT_MESSAGE = 'upstream attempt';
const REJECTED_MESSAGE = 'call answered by sluice';

function errorCodeOf(error: unknown): string | undefined {
  if (error instanceof TransportError) return error.failure;
  if (isCallFailed(error)) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : undefined;
}

function levelOf(event: CallEvent): Level {
  if (event.kind === 'call') return event.reason === 'aborted' ? 'info' : 'warn';
  if (event.outcome !== 'ok' || event.status === 429 || event.status >= 500 || event.signal?.limited) return 'warn';
  return 'info';
}

export function createCallLogger(logger: Logger, options: CallLoggerOptions = {}): CallLogger {
  if (typeof logger?.info !== 'function' || typeof logger.isLevelEnabled !== 'function') {
    throw new InvalidOptionError('logger', 'expected a pino logger');
  }
  if (options.redactQueryParameters !== undefined && !Array.isArray(options.redactQueryParameters)) {
    throw new InvalidOptionError('redactQueryParameters', 'expected an array of query parameter names');
  }
  if (options.secrets !== undefined && typeof options.secrets !== 'function') {
    throw new InvalidOptionError('secrets', 'expected a function returning the secret values to hide');
  }
  const redactPath = createPathRedactor({ queryParameters: options.redactQueryParameters, secrets: options.secrets });
  const secrets = options.secrets;
  const hide = (text: string) => (secrets ? scrubSecrets(text, secrets()) : text);

  const lineOf = (event: CallEvent): CallLogLine => {
    const line: CallLogLine = {
      upstream: hide(String(event.upstream)),
      tenant: event.tenant === undefined ? null : hide(String(event.tenant)),
      method: String(event.method).slice(0, 32),
      path: redactPath(event.path),
      status: event.status,
      outcome: event.outcome,
      durationMs: event.durationMs,
      // Without a retry stage nothing numbers attempts: each call then has just the one.
      attempt: event.kind === 'attempt' ? Math.max(1, event.attempts) : event.attempts,
      waitedMs: event.waitedMs,
    };
    if (event.reason !== undefined) line.reason = event.reason;
    if (event.outcome === 'error') {
      const code = errorCodeOf(event.error);
      if (code !== undefined) line.errorCode = code;
    }
    if (event.cacheStatus !== undefined) line.cacheStatus = hide(event.cacheStatus);
    if (event.signal) line.signal = summarizeSignal(event.signal);
    return line;
  };

  const listener: CallEventListener = (event) => {
    if (event.kind === 'call' && event.outcome !== 'rejected-locally') return;
    const level = levelOf(event);
    if (!logger.isLevelEnabled(level)) return;
    logger[level](lineOf(event), event.kind === 'attempt' ? ATTEMPT_MESSAGE : REJECTED_MESSAGE);
  };

  const subscriptions = createBusSubscriptions(listener);
  return {
    listener,
    watch(pipeline) {
      if (typeof pipeline?.events?.subscribe !== 'function') {
        throw new InvalidOptionError('pipeline', 'expected a pipeline (with an events bus)');
      }
      return subscriptions.hold(pipeline.events);
    },
  };
}
