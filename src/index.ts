// redis: shared limits and budgets across processes, holding leases, and what happens when Redis fails
// (Biome sorts exports, so these sit among the others: budget/redis-store, limits/hold-lease, stores/*)
export type { RedisBudgetStats, RedisBudgetStore, RedisBudgetStoreOptions } from './budget/redis-store.js';
export { createRedisBudgetStore } from './budget/redis-store.js';
// config: the configuration schema, presets and check-config
export type { CheckConfigOptions, CheckConfigResult } from './config/check.js';
export { checkConfigFile, listSecretReferences, secretProblems } from './config/check.js';
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
export { InvalidOptionError, SluiceError } from './errors.js';
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
// pipeline: breaker, events, observe, queue (Biome sorts exports, so these sit among the others)
export type { BreakerDependencies, BreakerOptions, BreakerStage, BreakerStateChange } from './pipeline/breaker.js';
export { createBreakerStage } from './pipeline/breaker.js';
export type { BreakerStateName } from './pipeline/breaker-core.js';
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
