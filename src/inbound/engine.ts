/**
 * The gateway's inbound limits: the configured rules (`inbound.rules`), each a limiter over its policies, checked
 * for every request they apply to.
 *
 * Across rules: the rules that apply are taken in configuration order and the first refusal stops the check. A
 * rule's own policies are all-or-nothing (the limiter's contract), but a refused request has already consumed
 * from the rules before the one that refused it (concurrency slots excepted: those are given back at once). So
 * order rules from the narrowest to the widest — per key, tenant or IP before per route or plan — and a caller
 * over its own limit never spends a budget it shares with others. (Peeking every rule first would double the
 * store round trips on every allowed request and still race with other replicas.)
 */
import { hash } from 'node:crypto';
import type { InboundKey, InboundRule } from '../config/gateway.js';
import type { ConfigPolicy } from '../config/policy.js';
import { InvalidOptionError } from '../errors.js';
import { createLimiter, type Limiter } from '../limits/limiter.js';
import type { LimitStore } from '../limits/store.js';
import type { Decision, StoreErrorPolicy } from '../limits/types.js';
import { createMemoryStore } from '../stores/memory.js';
import type { Clock } from '../time.js';
import { clientAddressKey } from './address.js';
import { isRateLimitDraft, preparePolicyFields, RATE_LIMIT_DRAFTS, type RateLimitDraft } from './fields.js';
import { limiterPolicy } from './policies.js';
import { routeShape } from './route-shape.js';
import {
  allowVerdict,
  type InboundVerdict,
  type LeaseHold,
  refuseVerdict,
  releaseHolds,
  releaseVerdict,
} from './verdict.js';

/** Who is calling what: everything a rule may key on. */
export interface InboundSubject {
  /** The caller's key (gateway: the `x-sluice-key` value). Stored only as a digest. */
  key?: string;
  tenant?: string;
  /** The tenant's plan: selects a rule's `plans` entry. */
  plan?: string;
  /** The client address (the socket's, or the one a trusted proxy gave). */
  ip: string;
  upstream?: string;
  method: string;
  /** The request path (a query is ignored). */
  path: string;
  /** The configured route pattern the request matched (such as `GET /repos/{owner}/{repo}`), if any. */
  route?: string;
}

export interface InboundConfig {
  headers: RateLimitDraft;
  rules: readonly InboundRule[];
}

export interface InboundLimitsOptions {
  /** Where limit states live (default: one new memory store). A Redis store shares them across replicas. */
  store?: LimitStore;
  /** Inject a clock (tests). */
  clock?: Clock;
  /** When the store cannot answer (default 'open': an outage of the store does not take the API down). */
  onStoreError?: StoreErrorPolicy;
  /** This process's share of each limit for the 'local' fallback, in (0, 1]. */
  localShare?: number;
  /** Namespaces the rules' states on a shared store (default "inbound"). */
  prefix?: string;
}

export interface InboundLimits {
  readonly headers: RateLimitDraft;
  /** Checks every rule that applies to `subject`; consumes from each until one refuses. Never rejects for a store failure. */
  check(subject: InboundSubject): Promise<InboundVerdict>;
  /** Frees the concurrency slots an allowed verdict holds; call it when the response ends. */
  release(verdict: InboundVerdict): Promise<void>;
}

interface CompiledRule {
  name: string;
  by: InboundKey;
  upstreams: ReadonlySet<string> | null;
  /** For callers without a plan entry; null when the rule has only plans. */
  limiter: Limiter | null;
  plans: ReadonlyMap<string, Limiter>;
}

const STORE_ERROR_POLICIES: readonly StoreErrorPolicy[] = ['open', 'closed', 'local'];

