import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { parseRateLimit } from '../../src/signals/parse.js';
import type { Dialect, RateLimitSignal, SignalLimit } from '../../src/signals/types.js';

/** A documented (or, when `synthetic`, constructed) response and the signal it must read as. */
export interface Vector {
  id: string;
  provider?: string;
  status: number;
  headers: unknown;
  body: unknown;
  referenceTimeEpochMs: number;
  /** Forces a dialect instead of auto-detection. */
  dialect?: Dialect;
  synthetic?: boolean;
  expected: Record<string, unknown>;
  source?: string;
  notes?: string;
}

const here = dirname(fileURLToPath(import.meta.url));
export const vendoredSharedPath = join(here, 'vectors', 'shared', 'provider-headers.json');

/** The project's shared vectors, looked up from the worktree upwards (…/shared/vectors); null when absent. */
export function findSharedVectorsPath(): string | null {
  let directory = here;
  for (let depth = 0; depth < 8; depth++) {
    const candidate = join(directory, 'shared', 'vectors', 'provider-headers.json');
    if (existsSync(candidate)) return candidate;
    const parent = resolve(directory, '..');
    if (parent === directory) break;
    directory = parent;
  }
  return null;
}

export function loadVectors(path: string): Vector[] {
  return JSON.parse(readFileSync(path, 'utf8')) as Vector[];
}

export function ownVectorFiles(): string[] {
  const directory = join(here, 'vectors');
  return readdirSync(directory)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => join(directory, name));
}

export function readVector(vector: Vector): RateLimitSignal {
  return parseRateLimit(
    { status: vector.status, headers: vector.headers as never, body: vector.body },
    { now: vector.referenceTimeEpochMs, dialect: vector.dialect ?? 'auto' },
  );
}

/** Where each `expected` key lives in a signal. A key not listed here fails the test: every key is checked. */
const DETAIL_KEYS = new Set([
  'used',
  'reason',
  'policyName',
  'errorCode',
  'restoreRatePerSecond',
  'requestedCost',
  'nearLimit',
  'fillRate',
  'period',
]);
const TOP_LEVEL_KEYS = new Set([
  'dialect',
  'limited',
  'retryable',
  'retryAfterMs',
  'limit',
  'remaining',
  'resetAtEpochMs',
  'resetAfterMs',
  'resource',
  'bucket',
  'scope',
]);

export function expectVector(vector: Vector): void {
  const signal = readVector(vector);
  for (const [key, expected] of Object.entries(vector.expected)) {
    const where = `${vector.id}: ${key}`;
    if (TOP_LEVEL_KEYS.has(key)) {
      expect(signal[key as keyof RateLimitSignal], where).toEqual(expected);
    } else if (DETAIL_KEYS.has(key)) {
      expect(signal.details?.[key], where).toEqual(expected);
    } else if (key === 'windowSeconds') {
      const windowMs = signal.limits[0]?.windowMs;
      expect(windowMs === null || windowMs === undefined ? null : windowMs / 1000, where).toEqual(expected);
    } else if (key === 'partitionKeyBase64') {
      expect(signal.limits[0]?.partitionKey, where).toEqual(expected);
    } else if (key === 'limits') {
      expectLimits(signal.limits, expected as Array<Partial<SignalLimit>>, where);
    } else {
      throw new Error(`${where}: no mapping for this expected key; add one to the vector runner`);
    }
  }
  expectSane(signal);
}

/** Same count, same order, and every field the vector names. */
function expectLimits(actual: SignalLimit[], expected: Array<Partial<SignalLimit>>, where: string): void {
  expect(
    actual.map((limit) => limit.name),
    `${where} (names, in order)`,
  ).toEqual(expected.map((limit) => limit.name));
  expected.forEach((expectedLimit, index) => {
    const limit = actual[index]!;
    for (const [field, value] of Object.entries(expectedLimit)) {
      expect(limit[field as keyof SignalLimit], `${where}[${index}].${field}`).toEqual(value);
    }
  });
}

/** The invariants every signal keeps, whatever it read. */
export function expectSane(signal: RateLimitSignal): void {
  for (const wait of [signal.retryAfterMs, signal.resetAfterMs]) {
    if (wait !== null) {
      expect(Number.isInteger(wait)).toBe(true);
      expect(wait).toBeGreaterThanOrEqual(0);
    }
  }
  for (const limit of signal.limits) {
    for (const value of [limit.limit, limit.remaining, limit.resetAtEpochMs, limit.resetAfterMs, limit.windowMs]) {
      if (value !== null) {
        expect(Number.isFinite(value)).toBe(true);
        expect(value).toBeGreaterThanOrEqual(0);
      }
    }
  }
}
