/**
 * RFC 9457 problem details for inbound refusals: which rule and policy refused the call, what they allow, and
 * when to come back. A problem has the gateway's shape (src/gateway/problem.ts: status, kind, title, detail,
 * retryAfterSeconds, extra), so the gateway sends it with its own `sendProblem`, and the body is the same either
 * way: `{ type: "urn:sluice:problem:<kind>", title, status, detail, retryAfterSeconds, ...extra }`.
 */
import type { CompiledPolicy, Decision } from '../limits/types.js';
import { policyDisplayName, retryAfterSeconds } from './fields.js';

export const INBOUND_LIMIT_KIND = 'inbound-limit';
export const INBOUND_LIMITS_UNAVAILABLE_KIND = 'inbound-limits-unavailable';

/** The problem body's members beyond RFC 9457's own. */
export type InboundProblemDetails = {
  /** The inbound rule (gateway); absent for middleware, which has one limiter. */
  rule?: string;
  /** The policy that refused (or, for a store outage, the rule's first). */
  policy: string;
  /** The policy's limit: units per window, or at once for concurrency. */
  limit: number;
  /** The policy's window in whole seconds, rounded up; absent for concurrency. */
  windowSeconds?: number;
};

export interface InboundProblem {
  /** 429 when a limit refused the call; 503 when the limit store could not answer and its fallback refused. */
  status: 429 | 503;
  /** The `type` is `urn:sluice:problem:<kind>`. */
  kind: typeof INBOUND_LIMIT_KIND | typeof INBOUND_LIMITS_UNAVAILABLE_KIND;
  title: string;
  detail: string;
  /** The same as `Retry-After`. */
  retryAfterSeconds: number;
  extra: InboundProblemDetails;
}

/** The body and head of a refusal, ready to send. */
export interface ProblemResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A 429 problem: `decision` (not allowed, not 'unavailable') says which policy refused and for how long. */
export function limitedProblem(rule: string | null, decision: Decision): InboundProblem {
  const seconds = retryAfterSeconds(decision.retryAfterMs);
  const { policy } = decision;
  const name = policyDisplayName(policy);
  const who =
    rule === null ? `Policy "${name}"` : name === rule ? `Rule "${rule}"` : `Rule "${rule}", policy "${name}",`;
  return {
    status: 429,
    kind: INBOUND_LIMIT_KIND,
    title: 'Too Many Requests',
    detail: `${who} allows ${describePolicy(policy)}; retry after ${plural(seconds, 'second')}.`,
    retryAfterSeconds: seconds,
    extra: details(rule, policy),
  };
}

/**
 * A 503 problem: the limit store could not answer and the limiter's `onStoreError` fallback refused. Not a 429:
 * the caller did nothing wrong, and an outage is never disguised as a limit.
 */
export function unavailableProblem(rule: string | null, decision: Decision): InboundProblem {
  const seconds = retryAfterSeconds(decision.retryAfterMs);
  const where = rule === null ? '' : ` for rule "${rule}"`;
  const fallback = decision.fallback === 'local' ? 'its local fallback refused the call' : 'calls are refused then';
  return {
    status: 503,
    kind: INBOUND_LIMITS_UNAVAILABLE_KIND,
    title: 'Rate Limits Unavailable',
    detail: `The rate-limit store could not answer${where} and ${fallback} (onStoreError: ${decision.fallback ?? 'closed'}); retry after ${plural(seconds, 'second')}.`,
    retryAfterSeconds: seconds,
    extra: details(rule, decision.policy),
  };
}

function details(rule: string | null, policy: CompiledPolicy): InboundProblemDetails {
  return {
    ...(rule === null ? {} : { rule }),
    policy: policyDisplayName(policy),
    limit: policy.limit,
    ...(policy.algorithm === 'concurrency' ? {} : { windowSeconds: Math.ceil(policy.windowMs / 1000) }),
  };
}

/** What a policy allows, in words: "100 requests per minute", "10 requests at once". */
export function describePolicy(policy: CompiledPolicy): string {
  const requests = plural(policy.limit, 'request');
  if (policy.algorithm === 'concurrency') return `${requests} at once`;
  const rate = `${requests} per ${describeWindow(policy.windowMs)}`;
  return policy.capacity === policy.limit ? rate : `${rate}, in bursts of up to ${policy.capacity}`;
}

const UNITS: ReadonlyArray<[number, string]> = [
  [86_400_000, 'day'],
  [3_600_000, 'hour'],
  [60_000, 'minute'],
  [1000, 'second'],
];

/** `minute`, `5 minutes`, `1.5 seconds`, `250 ms`. */
export function describeWindow(windowMs: number): string {
  for (const [size, unit] of UNITS) {
    if (windowMs < size) continue;
    const count = windowMs / size;
    if (count === 1) return unit;
    if (Number.isInteger(count * 10)) return `${count} ${unit}s`;
  }
  return `${windowMs} ms`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** The RFC 9457 body of a problem, as the gateway's `sendProblem` writes it. */
export function problemBody(problem: InboundProblem): Record<string, unknown> {
  return {
    type: `urn:sluice:problem:${problem.kind}`,
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    retryAfterSeconds: problem.retryAfterSeconds,
    ...problem.extra,
  };
}

/** The full answer for a problem: its status, `headers` plus the content type, and the JSON body. */
export function problemResponse(problem: InboundProblem, headers: Record<string, string>): ProblemResponse {
  return {
    status: problem.status,
    headers: { ...headers, 'content-type': 'application/problem+json', 'cache-control': 'no-store' },
    body: JSON.stringify(problemBody(problem)),
  };
}
