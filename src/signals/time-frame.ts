import { parseAbsoluteTime, parseCount, parseHttpDate, parseSecondsToMs } from './values.js';

/**
 * The two clocks a response involves. A provider states absolute resets on ITS clock; the response's `Date`
 * header says what that clock read when it answered. Waits are computed on the server's clock (reset - Date),
 * so a skewed local clock does not distort them, and then placed on the local clock (now + wait), so
 * `resetAtEpochMs - now` is the true wait. Without a `Date` header both clocks are taken to agree.
 */
export interface TimeFrame {
  /** The local clock when the response was read (the caller's `now`). */
  readonly nowEpochMs: number;
  /** The server's clock at the same moment: its `Date` header, or `nowEpochMs` when it sent none. */
  readonly serverNowEpochMs: number;
}

/** Waits longer than this are clamped: no provider documents a reset further away than a year. */
export const MAX_WAIT_MS = 366 * 24 * 3_600_000;

export interface ResetTime {
  resetAtEpochMs: number;
  resetAfterMs: number;
  /** How coarse the stated time was: 1000 for whole seconds (GitHub's epoch seconds), absent when finer. */
  precisionMs?: number;
}

/** Whole seconds, as text ("1700000000", "2") or a number: the time is only known to the second. */
function wholeSecondsPrecision(result: ResetTime, seconds: boolean): ResetTime {
  if (seconds) result.precisionMs = 1000;
  return result;
}

/**
 * `Date` has whole seconds: the server's clock read somewhere in [Date, Date + 1 s) when it answered. A local
 * clock inside that span (give or take the reply's trip) agrees with it, and is the more precise of the two; only a
 * clock outside it is skewed enough to be corrected, or a 1 s window would be misread by up to a whole second.
 */
const DATE_AGREEMENT_BEFORE_MS = 250;
const DATE_AGREEMENT_AFTER_MS = 1250;

export function createTimeFrame(nowEpochMs: number, dateHeader: string | undefined): TimeFrame {
  const serverNow = parseHttpDate(dateHeader);
  if (serverNow === null) return { nowEpochMs, serverNowEpochMs: nowEpochMs };
  const agrees =
    nowEpochMs >= serverNow - DATE_AGREEMENT_BEFORE_MS && nowEpochMs <= serverNow + DATE_AGREEMENT_AFTER_MS;
  return { nowEpochMs, serverNowEpochMs: agrees ? nowEpochMs : serverNow };
}

/** Whole milliseconds, never negative, never NaN, never beyond MAX_WAIT_MS. */
export function clampWait(ms: number): number {
  if (!Number.isFinite(ms) || ms <= 0) return 0;
  return Math.min(Math.ceil(ms), MAX_WAIT_MS);
}

/** A reset stated relative to the response ("in 7 s"). */
export function resetAfter(frame: TimeFrame, afterMs: number): ResetTime {
  const wait = clampWait(afterMs);
  return { resetAfterMs: wait, resetAtEpochMs: frame.nowEpochMs + wait };
}

/**
 * A reset stated as an absolute time on the server's clock. `resetAtEpochMs` keeps a reset in the past as
 * it was said (moved to the local clock); only the wait is clamped to 0.
 */
export function resetAt(frame: TimeFrame, serverEpochMs: number): ResetTime {
  const untilReset = serverEpochMs - frame.serverNowEpochMs;
  const resetAtEpochMs = Math.max(0, frame.nowEpochMs + Math.min(untilReset, MAX_WAIT_MS));
  return { resetAfterMs: clampWait(untilReset), resetAtEpochMs };
}

/**
 * A reset whose form the provider does not pin down (X-RateLimit-Reset in the wild): epoch milliseconds,
 * epoch seconds or delta seconds, told apart by magnitude against the server's clock, or an HTTP-date /
 * RFC 3339 time. A delta of more than about five years, or an epoch before 1973, is not a rate-limit reset,
 * which leaves no overlap between the three numeric readings.
 */
export function resetFromText(frame: TimeFrame, text: string | undefined): ResetTime | null {
  if (text === undefined) return null;
  const value = parseCount(text);
  if (value === null) {
    const absolute = parseAbsoluteTime(text);
    return absolute === null ? null : resetAt(frame, absolute);
  }
  // Seconds are converted from the digits, exactly: "1470173023.123" is 1470173023123 ms.
  return resetFromNumber(frame, value, parseSecondsToMs(text) ?? value * 1000, !text.includes('.'));
}

/** resetFromText for a value already parsed (a Structured Field number). `secondsAsMs` is `value` seconds. */
export function resetFromNumber(
  frame: TimeFrame,
  value: number,
  secondsAsMs = Math.round(value * 1000),
  whole = Number.isInteger(value),
): ResetTime {
  const reference = frame.serverNowEpochMs;
  if (value >= Math.max(reference / 10, 1e11)) return resetAt(frame, Math.ceil(value));
  if (value >= Math.max(reference / 10_000, 1e8)) return wholeSecondsPrecision(resetAt(frame, secondsAsMs), whole);
  return wholeSecondsPrecision(resetAfter(frame, secondsAsMs), whole);
}

/** A reset stated in delta seconds (the IETF fields, Reddit, Discord's Reset-After). */
export function resetFromSeconds(frame: TimeFrame, text: string | undefined): ResetTime | null {
  const ms = parseSecondsToMs(text);
  return ms === null ? null : wholeSecondsPrecision(resetAfter(frame, ms), !text?.includes('.'));
}
