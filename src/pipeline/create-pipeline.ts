/**
 * Assembles one upstream's pipeline from its options, in the order DESIGN.md fixes:
 * observe(call) -> [stages given by the front door: inbound limits] -> cache -> coalesce -> batch -> retry -> queue ->
 * pacer -> breaker -> observe(attempt) -> transport. The client and the gateway both call this; neither has a
 * private copy of any stage.
 */
import type { Dispatcher } from 'undici';
import { createMemoryBudgetStore } from '../budget/memory-store.js';
import { type BudgetPolicy, type BudgetStore, defaultBudgetPolicy } from '../budget/types.js';
import type { UpstreamRoute } from '../config/routes.js';
import type { StoreErrorPolicy } from '../limits/types.js';
import { createRetryBudget, type RetryBudgetOptions } from '../retry/budget.js';
import { createRetryPolicy, type RetryPolicyOptions } from '../retry/policy.js';
import { parseRateLimit } from '../signals/parse.js';
import type { Dialect } from '../signals/types.js';
import { createResilientBudgetStore } from '../stores/fallback-budget.js';
import { type Scheduler, systemClock } from '../time.js';
import { type BreakerOptions, type BreakerStage, createBreakerStage } from './breaker.js';
import { createBudgetKeying } from './budget-keys.js';
import type { Cache } from './cache.js';
import { createEconomyStages, type EconomyOptions } from './cache-stages.js';
import { createClockOffsetEstimate } from './clock-offset.js';
import type { ConfiguredBudgets } from './configured-limits.js';
import { createEventBus, type EventBus } from './events.js';
import { createObserveStage } from './observe.js';
import { createPacerStage } from './pacer.js';
import { createPrepareStage, type PrepareOptions } from './prepare.js';
import { createQueueStage, type QueueOptions, type QueueStage } from './queue.js';
import { attachSignal } from './reply-signal.js';
import { createRetryStage } from './retry.js';
import { actualCostOf, limitModelOf, resourceHint, signalMayBeInBody } from './signal-reading.js';
import { type Call, composeStages, type Next, type Reply, type Stage } from './stage.js';
import { createTransport, failureToCallError, TransportError } from './transport.js';

export interface PipelineRetryOptions extends RetryPolicyOptions {
  budget?: RetryBudgetOptions;
  /** Add an Idempotency-Key to POST/PATCH calls so that they may be retried after an unknown outcome. */
  idempotencyKey?: boolean;
}

export interface PipelineOptions extends EconomyOptions {
  upstream: string;
  baseUrl: string;
  /** Sends one attempt; a keep-alive undici Agent by default. */
  dispatcher: Pick<Dispatcher, 'request'>;
  /** Replaces the transport built over `dispatcher` and `baseUrl` (the gateway's balancer over several endpoints). */
  transport?: Next;
  dialect?: Dialect;
  /** Where budgets live: memory (default) or a shared store. */
  store?: BudgetStore;
  /**
   * When a shared store (Redis) cannot answer: 'local' (default) paces with an in-process budget holding this
   * process's share (1/N) of every limit, 'open' admits without pacing, 'closed' refuses for a second.
   */
  onStoreError?: StoreErrorPolicy;
  /**
   * An injected clock (tests): the pipeline then passes its time to the store. Without one, the system clock paces
   * and a shared store keeps its own time.
   */
  clock?: Scheduler;
  /** Limits configured (or from a preset), grouped by the budget they belong to. */
  configured?: ConfiguredBudgets;
  /** Route buckets and costs. */
  routes?: readonly UpstreamRoute[];
  /** Headers, User-Agent and per-tenant credentials to put on every call. */
  prepare?: Omit<PrepareOptions, 'upstream' | 'routes'>;
  majorParameters?: readonly string[];
  pacing?: Partial<BudgetPolicy>;
  retry?: PipelineRetryOptions | false;
  queue?: QueueOptions;
  breaker?: BreakerOptions | false;
  timeouts?: { headersMs?: number; bodyMs?: number };
  /** Where call and attempt events go (metrics, logs, the dashboard subscribe to it). Default: a new bus. */
  events?: EventBus;
  /** Stages that sit between the outer observe and the economy stages (inbound limits). */
  outerStages?: readonly Stage[];
}

export interface Pipeline {
  readonly upstream: string;
  /** Runs one call through every stage. Rejects with CallFailedError when Sluice answers it itself. */
  handle(call: Call): Promise<Reply>;
  /** What the budgets know right now. */
  budgets(): ReturnType<BudgetStore['snapshot']>;
  readonly events: EventBus;
  /** Calls waiting, per lane. */
  queue(): ReturnType<QueueStage['stats']>;
  /** The circuit breaker's state, or 'disabled'. */
  breakerState(): ReturnType<BreakerStage['state']> | 'disabled';
  /** The cache (to purge it, or wait for its background refreshes), or null when caching is off. */
  readonly cache: Cache | null;
  /** Releases what the pipeline owns (a store it created). */
  close(): Promise<void>;
}

