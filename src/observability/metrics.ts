/**
 * Prometheus metrics of every watched pipeline. Counters and histograms follow the pipeline's events (one listener
 * per bus, a few label lookups per event); gauges of budgets, queues and breakers are read from the pipelines when
 * Prometheus scrapes, so they cost nothing between scrapes. The last minute of traffic is kept too, for the
 * dashboard's `/stats`.
 */
import { Gauge, Registry } from 'prom-client';

import { InvalidOptionError } from '../errors.js';
import type { CallEvent, CallEventListener, EventBus } from '../pipeline/events.js';
import { type Clock, systemClock } from '../time.js';
import { budgetFamily, type ObservedPipeline, type UpstreamView, viewPipeline } from './budget-view.js';
import { createBusSubscriptions } from './bus-subscriptions.js';
import { createTenantLabeler, statusLabel, type TenantLabelOptions } from './labels.js';
import {
  createRecentTraffic,
  RECENT_WINDOW_MS,
  type RecentStats,
  type RecentTraffic,
  recordAttempt,
  recordCall,
  summarizeRecentTraffic,
} from './recent-stats.js';
import {
  type AnyRegistry,
  addCounterSeries,
  addHistogramSeries,
  type CounterTally,
  createCounterTally,
  createHistogramTally,
  type HistogramTally,
  observeMilliseconds,
  registerCounter,
  registerHistogram,
} from './tally.js';

export type { AnyRegistry };

export interface MetricsOptions extends TenantLabelOptions {
  /** Where the metrics are registered. Default: a new registry (add process metrics with prom-client's own helpers). */
  registry?: AnyRegistry;
  /** Times the last minute of traffic for `/stats`. Default the system clock. */
  clock?: Clock;
}

/** A pipeline as the metrics see it: its events, and the read-only state gauges are collected from. */
export interface WatchedPipeline extends ObservedPipeline {
  readonly events: EventBus;
}

export interface WatchOptions {
  /** The queue's `maxDepth` per lane, exported as `sluice_queue_max_depth` so that alerts can compare against it. */
  maxQueueDepth?: number;
}

export interface UpstreamStats extends RecentStats {
  upstream: string;
}

export interface StatsView {
  generatedAtEpochMs: number;
  windowMs: number;
  upstreams: UpstreamStats[];
}

export interface Metrics {
  readonly registry: AnyRegistry;
  /** Counts the pipeline's calls and attempts and collects its gauges on scrape; returns the function that stops. */
  watch(pipeline: WatchedPipeline, options?: WatchOptions): () => void;
  /** The event listener alone, for a bus shared by several pipelines (gauges then need `watch`). */
  readonly listener: CallEventListener;
  /** The last minute per upstream: calls per second, failures, rejections, latency percentiles. */
  stats(): StatsView;
  /** The Prometheus text exposition of the registry. */
  text(): Promise<string>;
}

/** Seconds; calls include waiting for budget, so the buckets reach a minute. */
const CALL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const ATTEMPT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const WAIT_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const BREAKER_STATES = ['closed', 'open', 'half-open', 'disabled'] as const;
const BUDGET_LABELS = ['upstream', 'tenant', 'budget', 'limit', 'unit'] as const;

interface Watched {
  readonly pipeline: WatchedPipeline;
  readonly maxQueueDepth: number | undefined;
  readonly unsubscribe: () => void;
}

interface Tallies {
  readonly calls: CounterTally;
  readonly attempts: CounterTally;
  readonly rejections: CounterTally;
  readonly retries: CounterTally;
  readonly callDuration: HistogramTally;
  readonly attemptDuration: HistogramTally;
  readonly wait: HistogramTally;
}

function createTallies(): Tallies {
  return {
    calls: createCounterTally(),
    attempts: createCounterTally(),
    rejections: createCounterTally(),
    retries: createCounterTally(),
    callDuration: createHistogramTally(CALL_BUCKETS),
    attemptDuration: createHistogramTally(ATTEMPT_BUCKETS),
    wait: createHistogramTally(WAIT_BUCKETS),
  };
}

