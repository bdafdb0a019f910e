/**
 * Which budgets a call draws on, keyed the way the provider keys its limits: always the credential's budget
 * (upstream + tenant), and — once a reply has named it, or the config routes it — a narrower one: GitHub's resource
 * (core, search, graphql), Discord's bucket plus the route's major parameter, or a configured route bucket. Limits
 * configured with `scope: upstream` add one budget shared by every credential.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { BudgetKey } from '../budget/types.js';
import { findMajorParameter, findRoute, type UpstreamRoute } from '../config/routes.js';
import { routeShape } from '../inbound/route-shape.js';
import type { RateLimitSignal } from '../signals/types.js';
import type { ConfiguredBudgets } from './configured-limits.js';
import type { Call } from './stage.js';

/** Discord's documented major parameters: a route's bucket is kept apart per channel, guild or webhook. */
export const DISCORD_MAJOR_PARAMETERS = ['/channels/{id}', '/guilds/{id}', '/webhooks/{id}/{token}', '/webhooks/{id}'];

export interface BudgetKeyingOptions {
  upstream: string;
  configured?: ConfiguredBudgets;
  routes?: readonly UpstreamRoute[];
  /** Route prefixes whose `{id}` value keys a separate budget (Discord's major parameters). */
  majorParameters?: readonly string[];
  /**
   * The resource a route most likely draws on before any reply said so (GitHub: `/search/*` is "search", most
   * else "core"), so that even the first calls of a new route are paced by what is known of that resource. Given
   * the dialect replies were read in (the configured one, or the one detected in the latest reply).
   */
  resourceHint?(dialect: string, method: string, segments: readonly string[]): string | null;
  /** The configured dialect ('auto' to go by what replies are detected as). */
  dialect?: string;
}

export interface BudgetKeying {
  /** The budgets a call draws on, broadest first. */
  keysFor(call: Call): BudgetKey[];
  /** The narrowest budget of a call: calls on one lane wait for the same limit. */
  laneOf(call: Call): string;
  /** Which budget a reply's signal belongs to; remembers the route's narrow budget for later calls. */
  keyOfSignal(call: Call, signal: RateLimitSignal): string;
}

/**
 * A major parameter as it may appear in a budget's key. Ids stay readable; a longer one (Discord's
 * `/webhooks/{id}/{token}`) carries a secret, which must not end up in keys, snapshots or metrics: it is hashed.
 */
function keyablePart(major: string | null): string | null {
  if (major === null || major.split('/').length <= 3) return major;
  return `#${createHash('sha256').update(major).digest('base64url').slice(0, 16)}`;
}

function pathOnly(path: string): string {
  const end = path.indexOf('?');
  return end === -1 ? path : path.slice(0, end);
}

export function createBudgetKeying(options: BudgetKeyingOptions): BudgetKeying {
  const routes = options.routes ?? [];
  const majors = options.majorParameters?.length ? options.majorParameters : DISCORD_MAJOR_PARAMETERS;
  const configured = options.configured;
  const sharedKey = `${options.upstream}|*`;
  const hasShared = (configured?.upstream.length ?? 0) > 0;
  // Route shape -> the narrow budget a reply named (GitHub resource, Discord bucket hash). Bounded: shapes with
  // names in them (/repos/{owner}/{repo}) are as many as the names; a forgotten one is relearned from one reply.
  const learnedNarrow = new LRUCache<string, { kind: 'resource' | 'bucket'; name: string }>({ max: 10_000 });

  let dialect = options.dialect ?? 'auto';

  const credentialKey = (call: Call) => `${options.upstream}|${call.notes.credential ?? call.tenant ?? '-'}`;

  const narrowOf = (call: Call): { key: string; bucket: string | null } | null => {
    const path = pathOnly(call.path);
    const segments = path.split('/').filter(Boolean);
    const learned = learnedNarrow.get(routeShape(call.method, path));
    if (learned?.kind === 'resource') return { key: `${credentialKey(call)}|resource:${learned.name}`, bucket: null };
    if (learned?.kind === 'bucket') {
      // Route buckets are only ever named by Discord-style replies, so its major parameters are a safe default.
      const major = keyablePart(findMajorParameter(majors, path));
      return { key: `${credentialKey(call)}|bucket:${learned.name}${major ? `:${major}` : ''}`, bucket: null };
    }
    const route = findRoute(routes, call.method, path);
    if (route?.bucket) return { key: `${credentialKey(call)}|route:${route.bucket}`, bucket: route.bucket };
    const hint = options.resourceHint?.(dialect, call.method, segments);
    if (hint) return { key: `${credentialKey(call)}|resource:${hint}`, bucket: null };
    return null;
  };

  return {
    keysFor(call) {
      const keys: BudgetKey[] = [];
      if (hasShared) keys.push({ key: sharedKey, configured: configured?.upstream });
      keys.push({ key: credentialKey(call), configured: configured?.credential });
      const narrow = narrowOf(call);
      if (narrow) {
        const sharedBucket = narrow.bucket === null ? undefined : configured?.upstreamBuckets[narrow.bucket];
        if (sharedBucket?.length) keys.push({ key: `${sharedKey}|route:${narrow.bucket}`, configured: sharedBucket });
        keys.push({
          key: narrow.key,
          configured: narrow.bucket === null ? undefined : configured?.credentialBuckets[narrow.bucket],
        });
      }
      return keys;
    },
    laneOf(call) {
      return narrowOf(call)?.key ?? credentialKey(call);
    },
    keyOfSignal(call, signal) {
      if (options.dialect === undefined || options.dialect === 'auto') dialect = signal.dialect;
      if (signal.scope === 'global') return credentialKey(call);
      // The route's shape (ids replaced): `/repos/1/issues` and `/repos/2/issues` share what is learned.
      const shape = routeShape(call.method, call.path);
      if (signal.resource) learnedNarrow.set(shape, { kind: 'resource', name: signal.resource });
      else if (signal.bucket) learnedNarrow.set(shape, { kind: 'bucket', name: signal.bucket });
      return narrowOf(call)?.key ?? credentialKey(call);
    },
  };
}
