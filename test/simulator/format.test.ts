import { describe, expect, it } from 'vitest';
import { decisecondsText, goDurationText, secondsText, wholeSecondsText } from '../../src/simulator/format.js';
import { parseDurationText } from '../../src/time.js';

describe('header value formats', () => {
  it.each([
    [0, '0s'],
    [6, '6ms'],
    [20, '20ms'],
    [999, '999ms'],
    [1000, '1s'],
    [1200, '1.2s'],
    [7660, '7.66s'],
    [59_999, '59.999s'],
    [60_000, '1m0s'],
    [179_560, '2m59.56s'],
    [360_000, '6m0s'],
    [3_600_000, '1h0m0s'],
    [3_723_004, '1h2m3.004s'],
  ])('Go duration of %d ms is %s, and reads back', (ms, text) => {
    expect(goDurationText(ms)).toBe(text);
    // `+ 0` because parseDurationText('0s') gives -0 (src/time.ts rounds 0 - 1e-9 up): equal, but not Object.is
    expect((parseDurationText(text) as number) + 0).toBe(ms);
  });

  it('prints Discord seconds, Shopify deciseconds and whole seconds', () => {
    expect(secondsText(64_570)).toBe('64.57');
    expect(secondsText(1000)).toBe('1');
    expect(secondsText(1_470_173_023_123)).toBe('1470173023.123');
    expect(decisecondsText(50)).toBe('0.1');
    expect(decisecondsText(1000)).toBe('1.0');
    expect(decisecondsText(2001)).toBe('2.1');
    expect(wholeSecondsText(1)).toBe('1');
    expect(wholeSecondsText(1000)).toBe('1');
    expect(wholeSecondsText(1001)).toBe('2');
    expect(wholeSecondsText(0)).toBe('0');
  });
});
