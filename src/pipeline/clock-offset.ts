/**
 * How far the upstream's clock is from ours, estimated over many replies. One `Date` header is a poor witness: it
 * has whole seconds, and a reply read late (a busy event loop) looks like a skewed clock. The smallest
 * (local − Date) seen recently comes from the reply read soonest, so it is the best bound: when it lies within
 * `Date`'s own precision the clocks agree (offset 0, and the local clock's milliseconds are kept); otherwise the
 * offset is what that reply says. A low percentile rather than the minimum keeps one odd `Date` (a cache, a proxy
 * in between) from moving the estimate; until a few replies agree, each reply's own `Date` is used instead.
 */
import { parseHttpDate } from '../signals/values.js';

const SAMPLES = 32;
const ENOUGH_SAMPLES = 4;
/** Local minus Date within this span is what a second-granular Date and a quick reply look like with equal clocks. */
const AGREEMENT_LOW_MS = -250;
const AGREEMENT_HIGH_MS = 1250;

export interface ClockOffsetEstimate {
  /** Takes the `Date` header of a reply read at `localEpochMs`. */
  observe(dateHeader: string | string[] | undefined, localEpochMs: number): void;
  /** The server's clock minus ours, or undefined until a reply had a Date. */
  offsetMs(): number | undefined;
}

export function createClockOffsetEstimate(): ClockOffsetEstimate {
  const samples: number[] = [];
  let next = 0;
  return {
    observe(dateHeader, localEpochMs) {
      const date = parseHttpDate(Array.isArray(dateHeader) ? dateHeader[0] : dateHeader);
      if (date === null) return;
      const difference = localEpochMs - date;
      if (samples.length < SAMPLES) samples.push(difference);
      else samples[next] = difference;
      next = (next + 1) % SAMPLES;
    },
    offsetMs() {
      if (samples.length < ENOUGH_SAMPLES) return undefined;
      const low = [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 4)] as number;
      if (low >= AGREEMENT_LOW_MS && low <= AGREEMENT_HIGH_MS) return 0;
      // Date rounds down: the server's clock read at least `Date` when it answered, so we are at most this far ahead.
      return -low;
    },
  };
}
