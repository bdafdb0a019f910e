import type { SignalHeaders } from './headers.js';
import { clampWait, type TimeFrame } from './time-frame.js';
import { parseAbsoluteTime, parseMilliseconds, parseSecondsToMs } from './values.js';

/**
 * `Retry-After` (RFC 9110 section 10.2.3) as a wait in milliseconds from now: delay-seconds ("120"), read
 * leniently as decimal seconds because providers send "2.0" and "1.5", or an HTTP-date, measured against the
 * response's `Date` when it has one. A date in the past is a wait of 0; garbage and negatives are null.
 */
export function parseRetryAfter(text: string | undefined, frame: TimeFrame): number | null {
  if (text === undefined) return null;
  const seconds = parseSecondsToMs(text);
  if (seconds !== null) return clampWait(seconds);
  const date = parseAbsoluteTime(text);
  return date === null ? null : clampWait(date - frame.serverNowEpochMs);
}

/**
 * The wait the response states outright. `retry-after-ms` (Azure OpenAI, and what OpenAI's and Anthropic's
 * SDKs read first) is more precise than `Retry-After`, so it wins when it is a valid number.
 */
export function readStatedWait(headers: SignalHeaders, frame: TimeFrame): number | null {
  const milliseconds = parseMilliseconds(headers.get('retry-after-ms'));
  if (milliseconds !== null) return clampWait(milliseconds);
  return parseRetryAfter(headers.get('retry-after'), frame);
}