/** Counters and histograms follow events into tallies; the registry reads the tallies when scraped. */
function registerTallies(registry: AnyRegistry, tallies: Tallies): void {
  registerCounter(
    registry,
    {
      name: 'sluice_calls_total',
      help: 'Calls as their callers saw them, by final status, outcome (ok, rejected-locally, error) and failure reason.',
      labelNames: ['upstream', 'tenant', 'status', 'outcome', 'reason'],
    },
    tallies.calls,
  );
  registerCounter(
    registry,
    {
      name: 'sluice_attempts_total',
      help: 'Attempts sent to the upstream, by status and outcome.',
      labelNames: ['upstream', 'status', 'outcome', 'reason'],
    },
    tallies.attempts,
  );
  registerCounter(
    registry,
    {
      name: 'sluice_rejections_total',
      help: 'Rejected calls: by="upstream" for the upstream’s rate-limit rejections (waste), by="sluice" for calls Sluice answered itself.',
      labelNames: ['upstream', 'by', 'reason'],
    },
    tallies.rejections,
  );
  registerCounter(
    registry,
    {
      name: 'sluice_retries_total',
      help: 'Attempts beyond the first of a call that were sent to the upstream.',
      labelNames: ['upstream'],
    },
    tallies.retries,
  );
  registerHistogram(
    registry,
    {
      name: 'sluice_call_duration_seconds',
      help: 'Calls from entering Sluice to the reply’s headers (or failure), waits included.',
      labelNames: ['upstream', 'outcome'],
    },
    tallies.callDuration,
  );
  registerHistogram(
    registry,
    {
      name: 'sluice_upstream_duration_seconds',
      help: 'Upstream attempts from sending to the reply’s headers (or failure).',
      labelNames: ['upstream'],
    },
    tallies.attemptDuration,
  );
  registerHistogram(
    registry,
    {
      name: 'sluice_wait_seconds',
      help: 'Time a call waited in the queue and the pacer for budget, over all its attempts.',
      labelNames: ['upstream'],
    },
    tallies.wait,
  );
}

/** Gauges are read from the pipelines on scrape; `collect` runs before any of them is read and sets them all. */
function createGauges(registry: AnyRegistry, collect: () => Promise<void>) {
  const registers = [registry];
  return {
    budgetRemaining: new Gauge({
      name: 'sluice_budget_remaining',
      help: 'Units a budget may still spend now (the most depleted of a route bucket’s budgets).',
      labelNames: BUDGET_LABELS,
      registers,
      collect,
    }),
    budgetLimit: new Gauge({
      name: 'sluice_budget_limit',
      help: 'A budget’s capacity per window, bucket size or slots, when known.',
      labelNames: BUDGET_LABELS,
      registers,
      collect,
    }),
    budgetReset: new Gauge({
      name: 'sluice_budget_reset_seconds',
      help: 'Seconds until a window’s limit comes back whole, when known.',
      labelNames: BUDGET_LABELS,
      registers,
      collect,
    }),
    budgetInFlight: new Gauge({
      name: 'sluice_budget_in_flight',
      help: 'Units reserved by calls sent and not yet answered.',
      labelNames: ['upstream', 'tenant', 'budget', 'unit'],
      registers,
      collect,
    }),
    budgetCoolDown: new Gauge({
      name: 'sluice_budget_cool_down_seconds',
      help: 'Seconds before a budget sends again after a rate-limit rejection or an exhausted limit (0: not cooling down).',
      labelNames: ['upstream', 'tenant', 'budget'],
      registers,
      collect,
    }),
    budgetsReadable: new Gauge({
      name: 'sluice_budget_store_up',
      help: '1 when the upstream’s budgets could be read at the last scrape, 0 when their store did not answer.',
      labelNames: ['upstream'],
      registers,
      collect,
    }),
    queueDepth: new Gauge({
      name: 'sluice_queue_depth',
      help: 'Calls waiting for budget, over every lane of the upstream.',
      labelNames: ['upstream'],
      registers,
      collect,
    }),
    queueDeepestLane: new Gauge({
      name: 'sluice_queue_deepest_lane',
      help: 'Calls waiting in the upstream’s fullest lane (each budget has its own lane, bounded by maxDepth).',
      labelNames: ['upstream'],
      registers,
      collect,
    }),
    queueMaxDepth: new Gauge({
      name: 'sluice_queue_max_depth',
      help: 'The most calls one lane may hold (queue.maxDepth), when the pipeline was watched with it.',
      labelNames: ['upstream'],
      registers,
      collect,
    }),
    breakerState: new Gauge({
      name: 'sluice_breaker_state',
      help: 'The circuit breaker’s state: 1 for the current one of closed, open, half-open, disabled.',
      labelNames: ['upstream', 'state'],
      registers,
      collect,
    }),
  };
}

