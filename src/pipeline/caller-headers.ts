/**
 * The `x-sluice-*` request headers a caller may send (to the gateway, or through the library's dispatcher): they
 * steer the call and are never forwarded upstream.
 */
import type { CallHeaders, Cost } from './stage.js';

export interface CallerDirectives {
  priority: number;
  deadlineAtEpochMs: number | undefined;
  cost: Cost;
}

const PREFIX = 'x-sluice-';

function finiteNumber(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Reads `x-sluice-priority` (an integer, higher first), `x-sluice-deadline-ms` (how long the caller will wait, from
 * now) and `x-sluice-cost-tokens` / `x-sluice-cost-points`, then removes every `x-sluice-*` header. Values that do
 * not parse are ignored rather than failing the call; the gateway validates strictly before calling this.
 */
export function takeCallerHeaders(headers: CallHeaders, nowEpochMs: number): CallerDirectives {
  const priority = finiteNumber(headers['x-sluice-priority']);
  const deadlineMs = finiteNumber(headers['x-sluice-deadline-ms']);
  const tokens = finiteNumber(headers['x-sluice-cost-tokens']);
  const points = finiteNumber(headers['x-sluice-cost-points']);
  for (const name of Object.keys(headers)) if (name.startsWith(PREFIX)) delete headers[name];
  const cost: Cost = {};
  if (tokens !== undefined && tokens >= 0) cost.tokens = tokens;
  if (points !== undefined && points >= 0) cost.points = points;
  return {
    priority: priority === undefined ? 0 : Math.trunc(priority),
    deadlineAtEpochMs: deadlineMs === undefined || deadlineMs < 0 ? undefined : nowEpochMs + deadlineMs,
    cost,
  };
}
