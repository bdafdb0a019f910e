/**
 * Lazy, bounded access to a response body. Readers ask for it only when headers do not say enough; the text
 * is decoded and the JSON parsed at most once, and bodies over the cap are ignored (a rate-limit error body
 * is a few hundred bytes; a large body is a payload, not a signal).
 */

export const MAX_BODY_BYTES = 64 * 1024;

export interface BodyView {
  /** The body as text, or null when there is none, it is too large, or it was given as parsed JSON. */
  text(): string | null;
  /** The body as JSON (parsed here, or as given), or undefined when it is not JSON. */
  json(): unknown;
}

const NO_BODY: BodyView = { text: () => null, json: () => undefined };

export function createBodyView(body: unknown): BodyView {
  if (body === null || body === undefined) return NO_BODY;
  if (typeof body === 'string') return textView(body.length <= MAX_BODY_BYTES ? body : null);
  if (body instanceof Uint8Array) return textView(decode(body));
  if (body instanceof ArrayBuffer) return textView(decode(new Uint8Array(body)));
  if (typeof body === 'object') return { text: () => null, json: () => body };
  return NO_BODY;
}

function decode(bytes: Uint8Array): string | null {
  if (bytes.byteLength > MAX_BODY_BYTES) return null;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

function textView(text: string | null): BodyView {
  let parsed: unknown;
  let done = false;
  return {
    text: () => text,
    json() {
      if (!done) {
        done = true;
        parsed = parseJson(text);
      }
      return parsed;
    },
  };
}

function parseJson(text: string | null): unknown {
  if (text === null) return undefined;
  const start = firstNonSpace(text);
  if (start !== '{' && start !== '[') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function firstNonSpace(text: string): string | undefined {
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (char !== ' ' && char !== '\n' && char !== '\r' && char !== '\t' && char !== '\uFEFF') return char;
  }
  return undefined;
}

/** Safe steps into parsed JSON: each returns null when the value is not of the expected shape. */
export function asRecord(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

export function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asString(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** A finite number, also from a numeric string ("1000.0"). */
export function asNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '' && value.length < 32) {
    const number = Number(value);
    return Number.isFinite(number) ? number : null;
  }
  return null;
}

/** Follows a path of keys through nested objects. */
export function pathOf(value: unknown, ...keys: string[]): unknown {
  let current = value;
  for (const key of keys) {
    const record = asRecord(current);
    if (record === null) return undefined;
    current = record[key];
  }
  return current;
}