type Instruments = ReturnType<typeof createGauges>;

interface Gathered {
  readonly view: UpstreamView;
  readonly watched: Watched;
  readonly deepestLane: number;
}

async function gatherPipeline(entry: Watched, clock: Clock): Promise<Gathered> {
  const view = await viewPipeline(entry.pipeline.upstream, entry.pipeline, () => clock.now());
  let deepestLane = 0;
  try {
    for (const lane of entry.pipeline.queue().lanes) deepestLane = Math.max(deepestLane, lane.depth);
  } catch {
    // The view already says the pipeline could not be read.
  }
  return { view, watched: entry, deepestLane };
}

function registerInstruments(registry: AnyRegistry, tallies: Tallies, collect: () => Promise<void>): Instruments {
  try {
    registerTallies(registry, tallies);
    return createGauges(registry, collect);
  } catch (error) {
    throw new InvalidOptionError(
      'registry',
      `already holds Sluice metrics (${(error as Error).message}); use one createMetrics per registry`,
    );
  }
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', 'expected { registry?, clock?, tenants?, maxTenants? }');
  }
  if (options.registry !== undefined && !(options.registry instanceof Registry)) {
    throw new InvalidOptionError('registry', 'expected a prom-client Registry');
  }
  const registry: AnyRegistry = options.registry ?? new Registry();
  const clock = options.clock ?? systemClock;
  const tenantLabel = createTenantLabeler(options);
  const watched = new Map<WatchedPipeline, Watched>();
  const traffic = new Map<string, RecentTraffic>();

  // Every gauge collects on scrape, and prom-client asks them all at once: one read of the pipelines sets them all,
  // and each gauge waits for it before prom-client reads its values.
  let refreshing: Promise<void> | null = null;
  const refresh = async (): Promise<void> => {
    const views = await Promise.all([...watched.values()].map((entry) => gatherPipeline(entry, clock)));
    setBudgetGauges(instruments, views, tenantLabel);
    setPipelineGauges(instruments, views);
  };
  const refreshed = (): Promise<void> => {
    if (!refreshing) {
      refreshing = refresh().finally(() => {
        refreshing = null;
      });
    }
    return refreshing;
  };
  const tallies = createTallies();
  const instruments = registerInstruments(registry, tallies, refreshed);

  const trafficOf = (upstream: string): RecentTraffic => {
    let recent = traffic.get(upstream);
    if (!recent) {
      recent = createRecentTraffic(clock.now());
      traffic.set(upstream, recent);
    }
    return recent;
  };

  // The hot path: a key per series, a Map lookup, a few additions (see tally.ts). Labels are built on a miss only.
  const onCall = (event: CallEvent) => {
    const upstream = event.upstream;
    const tenant = tenantLabel(event.tenant);
    const status = statusLabel(event.status);
    const outcome = event.outcome;
    const reason = event.reason ?? '';
    const callKey = `${upstream}\n${tenant}\n${status}\n${outcome}\n${reason}`;
    const calls =
      tallies.calls.series.get(callKey) ??
      addCounterSeries(tallies.calls, callKey, { upstream, tenant, status, outcome, reason });
    calls.value++;
    const durationKey = `${upstream}\n${outcome}`;
    const duration =
      tallies.callDuration.series.get(durationKey) ??
      addHistogramSeries(tallies.callDuration, durationKey, { upstream, outcome });
    observeMilliseconds(tallies.callDuration, duration, event.durationMs);
    const wait = tallies.wait.series.get(upstream) ?? addHistogramSeries(tallies.wait, upstream, { upstream });
    observeMilliseconds(tallies.wait, wait, event.waitedMs);
    const rejectedLocally = outcome === 'rejected-locally';
    if (rejectedLocally) {
      const rejectionKey = `${upstream}\nsluice\n${reason}`;
      const rejections =
        tallies.rejections.series.get(rejectionKey) ??
        addCounterSeries(tallies.rejections, rejectionKey, { upstream, by: 'sluice', reason });
      rejections.value++;
    }
    recordCall(trafficOf(upstream), clock.now(), {
      durationMs: event.durationMs,
      failed: outcome !== 'ok',
      rejectedLocally,
    });
  };

  const onAttempt = (event: CallEvent) => {
    const upstream = event.upstream;
    const status = statusLabel(event.status);
    const outcome = event.outcome;
    const reason = event.reason ?? '';
    const attemptKey = `${upstream}\n${status}\n${outcome}\n${reason}`;
    const attempts =
      tallies.attempts.series.get(attemptKey) ??
      addCounterSeries(tallies.attempts, attemptKey, { upstream, status, outcome, reason });
    attempts.value++;
    const duration =
      tallies.attemptDuration.series.get(upstream) ??
      addHistogramSeries(tallies.attemptDuration, upstream, { upstream });
    observeMilliseconds(tallies.attemptDuration, duration, event.durationMs);
    // Without a parsed signal, a 429 is the one status every provider means as "rate limited".
    const rejected = event.signal ? event.signal.limited : event.status === 429;
    if (rejected) {
      const rejectionKey = `${upstream}\nupstream\nrate-limited`;
      const rejections =
        tallies.rejections.series.get(rejectionKey) ??
        addCounterSeries(tallies.rejections, rejectionKey, { upstream, by: 'upstream', reason: 'rate-limited' });
      rejections.value++;
    }
    const retry = event.attempts > 1;
    if (retry) {
      const retries = tallies.retries.series.get(upstream) ?? addCounterSeries(tallies.retries, upstream, { upstream });
      retries.value++;
    }
    recordAttempt(trafficOf(upstream), clock.now(), { durationMs: event.durationMs, rejected, retry });
  };

  const listener: CallEventListener = (event) => {
    if (event.kind === 'attempt') onAttempt(event);
    else onCall(event);
  };
  const subscriptions = createBusSubscriptions(listener);

  return {
    registry,
    listener,
    watch(pipeline, watchOptions = {}) {
      if (typeof pipeline?.events?.subscribe !== 'function' || typeof pipeline.budgets !== 'function') {
        throw new InvalidOptionError('pipeline', 'expected a pipeline (events, budgets(), queue(), breakerState())');
      }
      const existing = watched.get(pipeline);
      if (existing) return existing.unsubscribe;
      for (const other of watched.keys()) {
        if (other.upstream === pipeline.upstream) {
          throw new InvalidOptionError(
            'pipeline',
            `another pipeline named "${pipeline.upstream}" is already watched; upstream names must be unique`,
          );
        }
      }
      const maxQueueDepth = watchOptions.maxQueueDepth;
      if (maxQueueDepth !== undefined && (!Number.isSafeInteger(maxQueueDepth) || maxQueueDepth < 0)) {
        throw new InvalidOptionError('maxQueueDepth', `expected a whole number of calls, got ${maxQueueDepth}`);
      }
      trafficOf(pipeline.upstream);
      const stopListening = subscriptions.hold(pipeline.events);
      const unsubscribe = () => {
        if (watched.get(pipeline)?.unsubscribe !== unsubscribe) return;
        stopListening();
        watched.delete(pipeline);
        traffic.delete(pipeline.upstream);
      };
      watched.set(pipeline, { pipeline, maxQueueDepth, unsubscribe });
      return unsubscribe;
    },
    stats() {
      const now = clock.now();
      const upstreams = [...traffic].map(([upstream, recent]) => ({
        upstream,
        ...summarizeRecentTraffic(recent, now),
      }));
      return { generatedAtEpochMs: now, windowMs: RECENT_WINDOW_MS, upstreams };
    },
    text: () => registry.metrics(),
  };
}

