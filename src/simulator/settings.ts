import { InvalidOptionError } from '../errors.js';
import { type Duration, toMilliseconds } from '../time.js';
import type { SimulatorLimits, SimulatorProfileName } from './types.js';

/** Rejects override fields the profile does not have, so that a typo does not silently keep a default. */
export function checkLimitFields(
  profile: SimulatorProfileName,
  limits: SimulatorLimits | undefined,
  allowed: ReadonlyArray<keyof SimulatorLimits>,
): SimulatorLimits {
  if (limits === undefined) return {};
  if (typeof limits !== 'object' || limits === null || Array.isArray(limits))
    throw new InvalidOptionError('limits', `expected an object of limit overrides, got ${JSON.stringify(limits)}`);
  for (const [key, value] of Object.entries(limits)) {
    if (value !== undefined && !allowed.includes(key as keyof SimulatorLimits))
      throw new InvalidOptionError(
        `limits.${key}`,
        `the ${profile} profile has no such limit; it has ${allowed.join(', ')}`,
      );
  }
  return limits;
}

export function wholeCount(value: number | undefined, fallback: number, field: string): number {
  const count = value ?? fallback;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1)
    throw new InvalidOptionError(`limits.${field}`, `expected a whole number ≥ 1, got ${JSON.stringify(count)}`);
  return count;
}

export function windowMs(value: Duration | undefined, fallback: number, field: string): number {
  return toMilliseconds(value ?? fallback, `limits.${field}`);
}
