import { SluiceError } from '../errors.js';

/**
 * Why the pipeline answered a call itself instead of getting an upstream reply. Each maps to the HTTP status the
 * gateway answers with (DESIGN.md "Failing fast") and carries what a caller needs to act: when to try again.
 */
export type CallFailureReason =
  | 'deadline' // the budget cannot serve the call before its deadline
  | 'queue-full' // the queue for this budget is at its bound
  | 'aborted' // the caller aborted
  | 'no-credential' // the call's tenant has no credential for the upstream
  | 'quota-exhausted' // the provider said nothing can succeed before a time it did not state (spend cap)
  | 'retry-after-too-long' // the provider asked for a wait longer than the configured cap
  | 'circuit-open' // the breaker is open for this upstream
  | 'draining' // the gateway is shutting down
  | 'upstream-timeout'
  | 'upstream-unreachable' // refused, reset or DNS failure on every attempt
  | 'upstream-protocol'; // the upstream answered something that is not HTTP

const STATUS_BY_REASON: Record<CallFailureReason, number> = {
  deadline: 429,
  'queue-full': 429,
  aborted: 499,
  'no-credential': 403,
  'quota-exhausted': 429,
  'retry-after-too-long': 429,
  'circuit-open': 503,
  draining: 503,
  'upstream-timeout': 504,
  'upstream-unreachable': 502,
  'upstream-protocol': 502,
};

export class CallFailedError extends SluiceError {
  readonly reason: CallFailureReason;
  /** When the caller may try again (relative), or null when unknown. */
  readonly retryAfterMs: number | null;
  readonly upstream: string;
  /** The HTTP status a server should answer with. */
  readonly status: number;

  constructor(
    reason: CallFailureReason,
    upstream: string,
    message: string,
    options: { retryAfterMs?: number | null; cause?: unknown } = {},
  ) {
    super(`ERR_SLUICE_${reason.toUpperCase().replaceAll('-', '_')}`, message, { cause: options.cause });
    this.name = 'CallFailedError';
    this.reason = reason;
    this.upstream = upstream;
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.status = STATUS_BY_REASON[reason];
  }
}

export function isCallFailed(error: unknown): error is CallFailedError {
  return error instanceof CallFailedError;
}
