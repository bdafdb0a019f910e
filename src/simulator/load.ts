import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidOptionError } from '../errors.js';

export interface LoadProgress {
  sent: number;
  inFlight: number;
  elapsedMs: number;
  byStatus: Record<string, number>;
  errors: number;
}

export interface LoadOptions {
  /** Sends call number `index` (0, 1, 2...) and resolves with its status; a rejection counts as an error. */
  send: (index: number) => Promise<{ status: number }>;
  /** Most calls in flight at once (closed loop: this many callers, each sending as soon as the last ended). */
  concurrency: number;
  /**
   * Closed loop: no call starts after this. Open loop: every arrival scheduled before this is sent, even when it
   * has to wait past the end for a free slot (dropping it would hide an overloaded upstream). The run ends when
   * the calls in flight have ended.
   */
  durationMs: number;
  /**
   * Open loop: calls arrive at this rate whatever the responses (up to `concurrency` in flight; an arrival
   * waits for a free slot). Latency is then measured from the scheduled arrival, so a slow upstream shows in
   * it instead of silently lowering the rate (coordinated omission).
   */
  ratePerSecond?: number;
  /** Called about every `progressIntervalMs` (default 1000) while the run lasts. */
  onProgress?: (progress: LoadProgress) => void;
  progressIntervalMs?: number;
  /** Stops starting calls when aborted. */
  signal?: AbortSignal;
}

export interface LoadReport {
  /** Calls started (each ended with a status or an error). */
  sent: number;
  byStatus: Record<string, number>;
  errors: number;
  /** Fractional milliseconds: on loopback a call takes well under one. */
  latencyMs: { p50: number; p99: number };
  /** From the start to the end of the last call. */
  durationMs: number;
}

/** The nearest-rank percentile of sorted values (0 when there are none). */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(fraction * sorted.length)));
  return sorted[rank - 1] as number;
}

function checkLoadOptions(options: LoadOptions): void {
  if (typeof options?.send !== 'function')
    throw new InvalidOptionError('send', 'expected a function (index) => Promise<{ status }>');
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1)
    throw new InvalidOptionError(
      'concurrency',
      `expected a whole number ≥ 1, got ${JSON.stringify(options.concurrency)}`,
    );
  if (typeof options.durationMs !== 'number' || !Number.isFinite(options.durationMs) || options.durationMs < 0)
    throw new InvalidOptionError(
      'durationMs',
      `expected non-negative milliseconds, got ${JSON.stringify(options.durationMs)}`,
    );
  const rate = options.ratePerSecond;
  if (rate !== undefined && (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0))
    throw new InvalidOptionError('ratePerSecond', `expected a positive number, got ${JSON.stringify(rate)}`);
}

/**
 * A load generator: N concurrent callers for a duration (closed loop), or arrivals at a fixed rate (open loop),
 * counting statuses, errors and latency. Real time by nature: it belongs in benchmarks and demos.
 */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  checkLoadOptions(options);
  const { send, concurrency, durationMs, ratePerSecond, signal } = options;
  const byStatus: Record<string, number> = {};
  const latencies: number[] = [];
  let sent = 0;
  let errors = 0;
  let inFlight = 0;
  const startedAt = performance.now();
  const endAt = startedAt + durationMs;
  const open = () => performance.now() < endAt && !signal?.aborted;

  async function call(index: number, measuredFrom: number): Promise<void> {
    sent++;
    inFlight++;
    try {
      const { status } = await send(index);
      byStatus[status] = (byStatus[status] ?? 0) + 1;
    } catch {
      errors++;
    } finally {
      inFlight--;
      latencies.push(performance.now() - measuredFrom);
    }
  }

  const progress = options.onProgress
    ? setInterval(
        () =>
          options.onProgress?.({
            sent,
            inFlight,
            elapsedMs: performance.now() - startedAt,
            byStatus: { ...byStatus },
            errors,
          }),
        options.progressIntervalMs ?? 1000,
      )
    : undefined;

  try {
    if (ratePerSecond === undefined) {
      let next = 0;
      const caller = async () => {
        while (open()) {
          const started = performance.now();
          await call(next++, started);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, caller));
    } else {
      const intervalMs = 1000 / ratePerSecond;
      const running = new Set<Promise<void>>();
      for (let index = 0; ; index++) {
        const scheduledAt = startedAt + index * intervalMs;
        if (scheduledAt >= endAt) break;
        const waitMs = scheduledAt - performance.now();
        if (waitMs > 0) await sleep(waitMs);
        while (running.size >= concurrency) await Promise.race(running);
        if (signal?.aborted) break;
        const pending: Promise<void> = call(index, scheduledAt).then(() => {
          running.delete(pending);
        });
        running.add(pending);
      }
      await Promise.all(running);
    }
  } finally {
    if (progress) clearInterval(progress);
  }

  latencies.sort((a, b) => a - b);
  return {
    sent,
    byStatus,
    errors,
    latencyMs: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) },
    durationMs: Math.round(performance.now() - startedAt),
  };
}
