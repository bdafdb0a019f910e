/**
 * What Sluice knows of each upstream's limits right now, as plain JSON for the admin API, the dashboard and the
 * metrics' gauges. Pure: a function of the pipeline's snapshot, its queue and breaker, and `now`.
 */
import type { BudgetState, LimitEstimate, LimitModel } from '../budget/types.js';
import type { QueueStats } from '../pipeline/queue.js';
import type { LimitUnit } from '../signals/types.js';
import { looksLikeCredential, REDACTED } from './redact.js';

/** What a view is built from: the read-only side of a pipeline. */
export interface ObservedPipeline {
  readonly upstream: string;
  budgets(): Promise<Record<string, BudgetState>>;
  queue(): QueueStats;
  breakerState(): string;
}

export interface LimitView {
  name: string;
  unit: LimitUnit;
  model: LimitModel;
  source: 'configured' | 'learned';
  /** Capacity per window, bucket size or slots; null when the provider never said. */
  limit: number | null;
  /** Units that may still be spent now, reservations of calls in flight taken off (may be negative: oversold). */
  available: number;
  /** `available` as whole units, never below 0. */
  remaining: number;
  /** When the whole limit comes back (windows), or null when unknown. */
  resetAtEpochMs: number | null;
  resetAfterMs: number | null;
  windowMs: number | null;
  /** Buckets: units flowing back per second. */
  refillPerSecond: number | null;
}

export interface BudgetView {
  /**
   * Whose credential the budget belongs to: a tenant's name, `default` (the upstream's default credential), `*` for
   * limits shared by every credential (`scope: upstream`), null for calls without a tenant or credential.
   */
  tenant: string | null;
  /** `credential` for the credential's budget, else the narrower one: `resource:core`, `bucket:<id>`, `route:<name>`. */
  budget: string;
  limits: LimitView[];
  /** Units reserved by calls sent and not yet answered. */
  inFlight: Partial<Record<LimitUnit, number>>;
  /** Nothing is sent on this budget before this time (a Retry-After, an exhausted limit); null when not cooling down. */
  coolDownUntilEpochMs: number | null;
  coolDownAfterMs: number;
  /** The provider said the quota is spent without saying until when: calls fail at once until this time. */
  quotaExhaustedUntilEpochMs: number | null;
  /** Header-less upstreams: the sending rate discovered so far. */
  discoveredRatePerSecond: number | null;
  /** Calls waiting in this budget's queue lane. */
  queueDepth: number;
}

export interface UpstreamView {
  upstream: string;
  breaker: string;
  queue: { depth: number; asking: number };
  budgets: BudgetView[];
  /** Set when the budgets could not be read (a shared store that does not answer). */
  error?: string;
}

export interface BudgetsView {
  generatedAtEpochMs: number;
  upstreams: UpstreamView[];
}

/** Tenant part of a budget key for calls without a tenant (see src/pipeline/budget-keys.ts). */
const NO_TENANT = '-';

/**
 * Splits a budget key (`upstream|tenant[|narrow]`) into its tenant and budget; null when the key is another
 * upstream's (a shared store holds every upstream's budgets).
 */
export function parseBudgetKey(upstream: string, key: string): { tenant: string | null; budget: string } | null {
  const prefix = `${upstream}|`;
  if (!key.startsWith(prefix)) return null;
  const rest = key.slice(prefix.length);
  const bar = rest.indexOf('|');
  const tenant = bar === -1 ? rest : rest.slice(0, bar);
  return {
    tenant: tenant === NO_TENANT ? null : tenant,
    budget: bar === -1 ? 'credential' : hideCredentials(rest.slice(bar + 1)),
  };
}

/**
 * Discord keeps a route's bucket apart per major parameter, and a webhook's major parameter is its token: the
 * budget's name may carry it. Parts that look like credentials are hidden.
 */
function hideCredentials(budget: string): string {
  return budget
    .split(/([:/])/)
    .map((part) => (looksLikeCredential(part) ? REDACTED : part))
    .join('');
}

/**
 * The budget's family without the major parameter (`bucket:<id>:<channel>` -> `bucket:<id>`): bounded by the
 * provider's routes, where the full name grows with every channel or guild called. Metrics label by this.
 */
export function budgetFamily(budget: string): string {
  if (!budget.startsWith('bucket:')) return budget;
  const end = budget.indexOf(':', 'bucket:'.length);
  return end === -1 ? budget : budget.slice(0, end);
}

const round = (value: number) => Math.round(value * 1000) / 1000;

/**
 * The estimate brought to `now` for display, as the budget core would on its next decision: a window past its reset
 * is whole again, a bucket has its refill, a sliding window has the units due back. Nothing is mutated.
 */
