import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../src/errors.js';
import { createManualClock, parseDurationText, sleep, toMilliseconds } from '../src/time.js';

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
    ['0s', 0],
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

describe('manual clock timers', () => {
  it('fires due timers in time order and can cancel', () => {
    const clock = createManualClock(0);
    const fired: string[] = [];
    clock.setTimer(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimer(() => fired.push(`a@${clock.now()}`), 10);
    const cancel = clock.setTimer(() => fired.push('never'), 15);
    cancel();
    clock.advance(15);
    expect(fired).toEqual(['a@10']);
    clock.advance(100);
    expect(fired).toEqual(['a@10', 'b@20']);
    expect(clock.now()).toBe(115);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('sleep resolves on advanceAsync and rejects on abort', async () => {
    const clock = createManualClock(0);
    let woke = false;
    const sleeping = sleep(clock, 50).then(() => {
      woke = true;
    });
    await clock.advanceAsync(49);
    expect(woke).toBe(false);
    await clock.advanceAsync(1);
    await sleeping;
    expect(woke).toBe(true);

    const controller = new AbortController();
    const aborted = sleep(clock, 50, controller.signal);
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    expect(clock.pendingTimers()).toBe(0);
  });
});
