/**
 * One shape for response headers, whatever the caller holds: lower-case names, repeated fields joined with
 * ", " (RFC 9110 section 5.3). Accepts a WHATWG `Headers` (Node's or undici's), a `Map`, a plain object in
 * any case with string / string[] / number values, undici's raw `[name, value, ...]` array of strings or
 * Buffers, or `[name, value]` pairs. Anything else reads as no headers.
 */

export type SignalHeaders = ReadonlyMap<string, string>;

/** No response carries this many fields; the cap bounds the work garbage input can cause. */
const MAX_FIELDS = 1000;

const EMPTY: SignalHeaders = new Map();

export function normalizeHeaders(input: unknown): SignalHeaders {
  if (input === null || typeof input !== 'object') return EMPTY;
  const headers = new Map<string, string>();
  if (Array.isArray(input)) readArray(input, headers);
  else if (isIterableOfPairs(input)) readPairs(input as Iterable<unknown>, headers);
  else readRecord(input as Record<string, unknown>, headers);
  return headers;
}

function add(headers: Map<string, string>, name: unknown, value: unknown): void {
  if (headers.size >= MAX_FIELDS) return;
  // Names are text on the wire; a number is not a field name (values may be numbers in plain objects).
  const key = typeof name === 'number' ? null : toText(name);
  if (key === null || key.length === 0) return;
  const text = valueText(value);
  if (text === null) return;
  const lower = key.trim().toLowerCase();
  const existing = headers.get(lower);
  headers.set(lower, existing === undefined ? text : `${existing}, ${text}`);
}

function valueText(value: unknown): string | null {
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (const part of value) {
      const text = toText(part);
      if (text !== null) parts.push(text.trim());
    }
    return parts.length === 0 ? null : parts.join(', ');
  }
  const text = toText(value);
  return text === null ? null : text.trim();
}

function toText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  // Field values are bytes on the wire; latin1 maps each byte to one character, as Node's HTTP parser does.
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  if (value instanceof Uint8Array) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
  }
  return null;
}

function readArray(input: readonly unknown[], headers: Map<string, string>): void {
  const first = input[0];
  if (Array.isArray(first)) {
    readPairs(input, headers);
    return;
  }
  // undici's raw headers: name, value, name, value...
  const end = Math.min(input.length - (input.length % 2), MAX_FIELDS * 2);
  for (let index = 0; index < end; index += 2) add(headers, input[index], input[index + 1]);
}

function readPairs(input: Iterable<unknown>, headers: Map<string, string>): void {
  let count = 0;
  for (const pair of input) {
    if (++count > MAX_FIELDS) return;
    if (Array.isArray(pair) && pair.length >= 2) add(headers, pair[0], pair[1]);
  }
}

function readRecord(input: Record<string, unknown>, headers: Map<string, string>): void {
  let count = 0;
  for (const name of Object.keys(input)) {
    if (++count > MAX_FIELDS) return;
    add(headers, name, input[name]);
  }
}

function isIterableOfPairs(input: object): boolean {
  // Headers and Map iterate as [name, value] pairs; a plain object has no iterator.
  return (
    typeof (input as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function' && !(input instanceof Uint8Array)
  );
}
