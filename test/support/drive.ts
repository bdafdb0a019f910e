import type { ManualClock } from '../../src/time.js';

/**
 * Runs `work` to completion on a manual clock: lets real I/O (loopback HTTP) happen, then moves the clock on by
 * `stepMs`, until the work settles. Time-dependent logic sees only the manual clock, so outcomes do not depend on
 * how fast the machine is.
 */
export async function drive<T>(clock: ManualClock, work: Promise<T>, stepMs = 10, maxSteps = 100_000): Promise<T> {
  let settled = false;
  const watched = work.finally(() => {
    settled = true;
  });
  watched.catch(() => {});
  for (let step = 0; !settled && step < maxSteps; step++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (!settled) await clock.advanceAsync(stepMs);
  }
  return watched;
}
