import { SluiceError } from '../errors.js';

/**
 * The upstream asked for a wait longer than `retry.maxServerWait` (e.g. `Retry-After: 86400`): failing fast
 * with the server's wait in hand beats holding a caller (and a connection) for a day.
 */
export class RetryAfterTooLongError extends SluiceError {
  /** What the server asked for, whole milliseconds. */
  readonly waitMs: number;
  /** The configured cap it exceeded. */
  readonly maxServerWaitMs: number;
  constructor(waitMs: number, maxServerWaitMs: number) {
    super(
      'ERR_SLUICE_RETRY_AFTER_TOO_LONG',
      `the upstream asked to wait ${waitMs} ms before retrying, more than retry.maxServerWait (${maxServerWaitMs} ms); ` +
        'try again after that time, or raise retry.maxServerWait if waiting that long is acceptable',
    );
    this.name = 'RetryAfterTooLongError';
    this.waitMs = waitMs;
    this.maxServerWaitMs = maxServerWaitMs;
  }
}
