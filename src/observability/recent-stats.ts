/**
 * The last minute of one upstream's traffic, for the dashboard: calls per second, rejections, and latency
 * percentiles. Sixty one-second slots in a ring; each slot keeps counts and a log-scale latency histogram (bins 10%
 * apart, so a percentile is within 5% of the truth), so memory is fixed whatever the traffic. Pure: every function
 * takes `now`; the metrics module feeds it events.
 */

export const RECENT_WINDOW_MS = 60_000;
const SLOT_MS = 1000;
const SLOTS = RECENT_WINDOW_MS / SLOT_MS;
const BIN_RATIO = 1.1;
const LOG_RATIO = Math.log(BIN_RATIO);
/** Ten minutes: longer durations share the last bin. */
const MAX_TRACKED_MS = 600_000;
const BINS = 2 + Math.ceil(Math.log(MAX_TRACKED_MS) / LOG_RATIO);

interface Slot {
  /** The second (epoch ms / 1000, floored) the slot holds, or -1 when unused. */
  second: number;
  calls: number;
  failedCalls: number;
  localRejections: number;
  attempts: number;
  upstreamRejections: number;
  retries: number;
  callLatency: Uint32Array;
  attemptLatency: Uint32Array;
}

export interface RecentTraffic {
  readonly slots: Slot[];
  readonly startedAtEpochMs: number;
}

export interface LatencySummary {
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface RecentStats {
  /** Over the last minute, or since the upstream was first watched when that is shorter. */
  windowMs: number;
  calls: number;
  callsPerSecond: number;
  /** Calls that failed (Sluice answered itself, or the exchange with the upstream failed). */
  failedCalls: number;
  /** Calls Sluice answered itself (deadline, full queue, open circuit...). */
  localRejections: number;
  /** Upstream attempts, and the rate-limit rejections among them (waste). */
  attempts: number;
  upstreamRejections: number;
  retries: number;
  /** Calls as their callers saw them, waits included. */
  callLatency: LatencySummary;
  /** Upstream attempts alone. */
  upstreamLatency: LatencySummary;
}

function emptySlot(): Slot {
  return {
    second: -1,
    calls: 0,
    failedCalls: 0,
    localRejections: 0,
    attempts: 0,
    upstreamRejections: 0,
    retries: 0,
    callLatency: new Uint32Array(BINS),
    attemptLatency: new Uint32Array(BINS),
  };
}

export function createRecentTraffic(nowEpochMs: number): RecentTraffic {
  return { slots: Array.from({ length: SLOTS }, emptySlot), startedAtEpochMs: nowEpochMs };
}

/** Bin 0 holds 0 ms; bin k ≥ 1 holds [1.1^(k-1), 1.1^k). */
export function latencyBin(durationMs: number): number {
  if (!(durationMs >= 1)) return 0;
  if (durationMs >= MAX_TRACKED_MS) return BINS - 1;
  return Math.min(BINS - 1, 1 + Math.floor(Math.log(durationMs) / LOG_RATIO));
}

/** The value a bin stands for: the geometric middle of its range, in whole milliseconds (the last: its floor). */
export function binValueMs(bin: number): number {
  if (bin >= BINS - 1) return MAX_TRACKED_MS;
  return bin === 0 ? 0 : Math.round(BIN_RATIO ** (bin - 0.5));
}

function slotAt(traffic: RecentTraffic, nowEpochMs: number): Slot {
  const second = Math.floor(nowEpochMs / SLOT_MS);
  const slot = traffic.slots[((second % SLOTS) + SLOTS) % SLOTS] as Slot;
  if (slot.second !== second) {
    slot.second = second;
    slot.calls = 0;
    slot.failedCalls = 0;
    slot.localRejections = 0;
    slot.attempts = 0;
    slot.upstreamRejections = 0;
    slot.retries = 0;
    slot.callLatency.fill(0);
    slot.attemptLatency.fill(0);
  }
  return slot;
}

export function recordCall(
  traffic: RecentTraffic,
  nowEpochMs: number,
  call: { durationMs: number; failed: boolean; rejectedLocally: boolean },
): void {
  const slot = slotAt(traffic, nowEpochMs);
  slot.calls++;
  if (call.failed) slot.failedCalls++;
  if (call.rejectedLocally) slot.localRejections++;
  const bin = latencyBin(call.durationMs);
  slot.callLatency[bin] = (slot.callLatency[bin] as number) + 1;
}

export function recordAttempt(
  traffic: RecentTraffic,
  nowEpochMs: number,
  attempt: { durationMs: number; rejected: boolean; retry: boolean },
): void {
  const slot = slotAt(traffic, nowEpochMs);
  slot.attempts++;
  if (attempt.rejected) slot.upstreamRejections++;
  if (attempt.retry) slot.retries++;
  const bin = latencyBin(attempt.durationMs);
  slot.attemptLatency[bin] = (slot.attemptLatency[bin] as number) + 1;
}

function percentile(histogram: Uint32Array, total: number, quantile: number): number | null {
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(quantile * total));
  let seen = 0;
  for (let bin = 0; bin < histogram.length; bin++) {
    seen += histogram[bin] as number;
    if (seen >= rank) return binValueMs(bin);
  }
  return binValueMs(histogram.length - 1);
}

function summarizeLatency(histogram: Uint32Array): LatencySummary {
  let total = 0;
  for (const count of histogram) total += count;
  return { p50Ms: percentile(histogram, total, 0.5), p99Ms: percentile(histogram, total, 0.99) };
}

/** The slots of the last minute (the current second included), summed. */
export function summarizeRecentTraffic(traffic: RecentTraffic, nowEpochMs: number): RecentStats {
  const currentSecond = Math.floor(nowEpochMs / SLOT_MS);
  const totals = emptySlot();
  for (const slot of traffic.slots) {
    if (slot.second < 0 || slot.second > currentSecond || slot.second <= currentSecond - SLOTS) continue;
    totals.calls += slot.calls;
    totals.failedCalls += slot.failedCalls;
    totals.localRejections += slot.localRejections;
    totals.attempts += slot.attempts;
    totals.upstreamRejections += slot.upstreamRejections;
    totals.retries += slot.retries;
    for (let bin = 0; bin < BINS; bin++) {
      totals.callLatency[bin] = (totals.callLatency[bin] as number) + (slot.callLatency[bin] as number);
      totals.attemptLatency[bin] = (totals.attemptLatency[bin] as number) + (slot.attemptLatency[bin] as number);
    }
  }
  // A rate over the whole minute would read low for the first minute after start: use the time actually covered.
  const windowMs = Math.min(RECENT_WINDOW_MS, Math.max(SLOT_MS, nowEpochMs - traffic.startedAtEpochMs));
  return {
    windowMs,
    calls: totals.calls,
    callsPerSecond: Math.round((totals.calls / (windowMs / 1000)) * 100) / 100,
    failedCalls: totals.failedCalls,
    localRejections: totals.localRejections,
    attempts: totals.attempts,
    upstreamRejections: totals.upstreamRejections,
    retries: totals.retries,
    callLatency: summarizeLatency(totals.callLatency),
    upstreamLatency: summarizeLatency(totals.attemptLatency),
  };
}
