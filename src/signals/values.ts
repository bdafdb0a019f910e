/**
 * Readers of the small values providers put in headers: counts, seconds, booleans, HTTP-dates and RFC 3339
 * times. Each returns null for anything it does not recognise; none of them throws. The patterns are anchored
 * and built from disjoint character classes, so no input can make them backtrack.
 */

/** Longer values are not numbers any provider sends; refusing them keeps arithmetic exact and cheap. */
const MAX_NUMBER_TEXT = 24;

const DECIMAL = /^(\d+)(?:\.(\d*))?$/;

/**
 * The first member of a header value: providers (and proxies that merge repeated fields) may send
 * "5000, 5000", and the early IETF drafts append quota policies ("10, 10;w=1") after the first member.
 */
export function firstMember(text: string): string {
  const comma = text.indexOf(',');
  return (comma === -1 ? text : text.slice(0, comma)).trim();
}

/** A non-negative decimal such as "5000" or "597.0"; null for anything else (signs, exponents, hex, words). */
export function parseCount(text: string | undefined): number | null {
  if (text === undefined) return null;
  const member = firstMember(text);
  if (member.length === 0 || member.length > MAX_NUMBER_TEXT || !DECIMAL.test(member)) return null;
  return Number(member);
}

/** Like parseCount, but a negative value (some providers report "-1" once over the limit) means none left. */
export function parseRemaining(text: string | undefined): number | null {
  if (text === undefined) return null;
  const member = firstMember(text);
  if (member.startsWith('-') && DECIMAL.test(member.slice(1))) return 0;
  return parseCount(member);
}

/**
 * Decimal seconds ("2", "2.0", "64.57", "12.595337758") as whole milliseconds, rounded up so that a wait is
 * never shortened. Computed from the digits, not through floating point, so "1470173023.123" is exact.
 */
export function parseSecondsToMs(text: string | undefined): number | null {
  if (text === undefined) return null;
  const member = firstMember(text);
  if (member.length === 0 || member.length > MAX_NUMBER_TEXT) return null;
  const match = DECIMAL.exec(member);
  if (!match) return null;
  const fraction = match[2] ?? '';
  const wholeMs = Number(match[1]) * 1000 + Number(fraction.slice(0, 3).padEnd(3, '0'));
  const roundsUp = /[1-9]/.test(fraction.slice(3));
  return wholeMs + (roundsUp ? 1 : 0);
}

/** Decimal milliseconds ("1500", "1500.5") as whole milliseconds, rounded up. */
export function parseMilliseconds(text: string | undefined): number | null {
  const value = parseCount(text);
  return value === null ? null : Math.ceil(value);
}

/** "true" / "false" in any case (also "1" / "0"); null otherwise. */
export function parseFlag(text: string | undefined): boolean | null {
  if (text === undefined) return null;
  const value = firstMember(text).toLowerCase();
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return null;
}

const MONTHS: Record<string, number> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

// IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" and the obsolete RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT".
const IMF_OR_RFC850 =
  /^(?:[A-Za-z]{3,9}, ?)?(\d{1,2})[ -]([A-Za-z]{3})[ -](\d{4}|\d{2}) (\d{2}):(\d{2}):(\d{2})(?: (?:GMT|UTC|UT|Z|\+0000))?$/;
// asctime "Sun Nov  6 08:49:37 1994"
const ASCTIME = /^[A-Za-z]{3} ([A-Za-z]{3}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

// Every response carries a Date that changes once a second: remembering the last one read saves the work.
let lastHttpDateText = '';
let lastHttpDate: number | null = null;

/** An HTTP-date (RFC 9110 section 5.6.7, all three forms) as epoch milliseconds; null otherwise. */
export function parseHttpDate(text: string | undefined): number | null {
  if (text === undefined) return null;
  if (text === lastHttpDateText) return lastHttpDate;
  const value = readHttpDate(text);
  lastHttpDateText = text;
  lastHttpDate = value;
  return value;
}

function readHttpDate(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed.length > 40) return null;
  const imf = IMF_OR_RFC850.exec(trimmed);
  if (imf) {
    const year = Number(imf[3]);
    const fullYear = imf[3]!.length === 2 ? (year < 70 ? 2000 + year : 1900 + year) : year;
    return utcTime(fullYear, imf[2]!, imf[1]!, imf[4]!, imf[5]!, imf[6]!, 0);
  }
  const asctime = ASCTIME.exec(trimmed);
  if (asctime) return utcTime(Number(asctime[6]), asctime[1]!, asctime[2]!, asctime[3]!, asctime[4]!, asctime[5]!, 0);
  return null;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,12}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * An RFC 3339 / ISO 8601 time as epoch milliseconds: "2025-02-24T22:25:32Z", with fractions and offsets, and
 * Jira's minute-precision "2024-05-05T18:02Z". A time without an offset is read as UTC. Null otherwise.
 */
export function parseIsoTime(text: string | undefined): number | null {
  if (text === undefined) return null;
  const trimmed = text.trim();
  if (trimmed.length > 40) return null;
  const match = RFC3339.exec(trimmed);
  if (!match) return null;
  const fraction = match[7] ?? '';
  const fractionMs = Number(fraction.slice(0, 3).padEnd(3, '0')) + (/[1-9]/.test(fraction.slice(3)) ? 1 : 0);
  const month = Number(match[2]) - 1;
  const local = utcTime(Number(match[1]), month, match[3]!, match[4]!, match[5]!, match[6] ?? '0', fractionMs);
  if (local === null) return null;
  return local - offsetMs(match[8]);
}

function offsetMs(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z' || zone === 'z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  return sign * (hours * 60 + minutes) * 60_000;
}

function utcTime(
  year: number,
  month: string | number,
  day: string,
  hour: string,
  minute: string,
  second: string,
  fractionMs: number,
): number | null {
  const monthIndex = typeof month === 'number' ? month : MONTHS[month.toLowerCase()];
  if (monthIndex === undefined || monthIndex < 0 || monthIndex > 11) return null;
  const dayOfMonth = Number(day);
  const hours = Number(hour);
  const minutes = Number(minute);
  const seconds = Number(second);
  if (dayOfMonth < 1 || dayOfMonth > 31 || hours > 23 || minutes > 59 || seconds > 60) return null;
  // Date.UTC would roll 31 February over into March: a date that does not exist is garbage, not a time.
  if (dayOfMonth > daysInMonth(year, monthIndex)) return null;
  const time = Date.UTC(year, monthIndex, dayOfMonth, hours, minutes, Math.min(seconds, 59), fractionMs);
  return Number.isFinite(time) ? time : null;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, monthIndex: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return monthIndex === 1 && leap ? 29 : (DAYS_IN_MONTH[monthIndex] ?? 31);
}

/** An HTTP-date or an RFC 3339 time, whichever the text is. */
export function parseAbsoluteTime(text: string | undefined): number | null {
  return parseHttpDate(text) ?? parseIsoTime(text);
}

/**
 * Seconds given as a JSON number (Discord's `retry_after: 64.57`) as whole milliseconds, rounded up; the
 * microsecond rounding first removes binary noise (64.57 * 1000 is 64570.00000000001). Null for non-finite
 * or negative values.
 */
export function secondsToMs(seconds: number | null): number | null {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return null;
  return Math.ceil(Math.round(seconds * 1e6) / 1e3);
}
