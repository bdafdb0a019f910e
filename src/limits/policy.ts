import { InvalidOptionError } from '../errors.js';
import { toMilliseconds } from '../time.js';
import { ALGORITHMS, type Algorithm, type CompiledPolicy, type PolicyOptions } from './types.js';

/** Longest window or lease: 2^40 ms (about 34 years) keeps every sum of epoch times exact in a double. */
const MAX_DURATION_MS = 2 ** 40;
/** Products compared by the sliding window and the buckets stay below this, so doubles (Lua) stay exact. */
const MAX_PRODUCT = 2 ** 51;

const POLICY_FIELDS = ['algorithm', 'limit', 'window', 'burst', 'delay', 'nodelay', 'lease', 'name'];

export interface CompileOptions {
  /** Lease lifetime for concurrency policies that do not set `lease`. */
  leaseMs: number;
  /** Namespaces the policies' state on a shared store. */
  prefix?: string;
}

/**
 * Validates one policy or a list and compiles them to plain data. Every error names the field, e.g.
 * `policies[1].window: expected a positive duration, got 0`.
 */
export function compilePolicies(
  input: PolicyOptions | readonly PolicyOptions[],
  options: CompileOptions,
): CompiledPolicy[] {
  const list = Array.isArray(input) ? (input as readonly unknown[]) : [input];
  if (Array.isArray(input) && list.length === 0) {
    throw new InvalidOptionError('policies', 'expected at least one policy');
  }
  const compiled: CompiledPolicy[] = [];
  list.forEach((policy, index) => {
    const field = Array.isArray(input) ? `policies[${index}]` : 'policy';
    const next = compilePolicy(policy, index, field, options);
    const duplicate = compiled.find((earlier) => earlier.id === next.id);
    if (duplicate) {
      throw new InvalidOptionError(
        field,
        `has the same state as ${duplicate.name} (${next.id}); give one of them a distinct name`,
      );
    }
    compiled.push(next);
  });
  return compiled;
}

function compilePolicy(input: unknown, index: number, field: string, options: CompileOptions): CompiledPolicy {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidOptionError(
      field,
      `expected a policy object such as { algorithm: 'fixed-window', limit: 100, window: '1m' }, got ${describe(input)}`,
    );
  }
  const policy = input as Record<string, unknown>;
  for (const key of Object.keys(policy)) {
    if (!POLICY_FIELDS.includes(key) && policy[key] !== undefined) {
      throw new InvalidOptionError(`${field}.${key}`, `unknown field; expected one of ${POLICY_FIELDS.join(', ')}`);
    }
  }
  const algorithm = policy.algorithm;
  if (typeof algorithm !== 'string' || !ALGORITHMS.includes(algorithm as Algorithm)) {
    throw new InvalidOptionError(
      `${field}.algorithm`,
      `expected one of ${ALGORITHMS.map((name) => `"${name}"`).join(', ')}, got ${describe(algorithm)}`,
    );
  }
  const limit = positiveInteger(policy.limit, `${field}.limit`);
  const name = policy.name === undefined ? field : nonEmptyString(policy.name, `${field}.name`);
  onlyFor(policy, 'burst', ['token-bucket', 'leaky-bucket'], algorithm, field);
  onlyFor(policy, 'delay', ['leaky-bucket'], algorithm, field);
  onlyFor(policy, 'nodelay', ['leaky-bucket'], algorithm, field);
  onlyFor(policy, 'lease', ['concurrency'], algorithm, field);
  const compiled = (id: string, fields: Omit<CompiledPolicy, 'id' | 'name' | 'index' | 'algorithm' | 'limit'>) =>
    Object.freeze({ id, name, index, algorithm: algorithm as Algorithm, limit, ...fields });
  const namespace = `${options.prefix ? `${options.prefix}:` : ''}${algorithm}:`;
  const id = (signature: string) => namespace + (policy.name === undefined ? signature : name);

  if (algorithm === 'concurrency') {
    if (policy.window !== undefined) {
      throw new InvalidOptionError(
        `${field}.window`,
        'concurrency limits have no window; remove it (a lease lifetime is set with lease)',
      );
    }
    const leaseMs = policy.lease === undefined ? options.leaseMs : duration(policy.lease, `${field}.lease`);
    return compiled(id(`${limit}`), { windowMs: 0, capacity: limit, intervalUs: 0, delay: 0, leaseMs });
  }

  if (policy.window === undefined) {
    throw new InvalidOptionError(
      `${field}.window`,
      `required for ${algorithm}; expected a duration such as 1000, "1s" or "1m"`,
    );
  }
  const windowMs = duration(policy.window, `${field}.window`);
  const signature = `${limit}/${windowMs}ms`;

  if (algorithm === 'token-bucket' || algorithm === 'leaky-bucket') {
    if (limit > windowMs * 1000) {
      throw new InvalidOptionError(
        `${field}.limit`,
        `at most one unit per microsecond is supported, got ${limit} per ${windowMs} ms; count in larger units`,
      );
    }
    const intervalUs = Math.ceil((windowMs * 1000) / limit);
    let capacity: number;
    let delay: number;
    let stateSignature: string;
    if (algorithm === 'token-bucket') {
      capacity = policy.burst === undefined ? limit : positiveInteger(policy.burst, `${field}.burst`);
      delay = capacity;
      stateSignature = `${signature}:burst=${capacity}`;
    } else {
      const burst = policy.burst === undefined ? 0 : nonNegativeInteger(policy.burst, `${field}.burst`);
      capacity = burst + 1;
      delay = leakyDelay(policy, burst, field);
      stateSignature = `${signature}:burst=${burst}`;
    }
    if (capacity * intervalUs > MAX_PRODUCT) {
      throw new InvalidOptionError(
        `${field}.burst`,
        `a bucket of ${capacity} units refilled every ${intervalUs} µs is too deep to compute exactly; lower the burst or count in larger units`,
      );
    }
    return compiled(id(stateSignature), { windowMs, capacity, intervalUs, delay, leaseMs: 0 });
  }

  if (algorithm === 'sliding-window' && limit * windowMs > MAX_PRODUCT) {
    throw new InvalidOptionError(
      `${field}.limit`,
      `limit × window must stay below 2^51 for exact arithmetic, got ${limit} × ${windowMs} ms; use a shorter window or count in larger units`,
    );
  }
  return compiled(id(signature), { windowMs, capacity: limit, intervalUs: 0, delay: 0, leaseMs: 0 });
}

