/**
 * Limit policies as configuration writes them: the same shape as `createLimiter`'s policies, for inbound rules
 * (limits on the gateway's callers) and for the starting values of an upstream's limits.
 */
import { z } from 'zod';
import type { LimitUnit } from '../signals/types.js';
import { LIMIT_UNITS } from './dialects.js';
import { bucketName, duration, durationMs, oneOf, policyName, positiveInteger, unknownKeysMessage } from './fields.js';
import { expectedMessage, listNames, suggestion } from './problems.js';

export const WINDOW_ALGORITHMS = ['fixed-window', 'sliding-window', 'sliding-log'] as const;
export const BUCKET_ALGORITHMS = ['token-bucket', 'leaky-bucket'] as const;
export const ALGORITHMS = [...WINDOW_ALGORITHMS, ...BUCKET_ALGORITHMS, 'concurrency'] as const;

export type WindowAlgorithm = (typeof WINDOW_ALGORITHMS)[number];
export type BucketAlgorithm = (typeof BUCKET_ALGORITHMS)[number];
export type Algorithm = (typeof ALGORITHMS)[number];

/** A validated policy, durations in whole milliseconds. */
export type ConfigPolicy =
  | { algorithm: WindowAlgorithm; name: string; limit: number; windowMs: number }
  /** `limit` per `windowMs` is the refill (token bucket) or drain (leaky bucket) rate; `burst` the capacity. */
  | { algorithm: BucketAlgorithm; name: string; limit: number; windowMs: number; burst: number }
  /** `leaseMs`: how long a slot held by a holder that died stays taken; null leaves it to the limiter's default. */
  | { algorithm: 'concurrency'; name: string; limit: number; leaseMs: number | null };

export const LIMIT_SCOPES = ['credential', 'upstream'] as const;
export type LimitScope = (typeof LIMIT_SCOPES)[number];

/** A starting value for one of an upstream's limits; responses correct it. */
export type UpstreamLimit = ConfigPolicy & {
  unit: LimitUnit;
  /** `credential`: each credential (tenant) has its own; `upstream`: one shared by every credential. */
  scope: LimitScope;
  /** Only calls routed to this bucket count against the limit; null: every call. */
  bucket: string | null;
};

const ALGORITHM_HELP = 'a limit policy such as { algorithm: token-bucket, limit: 100, window: 1m }';

type Shape = z.core.$ZodLooseShape;

function branches<Extra extends Shape>(extra: Extra) {
  const common = {
    name: policyName().optional(),
    limit: positiveInteger().describe('How many per window (or at once, for concurrency).'),
    ...extra,
  };
  const keysOf = (shape: Shape) => Object.keys(shape);
  const windowed = {
    algorithm: z.enum(WINDOW_ALGORITHMS),
    ...common,
    window: duration('positive').describe('The window the limit counts over.'),
  };
  const bucket = {
    algorithm: z.enum(BUCKET_ALGORITHMS),
    ...common,
    window: duration('positive').describe('limit per window is the refill (token) or drain (leaky) rate.'),
    burst: positiveInteger().optional().describe('The bucket capacity. Default: limit.'),
  };
  const concurrency = {
    algorithm: z.literal('concurrency'),
    ...common,
    lease: duration('positive').optional().describe('How long a slot of a holder that died stays taken.'),
  };
  // An option that belongs to another algorithm (burst on a fixed window) gets a message that says whose it is.
  const shapes = [
    [windowed, WINDOW_ALGORITHMS],
    [bucket, BUCKET_ALGORITHMS],
    [concurrency, ['concurrency']],
  ] as const;
  const ownersOf = (key: string) => shapes.flatMap(([shape, algorithms]) => (key in shape ? algorithms : []));
  const strict = <S extends Shape>(shape: S) =>
    z.strictObject(shape, {
      error: (issue: { code?: string; keys?: readonly string[]; input?: unknown }) => {
        if (issue.code !== 'unrecognized_keys') return expectedMessage(ALGORITHM_HELP, issue.input);
        const algorithm = String((issue.input as { algorithm?: unknown }).algorithm);
        return (issue.keys ?? [])
          .map((key) => {
            const owners = ownersOf(key);
            return owners.length > 0
              ? `not an option of ${algorithm}: ${key} applies to ${owners.join(', ')}`
              : unknownKeysMessage([key], keysOf(shape));
          })
          .join('\n');
      },
    });
  return [strict(windowed), strict(bucket), strict(concurrency)] as const;
}

function policyUnion<Extra extends Shape>(extra: Extra) {
  return z.discriminatedUnion('algorithm', branches(extra), {
    error: (issue: { code?: string; input?: unknown }) => {
      if (issue.code === 'invalid_union') {
        const given = (issue.input as { algorithm?: unknown } | null)?.algorithm;
        return `${expectedMessage(`one of ${listNames(ALGORITHMS)}`, given)}${suggestion(given, ALGORITHMS)}`;
      }
      return expectedMessage(ALGORITHM_HELP, issue.input);
    },
  });
}

export const policySchema = policyUnion({}).meta({
  id: 'policy',
  description: 'A limit policy, as createLimiter takes.',
});

export const upstreamLimitSchema = policyUnion({
  unit: oneOf(LIMIT_UNITS)
    .optional()
    .describe('What the limit counts. Default requests (concurrency for that algorithm).'),
  scope: oneOf(LIMIT_SCOPES)
    .optional()
    .describe('credential (each its own budget) or upstream (one shared). Default credential.'),
  bucket: bucketName().optional().describe('Only calls routed to this bucket count. Default: every call.'),
});

export type PolicyInput = z.input<typeof policySchema>;
export type UpstreamLimitInput = z.input<typeof upstreamLimitSchema>;

/** A list of policies. */
export function policyList<Item extends z.ZodType>(item: Item) {
  return z.array(item, { error: (issue) => expectedMessage('a list of limit policies', issue.input) });
}

export function normalizePolicy(input: PolicyInput, name: string): ConfigPolicy {
  switch (input.algorithm) {
    case 'concurrency':
      return {
        algorithm: 'concurrency',
        name,
        limit: input.limit,
        leaseMs: input.lease === undefined ? null : durationMs(input.lease),
      };
    case 'token-bucket':
    case 'leaky-bucket':
      return {
        algorithm: input.algorithm,
        name,
        limit: input.limit,
        windowMs: durationMs(input.window),
        burst: input.burst ?? input.limit,
      };
    default:
      return { algorithm: input.algorithm, name, limit: input.limit, windowMs: durationMs(input.window) };
  }
}

export function normalizeUpstreamLimit(input: UpstreamLimitInput, name: string): UpstreamLimit {
  return {
    ...normalizePolicy(input, name),
    unit: input.unit ?? (input.algorithm === 'concurrency' ? 'concurrency' : 'requests'),
    scope: input.scope ?? 'credential',
    bucket: input.bucket ?? null,
  };
}

/**
 * Names for a list of policies: the given ones, else `fallback(index)`; fallbacks that collide get `-2`, `-3`...
 * (Given names that collide are reported by the relation checks.)
 */
export function policyNames(given: ReadonlyArray<string | undefined>, fallback: (index: number) => string): string[] {
  const taken = new Set(given.filter((name): name is string => name !== undefined));
  return given.map((name, index) => {
    if (name !== undefined) return name;
    const base = fallback(index);
    let candidate = base;
    for (let counter = 2; taken.has(candidate); counter++) candidate = `${base}-${counter}`;
    taken.add(candidate);
    return candidate;
  });
}
