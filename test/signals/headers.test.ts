import { describe, expect, it } from 'vitest';
import { normalizeHeaders } from '../../src/signals/headers.js';
import { parseRateLimit } from '../../src/signals/parse.js';

const now = 1_700_000_000_000;
const expectedHeaders = new Map([
  ['x-ratelimit-limit', '60'],
  ['x-ratelimit-remaining', '0'],
  ['retry-after', '5'],
]);

describe('normalizeHeaders', () => {
  it.each([
    ['a WHATWG Headers', new Headers({ 'X-RateLimit-Limit': '60', 'X-RateLimit-Remaining': '0', 'Retry-After': '5' })],
    ['a plain object in any case', { 'X-RATELIMIT-LIMIT': '60', 'x-RateLimit-Remaining': '0', 'retry-after': 5 }],
    [
      'a Map',
      new Map([
        ['X-RateLimit-Limit', '60'],
        ['X-RateLimit-Remaining', '0'],
        ['Retry-After', '5'],
      ]),
    ],
    ['undici raw strings', ['X-RateLimit-Limit', '60', 'X-RateLimit-Remaining', '0', 'Retry-After', '5']],
    [
      'undici raw Buffers',
      [
        Buffer.from('X-RateLimit-Limit'),
        Buffer.from('60'),
        Buffer.from('X-RateLimit-Remaining'),
        Buffer.from('0'),
        Buffer.from('Retry-After'),
        Buffer.from('5'),
      ],
    ],
    [
      'name/value pairs',
      [
        ['X-RateLimit-Limit', '60'],
        ['X-RateLimit-Remaining', '0'],
        ['Retry-After', '5'],
      ],
    ],
  ])('reads %s', (_kind, input) => {
    expect(normalizeHeaders(input)).toEqual(expectedHeaders);
  });

  it('joins repeated fields with ", " as RFC 9110 does', () => {
    expect(normalizeHeaders({ 'X-Thing': ['a', 'b'] }).get('x-thing')).toBe('a, b');
    expect(normalizeHeaders(['X-Thing', 'a', 'x-thing', 'b']).get('x-thing')).toBe('a, b');
  });

  it.each([null, undefined, 42, 'x-ratelimit-limit: 5', true, ['odd'], [1, 2], { a: { nested: 1 } }, { a: null }])(
    'reads %j as no headers, without throwing',
    (input) => {
      expect(normalizeHeaders(input).size).toBe(0);
    },
  );

  it('a repeated field still parses: the first member counts', () => {
    const signal = parseRateLimit(
      {
        status: 429,
        headers: {
          'X-RateLimit-Limit': ['60', '60'],
          'X-RateLimit-Remaining': ['0', '0'],
          'X-RateLimit-Reset': ['30', '30'],
        },
      },
      { now },
    );
    expect(signal).toMatchObject({ limit: 60, remaining: 0, retryAfterMs: 30_000 });
  });

  it('every form gives the same signal', () => {
    const signals = [
      new Headers({ 'retry-after': '5', 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '0' }),
      { 'Retry-After': '5', 'X-RateLimit-Limit': '60', 'X-RateLimit-Remaining': '0' },
      ['Retry-After', Buffer.from('5'), 'X-RateLimit-Limit', '60', 'X-RateLimit-Remaining', '0'],
    ].map((headers) => parseRateLimit({ status: 429, headers: headers as never }, { now }));
    expect(signals[1]).toEqual(signals[0]);
    expect(signals[2]).toEqual(signals[0]);
    expect(signals[0]).toMatchObject({ limited: true, retryAfterMs: 5000, limit: 60, remaining: 0 });
  });
});