export function limitViewAt(estimate: LimitEstimate, state: BudgetState, nowEpochMs: number): LimitView {
  let available = estimate.available;
  let resetAtEpochMs = estimate.resetAtEpochMs;
  const inFlight = state.inFlight[estimate.unit] ?? 0;
  const ceiling = estimate.limit === null ? Number.POSITIVE_INFINITY : estimate.limit - inFlight;
  if (estimate.model === 'window' && resetAtEpochMs !== null && nowEpochMs >= resetAtEpochMs + estimate.resetSlackMs) {
    available = estimate.limit === null ? Math.max(available, 1) : ceiling;
    // Windows aligned to a length roll over; windows that start with the next call have no reset until it is sent.
    resetAtEpochMs =
      estimate.windowMs !== null && estimate.windowBounds === null
        ? resetAtEpochMs + (Math.floor((nowEpochMs - resetAtEpochMs) / estimate.windowMs) + 1) * estimate.windowMs
        : null;
  } else if (estimate.model === 'sliding') {
    const due = estimate.returnsAtEpochMs.filter((at) => at <= nowEpochMs).length;
    if (due > 0) available = Math.min(ceiling, available + due);
  } else if (estimate.model === 'bucket' && estimate.refillPerMs !== null) {
    const elapsed = Math.max(0, nowEpochMs - estimate.updatedAtEpochMs);
    available = Math.min(ceiling, available + estimate.refillPerMs * elapsed);
  }
  return {
    name: estimate.name,
    unit: estimate.unit,
    model: estimate.model,
    source: estimate.source,
    limit: estimate.limit,
    available: round(available),
    remaining: Math.max(0, Math.floor(available)),
    resetAtEpochMs,
    resetAfterMs: resetAtEpochMs === null ? null : Math.max(0, resetAtEpochMs - nowEpochMs),
    windowMs: estimate.windowMs,
    refillPerSecond: estimate.refillPerMs === null ? null : round(estimate.refillPerMs * 1000),
  };
}

export function budgetViewAt(
  identity: { tenant: string | null; budget: string },
  state: BudgetState,
  queueDepth: number,
  nowEpochMs: number,
): BudgetView {
  const coolingDown = state.coolDownUntilEpochMs > nowEpochMs;
  return {
    tenant: identity.tenant,
    budget: identity.budget,
    limits: state.estimates.map((estimate) => limitViewAt(estimate, state, nowEpochMs)),
    inFlight: { ...state.inFlight },
    coolDownUntilEpochMs: coolingDown ? state.coolDownUntilEpochMs : null,
    coolDownAfterMs: coolingDown ? state.coolDownUntilEpochMs - nowEpochMs : 0,
    quotaExhaustedUntilEpochMs: state.quotaExhaustedUntilEpochMs > nowEpochMs ? state.quotaExhaustedUntilEpochMs : null,
    discoveredRatePerSecond: state.discovery === null ? null : round(state.discovery.ratePerSecond),
    queueDepth,
  };
}

function compareBudgets(left: BudgetView, right: BudgetView): number {
  const tenants = (left.tenant ?? '').localeCompare(right.tenant ?? '');
  if (tenants !== 0) return tenants;
  if (left.budget === 'credential' || right.budget === 'credential') {
    return (left.budget === 'credential' ? 0 : 1) - (right.budget === 'credential' ? 0 : 1);
  }
  return left.budget.localeCompare(right.budget);
}

/** One upstream's view from what its pipeline reported. */
export function upstreamViewOf(
  upstream: string,
  snapshot: Record<string, BudgetState>,
  queue: QueueStats,
  breaker: string,
  nowEpochMs: number,
): UpstreamView {
  const laneDepths = new Map(queue.lanes.map((lane) => [lane.lane, lane.depth]));
  const budgets: BudgetView[] = [];
  for (const [key, state] of Object.entries(snapshot)) {
    const identity = parseBudgetKey(upstream, key);
    if (identity === null) continue;
    budgets.push(budgetViewAt(identity, state, laneDepths.get(key) ?? 0, nowEpochMs));
  }
  budgets.sort(compareBudgets);
  return { upstream, breaker, queue: { depth: queue.queued, asking: queue.asking }, budgets };
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Reads one pipeline; a store that fails gives a view with `error` set instead of failing the whole page. */
export async function viewPipeline(name: string, pipeline: ObservedPipeline, now: () => number): Promise<UpstreamView> {
  let queue: QueueStats = { queued: 0, asking: 0, lanes: [] };
  let breaker = 'unknown';
  try {
    queue = pipeline.queue();
    breaker = String(pipeline.breakerState());
    const snapshot = await pipeline.budgets();
    const view = upstreamViewOf(pipeline.upstream, snapshot, queue, breaker, now());
    view.upstream = name;
    return view;
  } catch (error) {
    return {
      upstream: name,
      breaker,
      queue: { depth: queue.queued, asking: queue.asking },
      budgets: [],
      error: `the budgets of ${name} could not be read: ${messageOf(error)}`,
    };
  }
}

export async function viewBudgets(
  pipelines: ReadonlyMap<string, ObservedPipeline>,
  now: () => number,
): Promise<BudgetsView> {
  const upstreams = await Promise.all([...pipelines].map(([name, pipeline]) => viewPipeline(name, pipeline, now)));
  return { generatedAtEpochMs: now(), upstreams };
}
