export { detectDialect } from './detect.js';
export { parseRateLimit, SIGNAL_DIALECTS } from './parse.js';
export type { Dialect, LimitUnit, ParseOptions, RateLimitSignal, ResponseLike, SignalLimit } from './types.js';
