export { InvalidOptionError, SluiceError } from './errors.js';
export type { Clock, Duration, ManualClock } from './time.js';
export { createManualClock, parseDurationText, systemClock, toMilliseconds } from './time.js';