const noop = () => {};

export function createPipeline(options: PipelineOptions): Pipeline {
  const scheduler = options.clock ?? systemClock;
  const ownsStore = options.store === undefined;
  const memoryStore = ownsStore ? createMemoryBudgetStore({ clock: scheduler }) : undefined;
  // A shared store may fail: the pipeline never lets that fail or hang a call, it decides with onStoreError.
  const store =
    options.store === undefined
      ? (memoryStore as BudgetStore)
      : options.store.shared
        ? createResilientBudgetStore(options.store, { onStoreError: options.onStoreError, clock: scheduler })
        : options.store;
  const dialect = options.dialect ?? 'auto';
  const policy: BudgetPolicy = { ...defaultBudgetPolicy, ...options.pacing };
  const keying = createBudgetKeying({
    upstream: options.upstream,
    configured: options.configured,
    routes: options.routes,
    majorParameters: options.majorParameters,
    resourceHint,
    dialect,
  });

  const events = options.events ?? createEventBus();
  const clockOffset = createClockOffsetEstimate();
  const readSignal = (reply: { status: number; headers: Reply['headers']; body?: string }, nowEpochMs: number) => {
    clockOffset.observe(reply.headers.date, nowEpochMs);
    return parseRateLimit(reply, { dialect, now: nowEpochMs, clockOffsetMs: clockOffset.offsetMs() });
  };

  const economy = createEconomyStages(options, { ...options, scheduler, dialect });
  const stages: Stage[] = [
    createObserveStage(events, 'call', options.upstream, scheduler),
    ...(options.outerStages ?? []),
    ...economy.stages,
    createPrepareStage({ upstream: options.upstream, routes: options.routes, ...options.prepare }),
  ];
  if (options.retry !== false) {
    const { budget, idempotencyKey, ...retryPolicy } = options.retry ?? {};
    stages.push(
      createRetryStage({
        upstream: options.upstream,
        policy: createRetryPolicy(retryPolicy),
        budget: createRetryBudget(budget, scheduler),
        scheduler,
        idempotencyKey,
      }),
    );
  }
  const queue = createQueueStage(options.queue ?? {}, {
    scheduler,
    upstream: options.upstream,
    laneOf: (call) => keying.laneOf(call),
  });
  stages.push(queue);
  stages.push(
    createPacerStage({
      upstream: options.upstream,
      store,
      keying,
      scheduler,
      policy,
      readSignal,
      needsBody: (reply, call) => signalMayBeInBody(dialect, reply, call),
      modelOf: limitModelOf,
      actualCost: (reply) => actualCostOf(dialect, reply),
      passTime: options.clock !== undefined,
      subscribe: store.onChange ? (listener) => store.onChange?.(listener) ?? noop : undefined,
    }),
  );
  const breaker =
    options.breaker === false
      ? undefined
      : createBreakerStage(options.breaker ?? {}, {
          scheduler,
          upstream: options.upstream,
          readSignal: (reply) => readSignal({ status: reply.status, headers: reply.headers }, scheduler.now()),
        });
  if (breaker) stages.push(breaker);
  stages.push(createObserveStage(events, 'attempt', options.upstream, scheduler));
  const sendAttempt: Next =
    options.transport ??
    createTransport({
      upstream: options.upstream,
      baseUrl: options.baseUrl,
      dispatcher: options.dispatcher,
      headersTimeoutMs: options.timeouts?.headersMs,
      bodyTimeoutMs: options.timeouts?.bodyMs,
    });
  const reading = { readSignal, needsBody: (reply: Reply, call: Call) => signalMayBeInBody(dialect, reply, call) };
  const transport: Next = async (call) => {
    const reply = await sendAttempt(call);
    await attachSignal(reply, call, reading, scheduler.now());
    return reply;
  };
  const composed = composeStages(stages, transport);
  // With retries off, a transport failure reaches the caller unretried: as the same typed error the retry stage
  // gives when it stops.
  const handle = (call: Call) =>
    composed(call).catch((error: unknown) => {
      throw error instanceof TransportError ? failureToCallError(options.upstream, error) : error;
    });

  return {
    upstream: options.upstream,
    handle,
    budgets: () => store.snapshot(),
    events,
    queue: () => queue.stats(),
    breakerState: () => breaker?.state() ?? 'disabled',
    cache: economy.cache,
    async close() {
      await economy.cache?.close();
      if (ownsStore) await store.close();
    },
  };
}
