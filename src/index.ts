export { InvalidOptionError, SluiceError } from './errors.js';
// pipeline
export type { CallFailureReason } from './pipeline/errors.js';
export { CallFailedError, isCallFailed } from './pipeline/errors.js';
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
