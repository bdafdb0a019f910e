/**
 * Which budgets a call draws on, keyed the way the provider keys its limits: always the credential's budget
 * (upstream + tenant), and — once a reply has named it, or the config maps the route — a narrower one: GitHub's
 * resource (core, search, graphql), Discord's bucket plus the route's major parameter, or a configured route bucket.
 */
import { LRUCache } from 'lru-cache';
import type { BudgetKey, ConfiguredLimit } from '../budget/types.js';
import type { RateLimitSignal } from '../signals/types.js';
import type { Call } from './stage.js';

/** Discord's documented major parameters: a route's bucket is kept apart per channel, guild or webhook. */
export const DISCORD_MAJOR_PARAMETERS = ['/channels/{id}', '/guilds/{id}', '/webhooks/{id}/{token}', '/webhooks/{id}'];

export interface RouteBucketRule {
  /** `"METHOD /path/*"` or `"/path/*"`: `*` matches one segment, a trailing `/*` the rest. */
  match: string;
  bucket: string;
}

export interface BudgetKeyingOptions {
  upstream: string;
  /** Limits of the credential's budget (configured or from a preset). */
  credentialLimits?: readonly ConfiguredLimit[];
  /** Limits per configured bucket. */
  bucketLimits?: Readonly<Record<string, readonly ConfiguredLimit[]>>;
  routes?: readonly RouteBucketRule[];
  /** Route prefixes whose `{id}` value keys a separate budget (Discord's major parameters). */
  majorParameters?: readonly string[];
  /**
   * The resource a route most likely draws on before any reply said so (GitHub: `/search/*` is "search", most
   * else "core"), so that even the first calls of a new route are paced by what is known of that resource.
   */
  resourceHint?(method: string, segments: readonly string[]): string | null;
}

export interface BudgetKeying {
  /** The budgets a call draws on, broadest first. */
  keysFor(call: Call): BudgetKey[];
  /** The narrowest budget of a call: calls on one lane wait for the same limit. */
  laneOf(call: Call): string;
  /** Which budget a reply's signal belongs to; remembers the route's narrow budget for later calls. */
  keyOfSignal(call: Call, signal: RateLimitSignal): string;
}

interface CompiledRule {
  method: string | null;
  segments: string[];
  prefix: boolean;
  bucket: string;
}

function compileRule(rule: RouteBucketRule): CompiledRule {
  const [first, second] = rule.match.trim().split(/\s+/, 2);
  const method = second === undefined ? null : (first as string).toUpperCase();
  const path = (second ?? first ?? '/').replace(/\/+$/, '');
  const segments = path.split('/').filter(Boolean);
  const prefix = segments.at(-1) === '*' && path.endsWith('/*');
  return { method, segments: prefix ? segments.slice(0, -1) : segments, prefix, bucket: rule.bucket };
}

function ruleMatches(rule: CompiledRule, method: string, segments: readonly string[]): boolean {
  if (rule.method !== null && rule.method !== method) return false;
  if (rule.prefix ? segments.length < rule.segments.length : segments.length !== rule.segments.length) return false;
  return rule.segments.every((segment, index) => segment === '*' || segment === segments[index]);
}

const ID_SEGMENT = /^(?:\d+|[0-9a-f]{8,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

function pathSegments(path: string): string[] {
  const end = path.indexOf('?');
  return (end === -1 ? path : path.slice(0, end)).split('/').filter(Boolean);
}

export function createBudgetKeying(options: BudgetKeyingOptions): BudgetKeying {
  const rules = (options.routes ?? []).map(compileRule);
  // Route buckets are only ever named by Discord-style replies, so its documented major parameters are a safe
  // default: they only split budgets that a reply already keyed by bucket.
  const majors = (options.majorParameters?.length ? options.majorParameters : DISCORD_MAJOR_PARAMETERS).map((pattern) =>
    pattern.split('/').filter(Boolean),
  );
  // Route shape -> the narrow budget a reply named (GitHub resource, Discord bucket hash). Bounded: shapes with
  // names in them (/repos/{owner}/{repo}) are as many as the names; a forgotten one is relearned from one reply.
  const learnedNarrow = new LRUCache<string, { kind: 'resource' | 'bucket'; name: string }>({ max: 10_000 });

  const credentialKey = (call: Call) => `${options.upstream}|${call.tenant ?? '-'}`;

  /** The route's shape: ids replaced, so `/repos/1/issues` and `/repos/2/issues` share what is learned. */
  const routeShape = (call: Call, segments: readonly string[]) =>
    `${call.method} /${segments.map((segment) => (ID_SEGMENT.test(segment) ? '{}' : segment)).join('/')}`;

  const majorValue = (segments: readonly string[]): string => {
    for (const major of majors) {
      if (segments.length < major.length) continue;
      let value = '';
      let matches = true;
      for (let index = 0; index < major.length; index++) {
        const part = major[index] as string;
        if (part.startsWith('{')) value += `${value ? '/' : ''}${segments[index]}`;
        else if (part !== segments[index]) {
          matches = false;
          break;
        }
      }
      if (matches) return value;
    }
    return '';
  };

  const narrowOf = (call: Call): { key: string; bucket: string | null } | null => {
    const segments = pathSegments(call.path);
    const learned = learnedNarrow.get(routeShape(call, segments));
    if (learned?.kind === 'resource') return { key: `${credentialKey(call)}|resource:${learned.name}`, bucket: null };
    if (learned?.kind === 'bucket') {
      const major = majorValue(segments);
      return { key: `${credentialKey(call)}|bucket:${learned.name}${major ? `:${major}` : ''}`, bucket: null };
    }
    const rule = rules.find((candidate) => ruleMatches(candidate, call.method, segments));
    if (rule) return { key: `${credentialKey(call)}|route:${rule.bucket}`, bucket: rule.bucket };
    const hint = options.resourceHint?.(call.method, segments);
    if (hint) return { key: `${credentialKey(call)}|resource:${hint}`, bucket: null };
    return null;
  };

  return {
    keysFor(call) {
      const keys: BudgetKey[] = [{ key: credentialKey(call), configured: options.credentialLimits }];
      const narrow = narrowOf(call);
      if (narrow) {
        keys.push({
          key: narrow.key,
          configured: narrow.bucket === null ? undefined : options.bucketLimits?.[narrow.bucket],
        });
      }
      return keys;
    },
    laneOf(call) {
      return narrowOf(call)?.key ?? credentialKey(call);
    },
    keyOfSignal(call, signal) {
      if (signal.scope === 'global') return credentialKey(call);
      const segments = pathSegments(call.path);
      if (signal.resource) learnedNarrow.set(routeShape(call, segments), { kind: 'resource', name: signal.resource });
      else if (signal.bucket) learnedNarrow.set(routeShape(call, segments), { kind: 'bucket', name: signal.bucket });
      return narrowOf(call)?.key ?? credentialKey(call);
    },
  };
}
