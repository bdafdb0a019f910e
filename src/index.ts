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
export type { LeakyBucketState } from './limits/leaky-bucket.js';
export { leakyBucket } from './limits/leaky-bucket.js';
export type { CostOptions, Limiter, LimiterOptions } from './limits/limiter.js';
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
export type { MemoryStore, MemoryStoreOptions } from './stores/memory.js';
export { createMemoryStore } from './stores/memory.js';
export type { Clock, Duration, ManualClock } from './time.js';
export { createManualClock, parseDurationText, systemClock, toMilliseconds } from './time.js';
