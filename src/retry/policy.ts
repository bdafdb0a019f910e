import type { SluiceError } from '../errors.js';
import { InvalidOptionError } from '../errors.js';
import type { RateLimitSignal } from '../signals/types.js';
import { type Duration, toMilliseconds } from '../time.js';
import { type BackoffOptions, delayFor, type Jitter, type Random, validateBackoff } from './backoff.js';
import { RetryAfterTooLongError } from './errors.js';

/** How an attempt failed before a response arrived. "send" means writing the request to the upstream. */
export type TransportFailure =
  | 'connect-refused'
  | 'reset-before-send'
  | 'reset-after-send'
  | 'timeout-before-send'
  | 'timeout-after-send'
  | 'protocol';

export type AttemptOutcome =
  | { kind: 'response'; status: number; signal?: RateLimitSignal | null }
  | { kind: 'error'; error: TransportFailure };

/** Request headers as the policy reads them (only to find an `Idempotency-Key`). */
export type RequestHeaders = Headers | Record<string, string | string[] | number | undefined>;

export interface RetryInput {
  /** The 1-based attempt that just failed. */
  attempt: number;
  /** Time since the first attempt started, whole milliseconds. */
  elapsedMs: number;
  method: string;
  headers?: RequestHeaders | null;
  /** The request body can be sent again (none, or kept in memory because it fits `maxReplayBytes`). */
  bodyReplayable: boolean;
  outcome: AttemptOutcome;
  /** The delay that preceded the attempt that just failed (for decorrelated jitter); 0 or absent for the first. */
  previousDelayMs?: number;
  /** Time left before the caller's deadline, when it has one: a retry that could only start after it is pointless. */
  remainingMs?: number;
}

/** Why a retry is made: what went wrong with the attempt. */
export type RetryCause =
  | 'rate-limited'
  | 'unavailable'
  | 'request-timeout'
  | 'server-error'
  | 'connect-refused'
  | 'reset-before-send'
  | 'reset-after-send'
  | 'timeout-before-send'
  | 'timeout-after-send'
  | 'protocol';

/** Why no retry is made. */
export type StopReason =
  | 'not-a-failure'
  | 'signal-not-retryable'
  | 'status-not-retryable'
  | 'unknown-outcome'
  | 'unsafe-method'
  | 'body-not-replayable'
  | 'attempts-exhausted'
  | 'server-wait-too-long'
  | 'max-elapsed'
  | 'deadline';

export type RetryDecision =
  | { retry: true; delayMs: number; reason: RetryCause; delaySource: 'server' | 'backoff' }
  | { retry: false; reason: StopReason; error?: SluiceError };

export interface RetryPolicyOptions {
  /** Most attempts, the first included (1 disables retries). Default 3. */
  attempts?: number;
  /** The first backoff ceiling. Default 100 ms. */
  baseDelay?: Duration;
  /** No computed delay exceeds this (the server's wait is capped by `maxServerWait` instead). Default 10 s. */
  maxDelay?: Duration;
  /** No retry starts later than this after the first attempt. Default: no limit beyond `attempts`. */
  maxElapsed?: Duration;
  /** Default `full`. */
  jitter?: Jitter;
  /** Growth of the backoff ceiling per attempt. Default 2. */
  factor?: number;
  /** A server's wait above this fails fast with RetryAfterTooLongError instead of sleeping. Default 60 s. */
  maxServerWait?: Duration;
  /** Request bodies up to this many bytes are kept for replay; larger ones are streamed and not retried once sent. Default 1 MiB. */
  maxReplayBytes?: number;
  /** Statuses that may be retried. A rate-limit rejection under another status (GitHub's 403) counts as 429. */
  retryOn?: readonly number[];
  /** Uniform numbers in [0, 1) for jitter. Default Math.random. */
  random?: Random;
}

/** The validated options, in whole milliseconds. */
export interface RetrySettings {
  attempts: number;
  backoff: BackoffOptions;
  maxElapsedMs: number | null;
  maxServerWaitMs: number;
  maxReplayBytes: number;
  retryOn: ReadonlySet<number>;
}

export interface RetryPolicy {
  readonly settings: RetrySettings;
  /** Whether to retry the attempt that just failed, and after how long. Pure given the random source. */
  decide(input: RetryInput): RetryDecision;
  /** Whether a body of this many bytes should be kept in memory so that it can be replayed. */
  keepsForReplay(bodyBytes: number): boolean;
}

/**
 * 408 and 429 say the request was not processed; 500, 502, 503 and 504 may hide a processed request.
 * Other 4xx will fail the same way again.
 */
