export { InvalidOptionError, SluiceError } from './errors.js';
// signals: reading providers' rate-limit responses
export type { Dialect, LimitUnit, ParseOptions, RateLimitSignal, ResponseLike, SignalLimit } from './signals/index.js';
export { detectDialect, parseRateLimit, SIGNAL_DIALECTS } from './signals/index.js';
export type { Clock, Duration, ManualClock } from './time.js';
export { createManualClock, parseDurationText, systemClock, toMilliseconds } from './time.js';
