/**
 * The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers) for one decision, in the generation chosen:
 * - draft-10: `RateLimit-Policy: "name";q=100;w=60` and `RateLimit: "name";r=42;t=17` (Lists of named items);
 * - draft-07: `RateLimit-Policy: 100;w=60` and `RateLimit: limit=100, remaining=42, reset=17` (a Dictionary);
 * - draft-06: `RateLimit-Limit: 100`, `RateLimit-Remaining: 42`, `RateLimit-Reset: 17`, `RateLimit-Policy: 100;w=60`.
 * Windows and resets are whole seconds, rounded up (a caller that trusts them is never early). A concurrency
 * policy has no window and no reset: draft-10 says `qu="concurrent-requests"` instead.
 *
 * The parts that depend only on the policy are serialised once per policy with `structured-headers`; per reply
 * only integers are appended, and an Integer's serialisation is its decimal digits (RFC 9651 §4.1.4).
 * Field names are lower case, so they merge with other lower-case header records without duplicates.
 */
import { serializeItem, serializeList } from 'structured-headers';
import { InvalidOptionError } from '../errors.js';
import type { CompiledPolicy, Decision } from '../limits/types.js';

export const RATE_LIMIT_DRAFTS = ['draft-10', 'draft-07', 'draft-06', 'none'] as const;
/** Which generation of the RateLimit fields replies carry (`none`: only `Retry-After` on rejections). */
export type RateLimitDraft = (typeof RATE_LIMIT_DRAFTS)[number];

export type HeaderRecord = Record<string, string>;

/** RFC 9651 Integers have at most 15 digits. */
const MAX_INTEGER = 999_999_999_999_999;

interface PolicyFields {
  /** draft-10 `RateLimit-Policy`. */
  namedPolicy: string;
  /** draft-10 `RateLimit` up to its parameters: the serialised name. */
  namedPrefix: string;
  /** draft-07 and draft-06 `RateLimit-Policy`. */
  numericPolicy: string;
  /** The limit as an Integer. */
  limit: string;
  /** Concurrency: no window, no reset. */
  timeless: boolean;
}

const prepared = new WeakMap<CompiledPolicy, PolicyFields>();

/** The limiter's names for unnamed policies (`policy`, `policies[1]`). */
const UNNAMED = /^polic(?:y|ies\[(\d+)\])$/;

/**
 * The name callers see for a policy: its own, or for one the user left unnamed "default" (the first), "default-2"...
 * rather than the limiter's `policies[1]`.
 */
export function policyDisplayName(policy: CompiledPolicy): string {
  const unnamed = UNNAMED.exec(policy.name);
  if (unnamed === null) return policy.name;
  const index = Number(unnamed[1] ?? 0);
  return index === 0 ? 'default' : `default-${index + 1}`;
}

function integer(value: number): string {
  if (!(value > 0)) return '0';
  return String(Math.min(Math.ceil(value), MAX_INTEGER));
}

function seconds(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? Math.ceil(ms / 1000) : 0;
}

/**
 * The policy's constant field parts; throws an InvalidOptionError when its name cannot be sent in a header
 * (Structured Field Strings are printable ASCII). Call it when a limiter is set up, so a bad name fails early.
 */
export function preparePolicyFields(policy: CompiledPolicy): PolicyFields {
  const known = prepared.get(policy);
  if (known) return known;
  const timeless = policy.algorithm === 'concurrency';
  const limit = Math.min(policy.limit, MAX_INTEGER);
  const parameters = new Map<string, number | string>([['q', limit]]);
  if (timeless) parameters.set('qu', 'concurrent-requests');
  else parameters.set('w', seconds(policy.windowMs));
  const name = policyDisplayName(policy);
  let fields: PolicyFields;
  try {
    fields = {
      namedPolicy: serializeList([[name, parameters]]),
      namedPrefix: serializeItem(name),
      numericPolicy: serializeList([[limit, timeless ? new Map() : new Map([['w', seconds(policy.windowMs)]])]]),
      limit: integer(limit),
      timeless,
    };
  } catch (error) {
    throw new InvalidOptionError(
      `policy name ${JSON.stringify(policy.name)}`,
      `cannot be sent in a RateLimit field (${(error as Error).message}); use printable ASCII such as "per-user"`,
    );
  }
  prepared.set(policy, fields);
  return fields;
}

/** Adds the RateLimit fields describing `decision` (its reported policy) to `target`. */
export function writeRateLimitFields(draft: RateLimitDraft, decision: Decision, target: HeaderRecord): void {
  if (draft === 'none') return;
  const fields = preparePolicyFields(decision.policy);
  const remaining = integer(decision.remaining);
  const reset = integer(seconds(decision.resetAfterMs));
  switch (draft) {
    case 'draft-10':
      target['ratelimit-policy'] = fields.namedPolicy;
      target.ratelimit = fields.timeless
        ? `${fields.namedPrefix};r=${remaining}`
        : `${fields.namedPrefix};r=${remaining};t=${reset}`;
      return;
    case 'draft-07':
      target['ratelimit-policy'] = fields.numericPolicy;
      target.ratelimit = fields.timeless
        ? `limit=${fields.limit}, remaining=${remaining}`
        : `limit=${fields.limit}, remaining=${remaining}, reset=${reset}`;
      return;
    case 'draft-06':
      target['ratelimit-limit'] = fields.limit;
      target['ratelimit-remaining'] = remaining;
      if (!fields.timeless) target['ratelimit-reset'] = reset;
      target['ratelimit-policy'] = fields.numericPolicy;
      return;
  }
}

/** `Retry-After` in whole seconds, rounded up and at least 1: a caller told to retry is never told "now". */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Number.isFinite(retryAfterMs) ? Math.max(1, Math.ceil(retryAfterMs / 1000)) : 1;
}

export function isRateLimitDraft(value: unknown): value is RateLimitDraft {
  return typeof value === 'string' && (RATE_LIMIT_DRAFTS as readonly string[]).includes(value);
}