export const DEFAULT_RETRY_ON: readonly number[] = [408, 429, 500, 502, 503, 504];

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** Failures where the upstream certainly did not see (or did not act on) the request. */
const NOT_SENT_FAILURES = new Set<string>(['connect-refused', 'reset-before-send', 'timeout-before-send']);
/** Failures after the request (and its body) went out: the upstream may have acted on it. */
const SENT_FAILURES = new Set<string>(['reset-after-send', 'timeout-after-send', 'protocol']);

function headerValue(headers: RequestHeaders | null | undefined, name: string): string | null {
  if (!headers) return null;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name);
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name || value === undefined) continue;
    return Array.isArray(value) ? value.join(', ') : String(value);
  }
  return null;
}

/**
 * A request is safe to repeat when its method is idempotent (RFC 9110 §9.2.2) or it carries an
 * `Idempotency-Key`, with which the upstream itself deduplicates repeats.
 */
export function isIdempotentRequest(method: string, headers?: RequestHeaders | null): boolean {
  if (typeof method === 'string' && IDEMPOTENT_METHODS.has(method.toUpperCase())) return true;
  const key = headerValue(headers, 'idempotency-key');
  return key !== null && key.trim() !== '';
}

type Classification =
  | { stop: StopReason }
  | { cause: RetryCause; processed: 'no' | 'unknown'; sent: boolean; serverWaitMs: number | null };

function serverWaitOf(signal: RateLimitSignal | null | undefined): number | null {
  const wait = signal?.retryAfterMs;
  return typeof wait === 'number' && Number.isFinite(wait) && wait >= 0 ? Math.ceil(wait) : null;
}

/** What a response says about retrying it, before any question of method, body or time. */
function classifyResponse(
  status: number,
  signal: RateLimitSignal | null | undefined,
  retryOn: ReadonlySet<number>,
): Classification {
  // A spend cap or a quota with no stated reset: nothing will succeed soon, whatever the status.
  if (signal?.retryable === false) return { stop: 'signal-not-retryable' };
  const serverWaitMs = serverWaitOf(signal);
  // Rate-limit rejections come before the success check: some dialects throttle with a 200 (Shopify GraphQL).
  if (status === 429 || signal?.limited === true) {
    if (!retryOn.has(429) && !retryOn.has(status)) return { stop: 'status-not-retryable' };
    return { cause: 'rate-limited', processed: 'no', sent: true, serverWaitMs };
  }
  if (!Number.isInteger(status) || status < 400) return { stop: 'not-a-failure' };
  if (!retryOn.has(status)) return { stop: 'status-not-retryable' };
  // A 503 that says when to come back is a load-shedding refusal; a bare one may come from a failed backend.
  if (status === 503)
    return { cause: 'unavailable', processed: serverWaitMs === null ? 'unknown' : 'no', sent: true, serverWaitMs };
  // RFC 9110 §15.5.9: the server did not receive a complete request.
  if (status === 408) return { cause: 'request-timeout', processed: 'no', sent: true, serverWaitMs };
  return { cause: 'server-error', processed: 'unknown', sent: true, serverWaitMs };
}

function classify(outcome: AttemptOutcome, retryOn: ReadonlySet<number>): Classification {
  if (outcome?.kind === 'response') return classifyResponse(outcome.status, outcome.signal, retryOn);
  if (outcome?.kind === 'error') {
    if (NOT_SENT_FAILURES.has(outcome.error))
      return { cause: outcome.error, processed: 'no', sent: false, serverWaitMs: null };
    if (SENT_FAILURES.has(outcome.error))
      return { cause: outcome.error, processed: 'unknown', sent: true, serverWaitMs: null };
  }
  return { stop: 'unknown-outcome' };
}

