import { InvalidOptionError } from '../errors.js';

/**
 * How a backoff spreads retries (see the AWS Architecture Blog, "Exponential Backoff and Jitter"):
 * - `none`: the exponential ceiling itself, `min(max, base × factor^(attempt-1))`;
 * - `full`: uniform in [0, ceiling) — the fewest collisions when many callers fail together;
 * - `equal`: half the ceiling plus uniform in [0, ceiling/2) — never retries at once;
 * - `decorrelated`: uniform in [base, max(base, previous) × 3), capped — grows from the previous delay, not the attempt.
 */
export type Jitter = 'full' | 'equal' | 'decorrelated' | 'none';

export const JITTERS: readonly Jitter[] = ['full', 'equal', 'decorrelated', 'none'];

export interface BackoffOptions {
  /** The first ceiling, whole milliseconds (0 means retry at once). */
  baseMs: number;
  /** No delay exceeds this, whole milliseconds. */
  maxMs: number;
  jitter: Jitter;
  /** How much the ceiling grows per attempt (≥ 1). Not used by `decorrelated`, which always grows by up to 3×. */
  factor: number;
}

/** A source of uniform numbers in [0, 1): `Math.random` in production, a seeded one in tests. */
export type Random = () => number;

/** AWS's decorrelated jitter multiplies the previous delay by 3: smaller factors stop the delays from growing. */
const DECORRELATED_GROWTH = 3;

/** The exponential ceiling for `attempt` (1-based), never above `maxMs` and never NaN even for huge attempts. */
function ceilingFor(options: BackoffOptions, attempt: number): number {
  if (options.baseMs === 0) return 0;
  const ceiling = options.baseMs * options.factor ** Math.max(0, attempt - 1);
  return Number.isFinite(ceiling) ? Math.min(options.maxMs, ceiling) : options.maxMs;
}

/** A uniform draw, guarded so that a misbehaving random source cannot produce NaN or negative delays. */
function draw(random: Random): number {
  const value = random();
  return Number.isFinite(value) ? Math.min(Math.max(value, 0), 1) : 0;
}

/**
 * The delay before retry number `attempt` (1 = the first retry, after the first failure), in whole
 * milliseconds within [0, maxMs]. `previousDelayMs` is the delay that preceded the attempt that just failed
 * (0 for the first); only `decorrelated` uses it.
 */
export function delayFor(options: BackoffOptions, attempt: number, previousDelayMs: number, random: Random): number {
  const { baseMs, maxMs } = options;
  let delay: number;
  switch (options.jitter) {
    case 'none':
      delay = ceilingFor(options, attempt);
      break;
    case 'full':
      delay = draw(random) * ceilingFor(options, attempt);
      break;
    case 'equal': {
      const half = ceilingFor(options, attempt) / 2;
      delay = half + draw(random) * half;
      break;
    }
    case 'decorrelated': {
      // The first retry grows from the base, as if the previous delay had been the base.
      const previous = Number.isFinite(previousDelayMs) ? Math.max(baseMs, previousDelayMs) : baseMs;
      const upper = previous * DECORRELATED_GROWTH;
      delay = baseMs + draw(random) * (upper - baseMs);
      break;
    }
  }
  return Math.min(maxMs, Math.max(0, Math.floor(delay)));
}

/** Checks backoff options, naming the field that is wrong (fields are prefixed with `prefix`). */
export function validateBackoff(options: BackoffOptions, prefix = 'backoff'): BackoffOptions {
  const { baseMs, maxMs, jitter, factor } = options;
  if (!Number.isInteger(baseMs) || baseMs < 0)
    throw new InvalidOptionError(`${prefix}.baseMs`, `expected whole non-negative milliseconds, got ${baseMs}`);
  if (!Number.isInteger(maxMs) || maxMs < baseMs)
    throw new InvalidOptionError(`${prefix}.maxMs`, `expected whole milliseconds ≥ baseMs (${baseMs}), got ${maxMs}`);
  if (!JITTERS.includes(jitter))
    throw new InvalidOptionError(
      `${prefix}.jitter`,
      `expected one of ${JITTERS.join(', ')}, got ${JSON.stringify(jitter)}`,
    );
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1)
    throw new InvalidOptionError(`${prefix}.factor`, `expected a number ≥ 1, got ${factor}`);
  return options;
}

/**
 * The sequence of delays before retries 1, 2, 3... as a lazy, endless iterator (take as many as you allow).
 * A pure sequence in the style of cockatiel's backoffs: the same options and random source give the same delays.
 */
export function backoffDelays(options: BackoffOptions, random: Random = Math.random): Iterator<number, never> {
  // Validated here, not inside the generator, so that bad options fail where they are given.
  validateBackoff(options);
  return delays(options, random);
}

function* delays(options: BackoffOptions, random: Random): Generator<number, never> {
  let previousDelayMs = 0;
  for (let attempt = 1; ; attempt++) {
    previousDelayMs = delayFor(options, attempt, previousDelayMs, random);
    yield previousDelayMs;
  }
}
