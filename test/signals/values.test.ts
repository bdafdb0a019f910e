import { describe, expect, it } from 'vitest';
import {
  parseCount,
  parseFlag,
  parseHttpDate,
  parseIsoTime,
  parseRemaining,
  parseSecondsToMs,
  secondsToMs,
} from '../../src/signals/values.js';

describe('parseCount', () => {
  it.each([
    ['5000', 5000],
    ['597.0', 597],
    [' 42 ', 42],
    ['5000, 5000', 5000],
    ['10, 10;w=1', 10],
  ])('%j is %d', (text, value) => {
    expect(parseCount(text)).toBe(value);
  });

  it.each(['', 'abc', '-1', '1e3', '0x10', 'NaN', 'Infinity', ',1', '9'.repeat(40), '+5'])(
    '%j is not a count',
    (text) => {
      expect(parseCount(text)).toBeNull();
    },
  );

  it('reads a negative remaining as none left', () => {
    expect(parseRemaining('-1')).toBe(0);
    expect(parseRemaining('-x')).toBeNull();
  });
});

describe('parseSecondsToMs', () => {
  it.each([
    ['2', 2000],
    ['2.0', 2000],
    ['64.57', 64570],
    ['1470173023.123', 1470173023123],
    ['12.595337758', 12596],
    ['0.0001', 1],
    ['0', 0],
  ])('%j seconds is %d ms, exactly and rounded up', (text, ms) => {
    expect(parseSecondsToMs(text)).toBe(ms);
  });

  it.each(['-1', '1.5s', 'soon', ''])('%j is not seconds', (text) => {
    expect(parseSecondsToMs(text)).toBeNull();
  });

  it('rounds JSON seconds without binary noise', () => {
    expect(secondsToMs(64.57)).toBe(64570);
    expect(secondsToMs(1336.57)).toBe(1336570);
    expect(secondsToMs(0.0015)).toBe(2);
    expect(secondsToMs(-1)).toBeNull();
    expect(secondsToMs(Number.NaN)).toBeNull();
  });
});

describe('parseHttpDate', () => {
  const expected = Date.UTC(1994, 10, 6, 8, 49, 37);
  it.each([
    'Sun, 06 Nov 1994 08:49:37 GMT',
    'Sunday, 06-Nov-94 08:49:37 GMT',
    'Sun Nov  6 08:49:37 1994',
    '  Sun, 06 Nov 1994 08:49:37 GMT  ',
  ])('reads %j', (text) => {
    expect(parseHttpDate(text)).toBe(expected);
  });

  it.each([
    'Sun, 31 Feb 1994 08:49:37 GMT',
    'Sun, 06 Foo 1994 08:49:37 GMT',
    'Sun, 06 Nov 1994 25:49:37 GMT',
    '1',
    '2024',
    'tomorrow',
    '',
  ])('rejects %j (Date.parse would accept some of these)', (text) => {
    expect(parseHttpDate(text)).toBeNull();
  });
});

describe('parseIsoTime', () => {
  it.each([
    ['2025-02-24T22:25:32Z', Date.UTC(2025, 1, 24, 22, 25, 32)],
    ['2024-05-05T18:02Z', Date.UTC(2024, 4, 5, 18, 2)],
    ['2025-02-24T22:25:32.5Z', Date.UTC(2025, 1, 24, 22, 25, 32, 500)],
    ['2025-02-24T22:25:32.0001Z', Date.UTC(2025, 1, 24, 22, 25, 32, 1)],
    ['2025-02-24T23:25:32+01:00', Date.UTC(2025, 1, 24, 22, 25, 32)],
    ['2025-02-24T22:25:32', Date.UTC(2025, 1, 24, 22, 25, 32)],
  ])('reads %j', (text, ms) => {
    expect(parseIsoTime(text)).toBe(ms);
  });

  it.each(['2025-13-01T00:00:00Z', '2025-02-30T00:00:00Z', '2025-02-24', 'yesterday'])('rejects %j', (text) => {
    expect(parseIsoTime(text)).toBeNull();
  });
});

describe('parseFlag', () => {
  it('reads true and false in any case', () => {
    expect(parseFlag('TRUE')).toBe(true);
    expect(parseFlag('false')).toBe(false);
    expect(parseFlag('maybe')).toBeNull();
    expect(parseFlag(undefined)).toBeNull();
  });
});
