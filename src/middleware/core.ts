/**
 * What the Express, Fastify and Hono middleware share: options checked once, then per request a key, one take on
 * one limiter (all its policies, all-or-nothing) and a verdict from src/inbound (headers, 429 problem body).
 * Framework files only read the client address and write the verdict in their framework's terms.
 */
import { InvalidOptionError } from '../errors.js';
import { clientAddressKey } from '../inbound/address.js';
import { isRateLimitDraft, preparePolicyFields, RATE_LIMIT_DRAFTS, type RateLimitDraft } from '../inbound/fields.js';
import { allowVerdict, type InboundVerdict, refuseVerdict } from '../inbound/verdict.js';
import { createLimiter, type Limiter } from '../limits/limiter.js';
import { describe } from '../limits/policy.js';
import type { LimitStore } from '../limits/store.js';
import type { PolicyOptions, StoreErrorPolicy } from '../limits/types.js';
import { type Clock, type Scheduler, sleep, systemClock } from '../time.js';

export type { InboundVerdict } from '../inbound/verdict.js';

/** The key a request is limited under; null, undefined or "" fall back to the client address. */
export type KeyFunction<Request> = (request: Request) => string | null | undefined | Promise<string | null | undefined>;

export interface RateLimitOptions<Request> {
  /** One policy or several (all-or-nothing), as `createLimiter` takes them. Unnamed ones show as "default"... */
  limits?: PolicyOptions | readonly PolicyOptions[];
  /** Or a limiter you built (its store and onStoreError are its own). */
  limiter?: Limiter;
  /**
   * What each caller is limited by (default: the client address, IPv6 grouped by /64). A request for which it
   * returns nothing is limited by its address: a missing API key never means no limit.
   */
  key?: KeyFunction<Request>;
  /** Which RateLimit fields replies carry (default 'draft-10'). */
  headers?: RateLimitDraft;
  /** With `limits`: when the store cannot answer (default 'open': a store outage does not take the API down). */
  onStoreError?: StoreErrorPolicy;
  /** With `limits`: where states live (default: a new memory store). A Redis store shares limits across processes. */
  store?: LimitStore;
  /** With `limits`: inject a clock (tests). A clock with `setTimer` (createManualClock) also times leaky-bucket delays. */
  clock?: Clock;
  /**
   * With `limits`: namespaces this middleware's states on a shared store (default "ratelimit"). Two middleware
   * with the same policy names and prefix on one store share their counts.
   */
  prefix?: string;
}

/** Checks one request; resolves with the verdict. Rejects only when the key function throws. */
export type RateLimitCheck<Request> = (request: Request) => Promise<InboundVerdict>;

const LIMITS_EXAMPLE = "{ algorithm: 'sliding-window', limit: 100, window: '1m' }";
const LIMITER_OWNED = ['onStoreError', 'store', 'clock', 'prefix'] as const;

/**
 * Builds the check for one middleware. `addressOf` reads the framework's idea of the client address (which
 * honours its trusted-proxy settings); it is used when there is no `key` or the key function returns nothing.
 */
export function createRateLimitCheck<Request>(
  options: RateLimitOptions<Request>,
  addressOf: (request: Request) => string | undefined,
): RateLimitCheck<Request> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', `expected an object such as { limits: ${LIMITS_EXAMPLE} }`);
  }
  const draft = options.headers ?? 'draft-10';
  if (!isRateLimitDraft(draft)) {
    throw new InvalidOptionError(
      'headers',
      `expected one of ${RATE_LIMIT_DRAFTS.map((name) => `"${name}"`).join(', ')}, got ${describe(draft)}`,
    );
  }
  const keyOf = options.key;
  if (keyOf !== undefined && typeof keyOf !== 'function') {
    throw new InvalidOptionError(
      'key',
      `expected a function of the request returning a string, got ${describe(keyOf)}`,
    );
  }
  const limiter = limiterOf(options);
  for (const policy of limiter.policies) preparePolicyFields(policy);

  const clock = options.clock as Partial<Scheduler> | undefined;
  const scheduler: Scheduler = typeof clock?.setTimer === 'function' ? (clock as Scheduler) : systemClock;
  const addressKey = (request: Request) => clientAddressKey(addressOf(request)) ?? 'unknown';

  async function keyFor(request: Request): Promise<string> {
    if (keyOf === undefined) return addressKey(request);
    let key = keyOf(request);
    if (typeof key !== 'string' && key !== null && key !== undefined) key = await key;
    return typeof key === 'string' && key !== '' ? key : addressKey(request);
  }

  return async (request) => {
    const key = await keyFor(request);
    const decision = await limiter.take(key);
    if (!decision.allowed) return refuseVerdict(draft, null, decision);
    // A leaky bucket without nodelay holds an admitted request back, as nginx's limit_req does, to smooth bursts.
    if (decision.delayMs > 0) await sleep(scheduler, decision.delayMs);
    const degraded = decision.outcome === 'unavailable';
    const holds = decision.lease === undefined ? null : [{ limiter, key, lease: decision.lease }];
    return allowVerdict(draft, null, degraded ? null : decision, holds, degraded);
  };
}

function limiterOf<Request>(options: RateLimitOptions<Request>): Limiter {
  if (options.limiter !== undefined) {
    if (options.limits !== undefined) {
      throw new InvalidOptionError('limiter', 'give either limits or limiter, not both');
    }
    if (typeof options.limiter?.take !== 'function') {
      throw new InvalidOptionError(
        'limiter',
        `expected a limiter from createLimiter, got ${describe(options.limiter)}`,
      );
    }
    const owned = LIMITER_OWNED.find((name) => options[name] !== undefined);
    if (owned !== undefined) {
      throw new InvalidOptionError(
        owned,
        'set it on the limiter you pass (createLimiter(policies, { ... })), not here',
      );
    }
    return options.limiter;
  }
  if (options.limits === undefined) {
    throw new InvalidOptionError('limits', `required (or limiter): a policy such as ${LIMITS_EXAMPLE}, or a list`);
  }
  return createLimiter(options.limits, {
    store: options.store,
    clock: options.clock,
    onStoreError: options.onStoreError ?? 'open',
    prefix: options.prefix ?? 'ratelimit',
  });
}