interface BudgetSeries {
  labels: Record<(typeof BUDGET_LABELS)[number], string>;
  remaining: number;
  limit: number | null;
  resetAfterMs: number | null;
}

/** How used up a limit is, to keep the most depleted of a family's budgets: lower is closer to exhausted. */
const fullness = (series: { remaining: number; limit: number | null }) =>
  series.limit === null || series.limit <= 0 ? series.remaining : series.remaining / series.limit;

function setBudgetGauges(
  instruments: Instruments,
  views: readonly Gathered[],
  tenantLabel: (tenant: string | null) => string,
): void {
  const series = new Map<string, BudgetSeries>();
  const inFlight = new Map<string, { labels: Record<string, string>; value: number }>();
  const coolDown = new Map<string, { labels: Record<string, string>; value: number }>();
  for (const { view } of views) {
    for (const budget of view.budgets) {
      const tenant = tenantLabel(budget.tenant);
      const family = budgetFamily(budget.budget);
      const budgetLabels = { upstream: view.upstream, tenant, budget: family };
      const budgetId = `${view.upstream}\n${tenant}\n${family}`;
      const cooling = coolDown.get(budgetId);
      if (!cooling || cooling.value < budget.coolDownAfterMs) {
        coolDown.set(budgetId, { labels: budgetLabels, value: budget.coolDownAfterMs });
      }
      for (const [unit, units] of Object.entries(budget.inFlight)) {
        const id = `${budgetId}\n${unit}`;
        const entry = inFlight.get(id) ?? { labels: { ...budgetLabels, unit }, value: 0 };
        entry.value += units ?? 0;
        inFlight.set(id, entry);
      }
      for (const limit of budget.limits) {
        const id = `${budgetId}\n${limit.name}\n${limit.unit}`;
        const candidate: BudgetSeries = {
          labels: { ...budgetLabels, limit: limit.name, unit: limit.unit },
          remaining: limit.remaining,
          limit: limit.limit,
          resetAfterMs: limit.resetAfterMs,
        };
        const current = series.get(id);
        if (!current || fullness(candidate) < fullness(current)) series.set(id, candidate);
      }
    }
  }
  instruments.budgetRemaining.reset();
  instruments.budgetLimit.reset();
  instruments.budgetReset.reset();
  instruments.budgetInFlight.reset();
  instruments.budgetCoolDown.reset();
  for (const entry of series.values()) {
    instruments.budgetRemaining.set(entry.labels, entry.remaining);
    if (entry.limit !== null) instruments.budgetLimit.set(entry.labels, entry.limit);
    if (entry.resetAfterMs !== null) instruments.budgetReset.set(entry.labels, entry.resetAfterMs / 1000);
  }
  for (const entry of inFlight.values()) instruments.budgetInFlight.set(entry.labels, entry.value);
  for (const entry of coolDown.values()) instruments.budgetCoolDown.set(entry.labels, entry.value / 1000);
}

function setPipelineGauges(instruments: Instruments, views: readonly Gathered[]): void {
  instruments.queueDepth.reset();
  instruments.queueDeepestLane.reset();
  instruments.queueMaxDepth.reset();
  instruments.breakerState.reset();
  instruments.budgetsReadable.reset();
  for (const { view, watched, deepestLane } of views) {
    const upstream = view.upstream;
    instruments.queueDepth.set({ upstream }, view.queue.depth);
    instruments.queueDeepestLane.set({ upstream }, deepestLane);
    if (watched.maxQueueDepth !== undefined) instruments.queueMaxDepth.set({ upstream }, watched.maxQueueDepth);
    instruments.budgetsReadable.set({ upstream }, view.error === undefined ? 1 : 0);
    for (const state of BREAKER_STATES) {
      instruments.breakerState.set({ upstream, state }, view.breaker === state ? 1 : 0);
    }
  }
}