/** The whole decision: a pure function of the settings, the input and one draw of the random source. */
export function decideRetry(settings: RetrySettings, input: RetryInput, random: Random): RetryDecision {
  const verdict = classify(input.outcome, settings.retryOn);
  if ('stop' in verdict) return { retry: false, reason: verdict.stop };
  if (verdict.processed === 'unknown' && !isIdempotentRequest(input.method, input.headers))
    return { retry: false, reason: 'unsafe-method' };
  // A streamed body is gone once sent; before sending, the stream is still whole and can go out on the retry.
  if (verdict.sent && !input.bodyReplayable) return { retry: false, reason: 'body-not-replayable' };
  if (!(input.attempt < settings.attempts)) return { retry: false, reason: 'attempts-exhausted' };

  let delayMs: number;
  let delaySource: 'server' | 'backoff';
  if (verdict.serverWaitMs !== null) {
    // The server knows when its limit resets; our backoff only guesses.
    if (verdict.serverWaitMs > settings.maxServerWaitMs) {
      return {
        retry: false,
        reason: 'server-wait-too-long',
        error: new RetryAfterTooLongError(verdict.serverWaitMs, settings.maxServerWaitMs),
      };
    }
    delayMs = verdict.serverWaitMs;
    delaySource = 'server';
  } else {
    delayMs = delayFor(settings.backoff, input.attempt, input.previousDelayMs ?? 0, random);
    delaySource = 'backoff';
  }
  const elapsedMs = Number.isFinite(input.elapsedMs) ? Math.max(0, input.elapsedMs) : 0;
  if (settings.maxElapsedMs !== null && elapsedMs + delayMs > settings.maxElapsedMs)
    return { retry: false, reason: 'max-elapsed' };
  if (input.remainingMs !== undefined && delayMs >= input.remainingMs) return { retry: false, reason: 'deadline' };
  return { retry: true, delayMs, reason: verdict.cause, delaySource };
}

function positiveInteger(value: unknown, field: string, minimum: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum)
    throw new InvalidOptionError(field, `expected a whole number ≥ ${minimum}, got ${JSON.stringify(value)}`);
  return value;
}

function statusList(value: unknown): ReadonlySet<number> {
  if (!Array.isArray(value))
    throw new InvalidOptionError('retry.retryOn', `expected a list of HTTP statuses, got ${JSON.stringify(value)}`);
  value.forEach((status, index) => {
    if (!Number.isInteger(status) || status < 100 || status > 599)
      throw new InvalidOptionError(
        `retry.retryOn[${index}]`,
        `expected an HTTP status (100-599), got ${JSON.stringify(status)}`,
      );
  });
  return new Set(value as number[]);
}

/** Validates the options (naming the field that is wrong) and fills in the defaults. */
export function retrySettings(options: RetryPolicyOptions = {}): RetrySettings {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError('retry', `expected an object of retry options, got ${JSON.stringify(options)}`);
  const baseMs = toMilliseconds(options.baseDelay ?? 100, 'retry.baseDelay', { allowZero: true });
  const maxMs = toMilliseconds(options.maxDelay ?? Math.max(10_000, baseMs), 'retry.maxDelay', { allowZero: true });
  if (maxMs < baseMs)
    throw new InvalidOptionError('retry.maxDelay', `expected at least retry.baseDelay (${baseMs} ms), got ${maxMs} ms`);
  const backoff = validateBackoff(
    { baseMs, maxMs, jitter: options.jitter ?? 'full', factor: options.factor ?? 2 },
    'retry',
  );
  return {
    attempts: positiveInteger(options.attempts ?? 3, 'retry.attempts', 1),
    backoff,
    maxElapsedMs: options.maxElapsed === undefined ? null : toMilliseconds(options.maxElapsed, 'retry.maxElapsed'),
    maxServerWaitMs: toMilliseconds(options.maxServerWait ?? 60_000, 'retry.maxServerWait', { allowZero: true }),
    maxReplayBytes: positiveInteger(options.maxReplayBytes ?? 1024 * 1024, 'retry.maxReplayBytes', 0),
    retryOn: statusList(options.retryOn ?? DEFAULT_RETRY_ON),
  };
}

/**
 * A retry policy: it only decides (retry or not, after how long, why); the pipeline's retry stage acts.
 *
 * Rules, in order: a response that says nothing can succeed soon (`signal.retryable === false`) is final;
 * rate-limit rejections (429, a dialect's throttle signal), 408, 503 with a stated wait and failures before the
 * request was sent are retried for ANY method, since the upstream did not process the request (LLM POSTs
 * must survive a 429); other failures (500, 502, bare 503, 504, resets and timeouts after sending, protocol
 * errors) only for idempotent methods or requests with an `Idempotency-Key`; a body that was streamed cannot be
 * sent again; then attempts, the server's wait (which wins over backoff, capped by `maxServerWait`), `maxElapsed`
 * and the caller's deadline.
 */
export function createRetryPolicy(options: RetryPolicyOptions = {}): RetryPolicy {
  const settings = retrySettings(options);
  const random = options.random ?? Math.random;
  if (typeof random !== 'function')
    throw new InvalidOptionError(
      'retry.random',
      `expected a function returning numbers in [0, 1), got ${typeof random}`,
    );
  return {
    settings,
    decide: (input) => decideRetry(settings, input, random),
    keepsForReplay: (bodyBytes) => Number.isFinite(bodyBytes) && bodyBytes <= settings.maxReplayBytes,
  };
}
