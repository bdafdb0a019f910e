/**
 * Cache-Control (RFC 9111 §5.2) as a record of directives. Parsing never throws: a directive we cannot read is
 * kept as present with a null value, and a bad number reads as 0 (RFC 9111 §1.2.2: an invalid delta-seconds makes
 * the response stale, the safe reading).
 */

/** Lower-case directive name -> its argument (unquoted), or null when it has none. The first occurrence wins. */
export type Directives = ReadonlyMap<string, string | null>;

const EMPTY: Directives = new Map();

/** RFC 9111 §1.2.2: a delta-seconds too large to represent counts as 2^31 seconds. */
const MAX_DELTA_SECONDS = 2_147_483_648;

/** Splits on commas that are not inside a quoted string. */
function splitDirectives(text: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const character = text[index];
    if (character === '\\' && quoted) index++;
    else if (character === '"') quoted = !quoted;
    else if (character === ',' && !quoted) {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function unquote(value: string): string {
  const trimmed = value.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')) {
    return trimmed.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return trimmed;
}

/** Parses one or several Cache-Control field values (a repeated field is one list). */
export function parseCacheControl(value: string | readonly string[] | undefined | null): Directives {
  if (value === undefined || value === null) return EMPTY;
  const text = typeof value === 'string' ? value : value.join(',');
  if (text.trim() === '') return EMPTY;
  const directives = new Map<string, string | null>();
  for (const part of splitDirectives(text)) {
    const equals = part.indexOf('=');
    const name = (equals === -1 ? part : part.slice(0, equals)).trim().toLowerCase();
    if (name === '' || directives.has(name)) continue;
    directives.set(name, equals === -1 ? null : unquote(part.slice(equals + 1)));
  }
  return directives;
}

/**
 * A directive's delta-seconds argument in milliseconds: null when the directive is absent, 0 when its argument is
 * missing or not a number.
 */
export function deltaSecondsMs(directives: Directives, name: string): number | null {
  if (!directives.has(name)) return null;
  const argument = directives.get(name);
  if (argument === null || argument === undefined || !/^\d+$/.test(argument)) return 0;
  const seconds = Math.min(Number(argument), MAX_DELTA_SECONDS);
  return seconds * 1000;
}

/**
 * The request's own cache directives, including the HTTP/1.0 `Pragma: no-cache` (RFC 9111 §5.4: it counts only
 * when the request carries no Cache-Control).
 */
export function requestDirectives(headers: Readonly<Record<string, string>>): Directives {
  const cacheControl = headers['cache-control'];
  if (cacheControl !== undefined) return parseCacheControl(cacheControl);
  const pragma = headers.pragma;
  if (pragma !== undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(pragma)) return new Map([['no-cache', null]]);
  return EMPTY;
}
