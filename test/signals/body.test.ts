import { describe, expect, it } from 'vitest';
import { createBodyView, MAX_BODY_BYTES } from '../../src/signals/body.js';
import { parseRateLimit } from '../../src/signals/parse.js';

const now = 1_700_000_000_000;
const retryInfo = JSON.stringify({
  error: {
    code: 429,
    status: 'RESOURCE_EXHAUSTED',
    details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }],
  },
});

describe('body', () => {
  it.each([
    ['a string', retryInfo],
    ['a Buffer', Buffer.from(retryInfo)],
    ['a Uint8Array', new TextEncoder().encode(retryInfo)],
    ['an ArrayBuffer', new TextEncoder().encode(retryInfo).buffer],
    ['parsed JSON', JSON.parse(retryInfo)],
  ])('is read from %s', (_kind, body) => {
    expect(parseRateLimit({ status: 429, headers: {}, body }, { now })).toMatchObject({
      dialect: 'google',
      limited: true,
      retryAfterMs: 7000,
    });
  });

  it('is ignored above the cap (a large body is a payload, not a signal)', () => {
    const padded = retryInfo.replace('"code"', `"padding":"${'x'.repeat(MAX_BODY_BYTES)}","code"`);
    expect(createBodyView(padded).json()).toBeUndefined();
    expect(createBodyView(Buffer.from(padded)).text()).toBeNull();
    expect(parseRateLimit({ status: 429, headers: {}, body: padded }, { now })).toMatchObject({
      limited: true,
      retryAfterMs: null,
    });
  });

  it.each([
    '{"error": {"status": "RESOURCE_EXH',
    '<Error><Code>Throttling</Co',
    '\u0000\u0001\u0002',
    'null',
    '[]',
    '{}',
    '"string"',
  ])('bad JSON or XML %j reads as nothing', (body) => {
    expect(() => parseRateLimit({ status: 429, headers: {}, body }, { now })).not.toThrow();
    expect(parseRateLimit({ status: 429, headers: {}, body }, { now })).toMatchObject({
      limited: true,
      retryable: true,
      retryAfterMs: null,
    });
  });

  it('parses JSON at most once however many readers ask', () => {
    const view = createBodyView('{"a":1}');
    expect(view.json()).toBe(view.json());
  });

  it('ignores bodies that are not text, bytes or plain JSON (a stream, a class instance)', () => {
    const stream = new ReadableStream();
    expect(parseRateLimit({ status: 429, headers: {}, body: stream }, { now }).limited).toBe(true);
    class Weird {
      error = { status: 'RESOURCE_EXHAUSTED' };
    }
    expect(parseRateLimit({ status: 200, headers: {}, body: new Weird() }, { now }).dialect).toBe('generic');
  });

  it('does not parse a success body whose text mentions no limit', () => {
    // A 200 with JSON that would otherwise look like Google's error shape: not read, so no dialect from it.
    const body = JSON.stringify({ error: { status: 'RESOURCE_EXHAUSTED' } });
    expect(parseRateLimit({ status: 200, headers: {}, body }, { now }).dialect).toBe('generic');
  });
});
