import type { SimulatedProfile, SimulatedReply, SimulatorReport } from './types.js';

/** What the simulator counted since its last reset. The run spans the first to the last request. */
export interface Tally {
  accepted: number;
  rejected: number;
  startedAtEpochMs: number | null;
  lastAtEpochMs: number | null;
  byRoute: Map<string, { accepted: number; rejected: number }>;
}

export function emptyTally(): Tally {
  return { accepted: 0, rejected: 0, startedAtEpochMs: null, lastAtEpochMs: null, byRoute: new Map() };
}

export function countReply(tally: Tally, reply: SimulatedReply, nowEpochMs: number): void {
  if (reply.accepted) tally.accepted++;
  else tally.rejected++;
  tally.startedAtEpochMs ??= nowEpochMs;
  tally.lastAtEpochMs = Math.max(tally.lastAtEpochMs ?? nowEpochMs, nowEpochMs);
  if (reply.route === undefined) return;
  const route = tally.byRoute.get(reply.route) ?? { accepted: 0, rejected: 0 };
  if (reply.accepted) route.accepted++;
  else route.rejected++;
  tally.byRoute.set(reply.route, route);
}

/** The report: the counts, and the profile's capacity over the run (0 before any request). */
export function reportOf(profile: SimulatedProfile, tally: Tally): SimulatorReport {
  const total = tally.accepted + tally.rejected;
  const startedAtEpochMs = tally.startedAtEpochMs;
  const endedAtEpochMs = tally.lastAtEpochMs ?? startedAtEpochMs ?? 0;
  const breakdown = startedAtEpochMs === null ? { total: 0 } : profile.capacity(startedAtEpochMs, endedAtEpochMs);
  const report: SimulatorReport = {
    profile: profile.name,
    accepted: tally.accepted,
    rejected: tally.rejected,
    total,
    capacity: breakdown.total,
    utilization: breakdown.total > 0 ? tally.accepted / breakdown.total : 0,
    waste: total > 0 ? tally.rejected / total : 0,
    startedAtEpochMs,
    durationMs: startedAtEpochMs === null ? 0 : endedAtEpochMs - startedAtEpochMs,
  };
  if (tally.byRoute.size > 0) {
    report.byRoute = {};
    for (const [route, counts] of tally.byRoute) {
      report.byRoute[route] = { ...counts, capacity: breakdown.byRoute?.[route] ?? 0 };
    }
  }
  if (breakdown.details) report.details = breakdown.details;
  return report;
}
