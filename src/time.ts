import { InvalidOptionError } from './errors.js';

/** The source of "now" for every time-dependent core. Production uses the system clock; tests inject a manual one. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** A clock that can also wake code up later. Stages that wait (queue, pacer, breaker) take one, so tests run on a manual one. */
export interface Scheduler extends Clock {
  /** Calls `callback` after `delayMs`; returns a function that cancels it. */
  setTimer(callback: () => void, delayMs: number): () => void;
}

export const systemClock: Scheduler = {
  now: () => Date.now(),
  setTimer(callback, delayMs) {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    return () => clearTimeout(timer);
  },
};

/** A clock that only moves when told to: deterministic tests of time-dependent logic without sleeping. */
export interface ManualClock extends Scheduler {
  /** Moves time forward, firing due timers in time order (synchronously). */
  advance(ms: number): void;
  /** Like `advance`, but lets promises settle after each timer fires, so async code woken by a timer runs on. */
  advanceAsync(ms: number): Promise<void>;
  set(epochMs: number): void;
  /** Timers not yet fired. */
  pendingTimers(): number;
}

interface ManualTimer {
  dueAtEpochMs: number;
  sequence: number;
  callback: () => void;
}

const settlePromises = () => new Promise<void>((resolve) => setImmediate(resolve));

export function createManualClock(startEpochMs = 0): ManualClock {
  let current = startEpochMs;
  let sequence = 0;
  const timers: ManualTimer[] = [];

  const takeNextDue = (untilEpochMs: number): ManualTimer | undefined => {
    let earliest: ManualTimer | undefined;
    for (const timer of timers) {
      if (timer.dueAtEpochMs > untilEpochMs) continue;
      if (
        !earliest ||
        timer.dueAtEpochMs < earliest.dueAtEpochMs ||
        (timer.dueAtEpochMs === earliest.dueAtEpochMs && timer.sequence < earliest.sequence)
      ) {
        earliest = timer;
      }
    }
    if (earliest) timers.splice(timers.indexOf(earliest), 1);
    return earliest;
  };

  const checkStep = (ms: number) => {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new InvalidOptionError('advance(ms)', `expected a non-negative number, got ${ms}`);
    }
  };

  return {
    now: () => current,
    setTimer(callback, delayMs) {
      const timer: ManualTimer = { dueAtEpochMs: current + Math.max(0, delayMs), sequence: sequence++, callback };
      timers.push(timer);
      return () => {
        const index = timers.indexOf(timer);
        if (index >= 0) timers.splice(index, 1);
      };
    },
    advance(ms) {
      checkStep(ms);
      const target = current + ms;
      for (let timer = takeNextDue(target); timer; timer = takeNextDue(target)) {
        current = Math.max(current, timer.dueAtEpochMs);
        timer.callback();
      }
      current = target;
    },
    async advanceAsync(ms) {
      checkStep(ms);
      const target = current + ms;
      await settlePromises();
      for (let timer = takeNextDue(target); timer; timer = takeNextDue(target)) {
        current = Math.max(current, timer.dueAtEpochMs);
        timer.callback();
        await settlePromises();
      }
      current = target;
      await settlePromises();
    },
    set(epochMs) {
      current = epochMs;
    },
    pendingTimers: () => timers.length,
  };
}

/** Resolves after `delayMs` on `scheduler`, or rejects with the signal's reason when it aborts first. */
export function sleep(scheduler: Scheduler, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      cancel();
      reject(signal?.reason);
    };
    const cancel = scheduler.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION_PART = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h|d)/y;

/**
 * Parses a duration written like "250ms", "1.5s", "6m0s" (Go style), "1h30m" or "2d" into whole
 * milliseconds (rounded up, so a wait is never shortened). Returns null when the text is not a duration.
 */
export function parseDurationText(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  if (trimmed === '0') return 0;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  let consumed = 0;
  while (consumed < trimmed.length) {
    DURATION_PART.lastIndex = consumed;
    const match = DURATION_PART.exec(trimmed);
    if (!match) return null;
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    consumed = DURATION_PART.lastIndex;
  }
  if (!Number.isFinite(total)) return null;
  return Math.max(0, Math.ceil(total - 1e-9));
}

/** A duration in options: whole milliseconds as a number, or text such as "1s" or "1m30s". */
export type Duration = number | string;

/**
 * Turns a user-given duration into whole milliseconds, or throws an error naming `field`.
 * `allowZero` is for durations where 0 means "none" (a delay); windows and intervals must be positive.
 */
export function toMilliseconds(value: Duration, field: string, { allowZero = false } = {}): number {
  let ms: number | null;
  if (typeof value === 'number') ms = Number.isFinite(value) ? Math.ceil(value) : null;
  else if (typeof value === 'string') ms = parseDurationText(value);
  else ms = null;
  if (ms === null) {
    throw new InvalidOptionError(
      field,
      `expected a duration such as 500, "250ms", "1.5s" or "1m", got ${JSON.stringify(value)}`,
    );
  }
  if (ms < 0 || (!allowZero && ms === 0)) {
    throw new InvalidOptionError(
      field,
      `expected a ${allowZero ? 'non-negative' : 'positive'} duration, got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}
