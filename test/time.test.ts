import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../src/errors.js';
import { createManualClock, parseDurationText, toMilliseconds } from '../src/time.js';

describe('parseDurationText', () => {
  it.each([
    ['250ms', 250],
    ['1.5s', 1500],
    ['6m0s', 360_000],
    ['1h30m', 5_400_000],
    ['20ms', 20],
    ['0.5s', 500],
    ['7.66s', 7660],
    ['2d', 172_800_000],
    ['1500us', 2],
    ['0', 0],
    [' 1s ', 1000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDurationText(text)).toBe(ms);
  });

  it.each(['', 'abc', '1', '1x', 's', '-1s', '1s2', 'NaNs', '1e3ms'])('%j is not a duration', (text) => {
    expect(parseDurationText(text)).toBeNull();
  });
});

describe('toMilliseconds', () => {
  it('accepts numbers and text', () => {
    expect(toMilliseconds(1000, 'window')).toBe(1000);
    expect(toMilliseconds('1m', 'window')).toBe(60_000);
  });

  it('names the field in its error', () => {
    expect(() => toMilliseconds('soon', 'policies[0].window')).toThrow(InvalidOptionError);
    expect(() => toMilliseconds('soon', 'policies[0].window')).toThrow(/^policies\[0\]\.window: expected a duration/);
    expect(() => toMilliseconds(0, 'window')).toThrow(/window: expected a positive duration/);
    expect(() => toMilliseconds(Number.NaN, 'window')).toThrow(/window/);
    expect(toMilliseconds(0, 'delay', { allowZero: true })).toBe(0);
    expect(() => toMilliseconds(-5, 'delay', { allowZero: true })).toThrow(/non-negative/);
  });
});

describe('createManualClock', () => {
  it('moves only when told', () => {
    const clock = createManualClock(1000);
    expect(clock.now()).toBe(1000);
    clock.advance(250);
    expect(clock.now()).toBe(1250);
    clock.set(5);
    expect(clock.now()).toBe(5);
    expect(() => clock.advance(-1)).toThrow(/advance/);
  });
});