export function createInboundLimits(inbound: InboundConfig, options: InboundLimitsOptions = {}): InboundLimits {
  const draft = inbound.headers;
  if (!isRateLimitDraft(draft)) {
    throw new InvalidOptionError(
      'inbound.headers',
      `expected one of ${RATE_LIMIT_DRAFTS.map((name) => `"${name}"`).join(', ')}, got ${JSON.stringify(draft)}`,
    );
  }
  const onStoreError = options.onStoreError ?? 'open';
  if (!STORE_ERROR_POLICIES.includes(onStoreError)) {
    throw new InvalidOptionError(
      'onStoreError',
      `expected "open", "closed" or "local", got ${JSON.stringify(onStoreError)}`,
    );
  }
  const store = options.store ?? createMemoryStore(options.clock ? { clock: options.clock } : {});
  const prefix = options.prefix ?? 'inbound';
  const limiterOptions = {
    store,
    clock: options.clock,
    onStoreError,
    localShare: options.localShare,
  };

  const compile = (policies: readonly ConfigPolicy[], statePrefix: string, field: string): Limiter => {
    try {
      const limiter = createLimiter(policies.map(limiterPolicy), { ...limiterOptions, prefix: statePrefix });
      for (const policy of limiter.policies) preparePolicyFields(policy);
      return limiter;
    } catch (error) {
      if (error instanceof InvalidOptionError && error.field.startsWith('policies')) {
        const problem = error.message.slice(error.field.length + 2);
        throw new InvalidOptionError(`${field}${error.field.slice('policies'.length)}`, problem);
      }
      throw error;
    }
  };

  const rules: CompiledRule[] = inbound.rules.map((rule, index) => {
    const field = `inbound.rules[${index}]`;
    const statePrefix = `${prefix}:${rule.name}`;
    const plans = new Map<string, Limiter>();
    for (const [plan, policies] of Object.entries(rule.plans)) {
      if (policies.length === 0) continue;
      plans.set(plan, compile(policies, `${statePrefix}:plan:${plan}`, `${field}.plans.${plan}`));
    }
    return {
      name: rule.name,
      by: rule.by,
      upstreams: rule.upstreams === null ? null : new Set(rule.upstreams),
      limiter: rule.limits.length === 0 ? null : compile(rule.limits, statePrefix, `${field}.limits`),
      plans,
    };
  });

  async function check(subject: InboundSubject): Promise<InboundVerdict> {
    let reportedRule: string | null = null;
    let reported: Decision | null = null;
    let holds: LeaseHold[] | null = null;
    let degraded = false;
    for (const rule of rules) {
      if (rule.upstreams !== null && (subject.upstream === undefined || !rule.upstreams.has(subject.upstream))) {
        continue;
      }
      const limiter = (subject.plan === undefined ? undefined : rule.plans.get(subject.plan)) ?? rule.limiter;
      if (limiter === null) continue;
      const key = subjectKey(rule.by, subject);
      const decision = await limiter.take(key);
      if (!decision.allowed) {
        if (holds !== null) await releaseHolds(holds);
        return refuseVerdict(draft, rule.name, decision);
      }
      if (decision.lease !== undefined) (holds ??= []).push({ limiter, key, lease: decision.lease });
      if (decision.outcome === 'unavailable') degraded = true;
      else if (reported === null || decision.remaining < reported.remaining) {
        reported = decision;
        reportedRule = rule.name;
      }
    }
    return allowVerdict(draft, reportedRule, reported, holds, degraded);
  }

  return { headers: draft, check, release: releaseVerdict };
}

/**
 * The key a rule keeps its limit under, by what it limits. A caller that lacks what the rule keys on (no key, no
 * tenant, no plan) is limited by its address instead: anonymous callers neither escape the rule nor share one
 * budget. Keys never contain a caller's key, only its digest: stores and their tools must not hold secrets.
 */
export function subjectKey(by: InboundKey, subject: InboundSubject): string {
  switch (by) {
    case 'key':
      return subject.key ? callerKeyDigest(subject.key) : addressKey(subject);
    case 'tenant':
      return subject.tenant ? `tenant:${subject.tenant}` : addressKey(subject);
    case 'plan':
      return subject.plan ? `plan:${subject.plan}` : addressKey(subject);
    case 'route':
      return `route:${subject.upstream ?? ''} ${subject.route ?? routeShape(String(subject.method), String(subject.path))}`;
    default:
      return addressKey(subject);
  }
}

const digests = new Map<string, string>();
/** Distinct keys remembered; past it the memory starts over (a flood of made-up keys only costs hashing). */
const MAX_DIGESTS = 10_000;

/** `key:<SHA-256, base64url>`. Hashing costs more than a decision, so a caller's digest is kept. */
function callerKeyDigest(key: string): string {
  let digest = digests.get(key);
  if (digest === undefined) {
    if (digests.size >= MAX_DIGESTS) digests.clear();
    digest = `key:${hash('sha256', key, 'base64url')}`;
    digests.set(key, digest);
  }
  return digest;
}

/** Addresses that are not IP addresses share one key: a caller cannot dodge a limit by sending garbage. */
function addressKey(subject: InboundSubject): string {
  return `ip:${clientAddressKey(subject.ip) ?? 'unknown'}`;
}
