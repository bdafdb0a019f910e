/**
 * Tracks whether a shared store (Redis) is answering, so that an outage is logged and counted once, callers fail
 * over at once instead of each waiting for a timeout, and the store is tried again by itself.
 *
 * While up, every call goes to the store. After a failure the store is down: calls skip it at once (their
 * `onStoreError` policy decides), so no caller waits on a dead connection, while a background probe (`probe`, e.g.
 * a PING) asks the store every `probeIntervalMs` — or at once when the connection reports it is ready again. The
 * first success, the probe's or a call's, brings it back up. Without a `probe`, one call per interval tries the
 * store instead.
 */
import { type Clock, systemClock } from '../time.js';
import { defaultStoreLogger, type StoreLogger } from './store-logger.js';

export interface OutageEvent {
  /** Which store: 'redis-limits', 'redis-budgets', ... */
  store: string;
  state: 'down' | 'up';
  atEpochMs: number;
  /** Outages so far, this one included. */
  outages: number;
  /** down: what failed. */
  error?: unknown;
  /** up: how long the store was down. */
  downForMs?: number;
}

export interface OutageStats {
  down: boolean;
  /** Times the store went down. */
  outages: number;
  /** Calls that failed on the store. */
  failures: number;
  /** Calls that skipped the store while it was down. */
  skipped: number;
  downSinceEpochMs: number | null;
  lastError: string | null;
}

export interface OutageMonitorOptions {
  store: string;
  clock?: Clock;
  /** While down, how often one call probes the store (default 1000 ms). */
  probeIntervalMs?: number;
  /** Where outages are logged (default: pino on stderr); false: not logged. */
  logger?: StoreLogger | false;
  onOutage?(event: OutageEvent): void;
  /** Asks the store whether it answers (resolves: yes), in the background while it is down. */
  probe?(): Promise<unknown>;
}

export interface OutageMonitor {
  /** Whether this call should go to the store (false: it is down and no probe is due). */
  shouldTry(): boolean;
  /** The connection is ready again: probe at once. */
  probeNow(): void;
  /** Stops probing (the store is closing). */
  stop(): void;
  succeeded(): void;
  failed(error: unknown): void;
  readonly down: boolean;
  stats(): OutageStats;
}

export function createOutageMonitor(options: OutageMonitorOptions): OutageMonitor {
  const clock = options.clock ?? systemClock;
  const probeIntervalMs = options.probeIntervalMs ?? 1000;
  // Resolved when first needed: a store that never has an outage never creates a logger.
  const logger = () => (options.logger === false ? undefined : (options.logger ?? defaultStoreLogger()));
  let down = false;
  let downSinceEpochMs = 0;
  let nextProbeAtEpochMs = 0;
  let outages = 0;
  let failures = 0;
  let skipped = 0;
  let lastError: unknown;
  let probeTimer: NodeJS.Timeout | undefined;
  let probing = false;
  let stopped = false;

  const notify = (event: OutageEvent) => {
    try {
      options.onOutage?.(event);
    } catch {
      // A listener's failure must not turn into a store failure.
    }
  };

  function runProbe(): void {
    const { probe } = options;
    if (probe === undefined || probing || !down || stopped) return;
    probing = true;
    probe().then(
      () => {
        probing = false;
        monitor.succeeded();
      },
      (error: unknown) => {
        probing = false;
        lastError = error;
      },
    );
  }

  const monitor: OutageMonitor = {
    shouldTry() {
      if (!down) return true;
      if (options.probe === undefined) {
        const now = clock.now();
        if (now >= nextProbeAtEpochMs) {
          nextProbeAtEpochMs = now + probeIntervalMs;
          return true;
        }
      }
      skipped++;
      return false;
    },
    probeNow() {
      nextProbeAtEpochMs = 0;
      runProbe();
    },
    stop() {
      stopped = true;
      if (probeTimer !== undefined) clearInterval(probeTimer);
      probeTimer = undefined;
    },
    succeeded() {
      if (!down) return;
      down = false;
      if (probeTimer !== undefined) clearInterval(probeTimer);
      probeTimer = undefined;
      const now = clock.now();
      const downForMs = now - downSinceEpochMs;
      logger()?.info({ store: options.store, downForMs, outages }, `${options.store}: the store answers again`);
      notify({ store: options.store, state: 'up', atEpochMs: now, outages, downForMs });
    },
    failed(error) {
      failures++;
      lastError = error;
      if (down) return;
      down = true;
      outages++;
      const now = clock.now();
      downSinceEpochMs = now;
      nextProbeAtEpochMs = now + probeIntervalMs;
      if (options.probe !== undefined && !stopped) {
        probeTimer = setInterval(runProbe, probeIntervalMs);
        probeTimer.unref();
      }
      logger()?.warn(
        { store: options.store, outages, error: describeError(error) },
        `${options.store}: the store does not answer; deciding with the onStoreError policy until it does`,
      );
      notify({ store: options.store, state: 'down', atEpochMs: now, outages, error });
    },
    get down() {
      return down;
    },
    stats: () => ({
      down,
      outages,
      failures,
      skipped,
      downSinceEpochMs: down ? downSinceEpochMs : null,
      lastError: lastError === undefined ? null : describeError(lastError),
    }),
  };
  return monitor;
}

/**
 * Whether a failure is the store's answer (an error reply: a bad key, a script error) rather than no answer (a
 * refused or lost connection, a timeout). Only the latter is an outage.
 */
export function isErrorReply(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
