export { InvalidOptionError, SluiceError } from './errors.js';
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
export type { Clock, Duration, ManualClock, Scheduler } from './time.js';
export { createManualClock, parseDurationText, sleep, systemClock, toMilliseconds } from './time.js';