function leakyDelay(policy: Record<string, unknown>, burst: number, field: string): number {
  if (policy.nodelay !== undefined && typeof policy.nodelay !== 'boolean') {
    throw new InvalidOptionError(`${field}.nodelay`, `expected true or false, got ${describe(policy.nodelay)}`);
  }
  if (policy.delay === undefined) return policy.nodelay === true ? burst : 0;
  if (policy.nodelay === true) {
    throw new InvalidOptionError(
      `${field}.delay`,
      'give either delay or nodelay, not both (nodelay means delay = burst)',
    );
  }
  const delay = nonNegativeInteger(policy.delay, `${field}.delay`);
  if (delay > burst) {
    throw new InvalidOptionError(`${field}.delay`, `expected an integer from 0 to the burst (${burst}), got ${delay}`);
  }
  return delay;
}

function onlyFor(
  policy: Record<string, unknown>,
  key: string,
  algorithms: readonly string[],
  algorithm: string,
  field: string,
): void {
  if (policy[key] !== undefined && !algorithms.includes(algorithm)) {
    throw new InvalidOptionError(`${field}.${key}`, `applies only to ${algorithms.join(' and ')}, not to ${algorithm}`);
  }
}

function duration(value: unknown, field: string): number {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new InvalidOptionError(field, `expected a positive duration, got ${value}`);
  }
  const ms = toMilliseconds(value as number | string, field);
  if (ms > MAX_DURATION_MS) {
    throw new InvalidOptionError(
      field,
      `expected at most ${MAX_DURATION_MS} ms (about 34 years), got ${describe(value)}`,
    );
  }
  return ms;
}

export function positiveInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidOptionError(field, `expected a positive integer, got ${describe(value)}`);
  }
  return value;
}

export function nonNegativeInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidOptionError(field, `expected a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

function nonEmptyString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidOptionError(field, `expected a non-empty string, got ${describe(value)}`);
  }
  return value;
}

/** Shows a bad value in a message: JSON where it helps (strings quoted), plain text for NaN and the like. */
export function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || value === undefined) return String(value);
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
