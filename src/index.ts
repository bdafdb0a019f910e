// economy: cache, coalescing, batching, pagination (Biome sorts exports: the economy lines from client/, config/
// and pipeline/ sit among the others)
// redis: shared limits and budgets across processes, holding leases, and what happens when Redis fails
// (Biome sorts exports, so these sit among the others: budget/redis-store, limits/hold-lease, stores/*)
export { createMemoryBudgetStore } from './budget/memory-store.js';
export type { RedisBudgetStats, RedisBudgetStore, RedisBudgetStoreOptions } from './budget/redis-store.js';
export { createRedisBudgetStore } from './budget/redis-store.js';
export type { BudgetKey, BudgetPolicy, BudgetState, BudgetStore, LimitEstimate } from './budget/types.js';
export type { Directives } from './cache/cache-control.js';
export { parseCacheControl } from './cache/cache-control.js';
export { CACHE_DEFAULTS } from './cache/defaults.js';
export type { CachedVariant } from './cache/entry.js';
export type { CacheRule, Freshness, Judgement, StoreDecision } from './cache/freshness.js';
export { decideStore, judgeEntry } from './cache/freshness.js';
export type { CacheResource } from './cache/key.js';
export type { MemoryCacheStore, MemoryCacheStoreOptions } from './cache/memory-store.js';
export { createMemoryCacheStore } from './cache/memory-store.js';
export type { RedisCacheStoreOptions } from './cache/redis-store.js';
export { createRedisCacheStore } from './cache/redis-store.js';
export type { CacheRouteRule, InvalidationRule } from './cache/rules.js';
export type { CacheStatus } from './cache/status.js';
export { formatCacheStatus } from './cache/status.js';
export type { CacheStore } from './cache/store.js';
export type { Batcher, BatcherOptions, BatchFunction, BatchLoadOptions, BatchResults } from './client/batcher.js';
export { BatchResultError, createBatcher } from './client/batcher.js';
export type { ClientOptions, ClientStats, SluiceClient } from './client/create-client.js';
export { createClient } from './client/create-client.js';
// client and gateway
export type { CallOptions, SluiceRequestInit } from './client/fetch-adapter.js';
export type {
  CursorPagination,
  LinkPagination,
  OffsetPagination,
  Page,
  PaginateClient,
  PaginateOptions,
} from './client/paginate.js';
export { nextLink, PaginationError, paginate, paginatePages } from './client/paginate.js';
// config: the configuration schema, presets and check-config
export type { CheckConfigOptions, CheckConfigResult } from './config/check.js';
export { checkConfigFile, listSecretReferences, secretProblems } from './config/check.js';
export type { UpstreamBatchRoute, UpstreamCacheOptions, UpstreamCoalesceOptions } from './config/economy.js';
export type {
  Config,
  ConfigInput,
  InboundHeaders,
  InboundKey,
  InboundRule,
  LogLevel,
  NormalizeConfigOptions,
  StoreConfig,
  TenantConfig,
} from './config/gateway.js';
export { configSchema, GATEWAY_DEFAULTS } from './config/gateway.js';
export { configJsonSchema } from './config/json-schema.js';
export type { ConfigFormat, ParseConfigOptions } from './config/load.js';
export { loadConfig, normalizeConfig, parseConfig } from './config/load.js';
export type { ConfigPolicy, LimitScope, PolicyInput, UpstreamLimit, UpstreamLimitInput } from './config/policy.js';
export { policySchema, upstreamLimitSchema } from './config/policy.js';
export type { ConfigProblem } from './config/problems.js';
export { ConfigError, formatProblem, isConfigError } from './config/problems.js';
export type { UpstreamRoute } from './config/routes.js';
export { findMajorParameter, findRoute } from './config/routes.js';
export type { ResolveSecretOptions, SecretReference, SecretReferenceInput } from './config/secrets.js';
export { resolveSecret } from './config/secrets.js';
export type {
  NormalizeUpstreamOptions,
  UpstreamCredential,
  UpstreamEndpoint,
  UpstreamOptions,
  UpstreamRetryOptions,
} from './config/upstream.js';
export { normalizeUpstreamOptions, UPSTREAM_DEFAULTS } from './config/upstream.js';
export type { ClientOptionsInput, UpstreamOptionsInput } from './config/upstream-schema.js';
export { clientOptionsSchema, DEFAULT_CREDENTIAL, upstreamOptionsSchema } from './config/upstream-schema.js';
export { runDemo } from './demo.js';
export { InvalidOptionError, SluiceError } from './errors.js';
// observability: metrics, call logs, the admin listener and the dashboard
export type { AdminAction, AdminServer, AdminServerOptions, Readiness } from './gateway/admin.js';
export { createAdminServer } from './gateway/admin.js';
export type { Gateway, GatewayOptions } from './gateway/server.js';
export { startGateway } from './gateway/server.js';
// inbound: limits on your own API's callers (the gateway's rules, RateLimit fields, problems; middleware types)
export { clientAddressKey } from './inbound/address.js';
export type { InboundConfig, InboundLimits, InboundLimitsOptions, InboundSubject } from './inbound/engine.js';
export { createInboundLimits, subjectKey } from './inbound/engine.js';
export type { HeaderRecord, RateLimitDraft } from './inbound/fields.js';
export { policyDisplayName, RATE_LIMIT_DRAFTS, writeRateLimitFields } from './inbound/fields.js';
export type { InboundProblem, InboundProblemDetails, ProblemResponse } from './inbound/problem.js';
export { INBOUND_LIMIT_KIND, INBOUND_LIMITS_UNAVAILABLE_KIND, problemBody } from './inbound/problem.js';
export { routeShape } from './inbound/route-shape.js';
export type { InboundVerdict, LeaseHold as InboundLeaseHold } from './inbound/verdict.js';
export { refusalResponse, releaseVerdict } from './inbound/verdict.js';
// limits
export type { LimitState } from './limits/algorithms.js';
export { stateExpiresAtEpochMs, stepPolicy } from './limits/algorithms.js';
export type { ConcurrencyState, HeldLease } from './limits/concurrency.js';
export { concurrency, concurrencyExpiresAtEpochMs, releaseLease } from './limits/concurrency.js';
export { toDecision } from './limits/decision.js';
export type { Evaluation } from './limits/evaluate.js';
export { evaluatePolicies, peekPolicy } from './limits/evaluate.js';
export type { FixedWindowState } from './limits/fixed-window.js';
export { fixedWindow, fixedWindowExpiresAtEpochMs } from './limits/fixed-window.js';
export type { GcraState } from './limits/gcra.js';
export { gcra, gcraExpiresAtEpochMs } from './limits/gcra.js';
export type { HoldLeaseOptions, LeaseHold } from './limits/hold-lease.js';
export { holdLease } from './limits/hold-lease.js';
export type { LeakyBucketState } from './limits/leaky-bucket.js';
export { leakyBucket } from './limits/leaky-bucket.js';
export type { CostOptions, Limiter, LimiterOptions, RenewResult } from './limits/limiter.js';
export { createLimiter } from './limits/limiter.js';
export type { CompileOptions } from './limits/policy.js';
export { compilePolicies } from './limits/policy.js';
export type { SlidingLogState } from './limits/sliding-log.js';
export { slidingLog, slidingLogExpiresAtEpochMs } from './limits/sliding-log.js';
export type { SlidingWindowState } from './limits/sliding-window.js';
export { slidingWindow, slidingWindowExpiresAtEpochMs } from './limits/sliding-window.js';
export type { LimitStore, StoreOperation, StoreRequest } from './limits/store.js';
export type { TokenBucketState } from './limits/token-bucket.js';
export { tokenBucket } from './limits/token-bucket.js';
export type {
  Algorithm,
  CompiledPolicy,
  Decision,
  Lease,
  Outcome,
  PolicyOptions,
  PolicyResult,
  ReleaseOutcome,
  Step,
  StoreErrorPolicy,
} from './limits/types.js';
export { ALGORITHMS } from './limits/types.js';
// inbound: the middleware's options (the middleware are in sluice/express, sluice/fastify, sluice/hono)
export type { KeyFunction, RateLimitOptions } from './middleware/core.js';
// observability (continued): metrics, call logs, budgets view
export type {
  BudgetsView,
  BudgetView,
  LimitView,
  ObservedPipeline,
  UpstreamView,
} from './observability/budget-view.js';
export { viewBudgets } from './observability/budget-view.js';
export type { CallLogger, CallLoggerOptions, CallLogLine } from './observability/call-logger.js';
export { createCallLogger } from './observability/call-logger.js';
export type {
  Metrics,
  MetricsOptions,
  StatsView,
  UpstreamStats,
  WatchedPipeline,
  WatchOptions,
} from './observability/metrics.js';
export { createMetrics } from './observability/metrics.js';
export type { LatencySummary, RecentStats } from './observability/recent-stats.js';
export type { PathRedactionOptions, PathRedactor } from './observability/redact.js';
export { createPathRedactor, looksLikeCredential } from './observability/redact.js';
export type { SignalSummary } from './observability/signal-summary.js';
export { summarizeSignal } from './observability/signal-summary.js';
export type { BatchDependencies } from './pipeline/batch.js';
export { createBatchStage } from './pipeline/batch.js';
export type { BatchRoute } from './pipeline/batch-split.js';
// pipeline: breaker, events, observe, queue (Biome sorts exports, so these sit among the others)
export type { BreakerDependencies, BreakerOptions, BreakerStage, BreakerStateChange } from './pipeline/breaker.js';
export { createBreakerStage } from './pipeline/breaker.js';
export type { BreakerStateName } from './pipeline/breaker-core.js';
export type { Cache, CacheDependencies, CacheOptions, CachePurge } from './pipeline/cache.js';
export { createCache } from './pipeline/cache.js';
export type { CachePurgeOutcome } from './pipeline/cache-admin.js';
export { purgeCache } from './pipeline/cache-admin.js';
export type { EconomyDependencies, EconomyOptions, EconomyStages } from './pipeline/cache-stages.js';
export { createEconomyStages, economyOptionsFromUpstream } from './pipeline/cache-stages.js';
export type { CoalesceDependencies, CoalesceOptions } from './pipeline/coalesce.js';
export { createCoalesceStage, DEFAULT_COALESCE_IGNORED_HEADERS, isCollapsed } from './pipeline/coalesce.js';
export type { Pipeline, PipelineOptions } from './pipeline/create-pipeline.js';
export { createPipeline } from './pipeline/create-pipeline.js';
// pipeline
export type { CallFailureReason } from './pipeline/errors.js';
export { CallFailedError, isCallFailed } from './pipeline/errors.js';
export type {
  CallEvent,
  CallEventKind,
  CallEventListener,
  CallEventOutcome,
  EventBus,
  EventBusOptions,
} from './pipeline/events.js';
export { createEventBus } from './pipeline/events.js';
export { createObserveStage } from './pipeline/observe.js';
export type { LaneStats, QueueDependencies, QueueOptions, QueueStage, QueueStats } from './pipeline/queue.js';
export { createQueueStage } from './pipeline/queue.js';
export type {
  Call,
  CallBody,
  CallHeaders,
  CallNotes,
  Cost,
  Next,
  Reply,
  ReplyHeaders,
  Stage,
} from './pipeline/stage.js';
export { composeStages } from './pipeline/stage.js';
export type { Preset, PresetName } from './presets/index.js';
export { PRESET_NAMES, PRESETS } from './presets/index.js';
// retry
export type { BackoffOptions, Jitter, Random } from './retry/backoff.js';
export { backoffDelays, delayFor, JITTERS } from './retry/backoff.js';
export type {
  RetryBudget,
  RetryBudgetOptions,
  RetryBudgetSettings,
  RetryBudgetSlice,
  RetryBudgetState,
} from './retry/budget.js';
export {
  createRetryBudget,
  emptyRetryBudget,
  recordRetryBudgetCall,
  retryBudgetAvailable,
  retryBudgetSettings,
  withdrawRetryBudget,
} from './retry/budget.js';
export { RetryAfterTooLongError } from './retry/errors.js';
export type {
  AttemptOutcome,
  RequestHeaders,
  RetryCause,
  RetryDecision,
  RetryInput,
  RetryPolicy,
  RetryPolicyOptions,
  RetrySettings,
  StopReason,
  TransportFailure,
} from './retry/policy.js';
export {
  createRetryPolicy,
  DEFAULT_RETRY_ON,
  decideRetry,
  isIdempotentRequest,
  retrySettings,
} from './retry/policy.js';
// signals: reading providers' rate-limit responses
export type { Dialect, LimitUnit, ParseOptions, RateLimitSignal, ResponseLike, SignalLimit } from './signals/index.js';
export { detectDialect, parseRateLimit, SIGNAL_DIALECTS } from './signals/index.js';
// simulator
export type { LoadOptions, LoadProgress, LoadReport } from './simulator/load.js';
export { runLoad } from './simulator/load.js';
export { createSimulatedProfile, isSimulatorProfile, SIMULATOR_PROFILE_DESCRIPTIONS } from './simulator/profile.js';
export type { Simulator, SimulatorOptions } from './simulator/server.js';
export { startSimulator } from './simulator/server.js';
export type {
  RouteReport,
  SimulatedProfile,
  SimulatedReply,
  SimulatedRequest,
  SimulatorLimits,
  SimulatorProfileName,
  SimulatorReport,
} from './simulator/types.js';
export { SIMULATOR_PROFILES } from './simulator/types.js';
export type {
  ResilientBudgetStats,
  ResilientBudgetStore,
  ResilientBudgetStoreOptions,
} from './stores/fallback-budget.js';
export { createResilientBudgetStore } from './stores/fallback-budget.js';
export type { OpenStoresOptions, Stores } from './stores/from-config.js';
export { openStores } from './stores/from-config.js';
export type { MemoryStore, MemoryStoreOptions } from './stores/memory.js';
export { createMemoryStore } from './stores/memory.js';
export type { OutageEvent, OutageStats } from './stores/outage.js';
export type { RedisClient, RedisConnectionOptions } from './stores/redis/connection.js';
export type { RedisStore, RedisStoreOptions, RedisStoreStats } from './stores/redis.js';
export { createRedisStore } from './stores/redis.js';
export type { StoreLogger } from './stores/store-logger.js';
export type { Clock, Duration, ManualClock, Scheduler } from './time.js';
export { createManualClock, parseDurationText, sleep, systemClock, toMilliseconds } from './time.js';
