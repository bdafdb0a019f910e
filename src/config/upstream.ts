/**
 * One upstream's options after validation: the preset merged under the user's options, defaults filled in,
 * durations in whole milliseconds. The gateway and the library client both build their pipeline from this.
 */

import { withPreset } from '../presets/apply.js';
import type { PresetName } from '../presets/index.js';
import type { Dialect } from '../signals/types.js';
import { bareRecord } from './bare-record.js';
import {
  buildBatchRoutes,
  buildCacheOptions,
  buildCoalesceOptions,
  ECONOMY_DEFAULTS,
  type UpstreamBatchRoute,
  type UpstreamCacheOptions,
  type UpstreamCoalesceOptions,
} from './economy.js';
import { durationMs, normalizeBaseUrl } from './fields.js';
import { problemsFromIssues } from './issues.js';
import { normalizeUpstreamLimit, policyNames, type UpstreamLimit } from './policy.js';
import { ConfigError, type ConfigPath, type ConfigProblem, formatPath, type PathProblem } from './problems.js';
import { parseRoutePattern, type UpstreamRoute } from './routes.js';
import { normalizeSecretReference, type SecretReference, type SecretReferenceInput } from './secrets.js';
import { upstreamRelationProblems } from './upstream-relations.js';
import {
  type BALANCES,
  type ClientOptionsInput,
  clientOptionsSchema,
  type JITTERS,
  type UpstreamOptionsInput,
  upstreamOptionsSchema,
} from './upstream-schema.js';

export interface UpstreamEndpoint {
  url: string;
  weight: number;
}

/** How a tenant's secret is sent to the upstream. */
export type UpstreamCredential =
  | { placement: 'header'; header: string; prefix: string; value: SecretReference }
  | { placement: 'query'; query: string; value: SecretReference }
  /** HTTP Basic: `authorization: Basic base64(username:password)`. */
  | { placement: 'basic'; username: string | SecretReference; password: SecretReference };

export interface UpstreamRetryOptions {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxElapsedMs: number | null;
  jitter: (typeof JITTERS)[number];
  factor: number;
  maxServerWaitMs: number;
  maxReplayBytes: number;
  retryOn: number[];
  budget: { ratio: number; minPerSecond: number; windowMs: number };
  idempotencyKey: boolean;
}

export interface UpstreamOptions {
  /** The base URL (the first endpoint's), without a trailing slash. */
  url: string;
  /** Never empty: an upstream with `url` has that one endpoint, with weight 1. */
  endpoints: UpstreamEndpoint[];
  balance: (typeof BALANCES)[number];
  preset: PresetName | null;
  dialect: Dialect;
  /** Replaces the caller's User-Agent; null: the caller's is forwarded. */
  userAgent: string | null;
  limits: UpstreamLimit[];
  /** Most calls in flight per credential; null: no cap beyond the limits. */
  concurrency: number | null;
  routes: UpstreamRoute[];
  majorParameters: string[];
  pacing: { safetyMargin: number; discovery: { initialRate: number; windowMs: number } };
  retry: UpstreamRetryOptions;
  queue: { maxDepth: number; timeoutMs: number; reserve: { share: number; minPriority: number } };
  breaker: {
    consecutiveFailures: number;
    failureRatio: number;
    minimumCalls: number;
    windowMs: number;
    openForMs: number;
    halfOpenProbes: number;
  };
  timeouts: { connectMs: number; headersMs: number; bodyMs: number };
  cache: UpstreamCacheOptions;
  coalesce: UpstreamCoalesceOptions;
  batch: UpstreamBatchRoute[];
  maxRequestBytes: number;
  maxResponseBytes: number;
  /** Header names in lower case. */
  headers: { set: Record<string, string>; default: Record<string, string>; remove: string[] };
  /** Per tenant name, and `default` for calls of no tenant or of a tenant without its own. No prototype. */
  credentials: Record<string, UpstreamCredential>;
}

const MEBIBYTE = 1024 * 1024;

/** Every default in one place (docs/configuration.md repeats them; a test keeps the two in step). */
export const UPSTREAM_DEFAULTS = {
  balance: 'weighted',
  dialect: 'auto',
  userAgent: null,
  concurrency: null,
  pacing: { safetyMargin: 0.01, discovery: { initialRate: 5, windowMs: 1000 } },
  retry: {
    attempts: 3,
    baseDelayMs: 100,
    maxDelayMs: 10_000,
    maxElapsedMs: null,
    jitter: 'full',
    factor: 2,
    maxServerWaitMs: 60_000,
    maxReplayBytes: MEBIBYTE,
    retryOn: [408, 429, 500, 502, 503, 504],
    budget: { ratio: 0.1, minPerSecond: 1, windowMs: 10_000 },
    idempotencyKey: false,
  },
  queue: { maxDepth: 1000, timeoutMs: 30_000, reserve: { share: 0, minPriority: 1 } },
  breaker: {
    consecutiveFailures: 5,
    failureRatio: 0.5,
    minimumCalls: 10,
    windowMs: 10_000,
    openForMs: 10_000,
    halfOpenProbes: 1,
  },
  timeouts: { connectMs: 5000, headersMs: 30_000, bodyMs: 30_000 },
  cache: ECONOMY_DEFAULTS.cache,
  coalesce: ECONOMY_DEFAULTS.coalesce,
  batch: ECONOMY_DEFAULTS.batch,
  maxRequestBytes: 10 * MEBIBYTE,
  maxResponseBytes: 100 * MEBIBYTE,
  /** How a credential is sent when neither it nor the preset says: the most common form. */
  credentialPlacement: { header: 'authorization', prefix: 'Bearer ' },
} as const;

/** Input that passed the schema, either form. */
type ValidInput = UpstreamOptionsInput | ClientOptionsInput;

const lowerCaseKeys = (record: Record<string, string> | undefined) =>
  bareRecord(Object.entries(record ?? {}).map(([key, value]) => [key.toLowerCase(), value] as const));

export interface BuildContext {
  /** Renders an option's path for the references it holds, so that secret errors can name it. */
  describe: (segments: ConfigPath) => string;
  /** Relative secret files are resolved from here. */
  baseDirectory: string;
}

function buildCredentials(
  input: ValidInput,
  at: ConfigPath,
  context: BuildContext,
): Record<string, UpstreamCredential> {
  const defaults: { header?: string; prefix?: string; query?: string } =
    input.credentialDefaults ?? UPSTREAM_DEFAULTS.credentialPlacement;
  const reference = (value: SecretReferenceInput, tenant: string, key: string) =>
    normalizeSecretReference(value, context.describe([...at, 'credentials', tenant, key]), context.baseDirectory);
  return bareRecord(
    Object.entries(input.credentials ?? {}).map(([tenant, entry]): [string, UpstreamCredential] => {
      if (entry.username !== undefined) {
        const username =
          typeof entry.username === 'string' ? entry.username : reference(entry.username, tenant, 'username');
        return [tenant, { placement: 'basic', username, password: reference(entry.value, tenant, 'value') }];
      }
      // The entry's own placement wins whole; only when it names none do the upstream's defaults apply.
      const ownPlacement = entry.header !== undefined || entry.query !== undefined;
      const placement = ownPlacement ? entry : defaults;
      const value = reference(entry.value, tenant, 'value');
      if (placement.query !== undefined) return [tenant, { placement: 'query', query: placement.query, value }];
      const header = (placement.header ?? UPSTREAM_DEFAULTS.credentialPlacement.header).toLowerCase();
      const prefix = entry.prefix ?? (ownPlacement ? '' : (placement.prefix ?? ''));
      return [tenant, { placement: 'header', header, prefix, value }];
    }),
  );
}

function buildRoutes(input: ValidInput): UpstreamRoute[] {
  return (input.routes ?? []).map((route) => ({
    match: route.match,
    ...parseRoutePattern(route.match),
    bucket: route.bucket ?? null,
    cost: { ...route.cost },
  }));
}

function buildLimits(input: ValidInput): UpstreamLimit[] {
  const limits = input.limits ?? [];
  const names = policyNames(
    limits.map((limit) => limit.name),
    (index) => {
      const limit = limits[index];
      return limit?.bucket ?? limit?.unit ?? (limit?.algorithm === 'concurrency' ? 'concurrency' : 'requests');
    },
  );
  return limits.map((limit, index) => normalizeUpstreamLimit(limit, names[index] as string));
}

function buildEndpoints(input: ValidInput): UpstreamEndpoint[] {
  if ('baseUrl' in input && input.baseUrl !== undefined) return [{ url: normalizeBaseUrl(input.baseUrl), weight: 1 }];
  const upstream = input as UpstreamOptionsInput;
  if (upstream.endpoints !== undefined) {
    return upstream.endpoints.map((endpoint) => ({
      url: normalizeBaseUrl(endpoint.url),
      weight: endpoint.weight ?? 1,
    }));
  }
  return [{ url: normalizeBaseUrl(upstream.url as string), weight: 1 }];
}

const orDuration = (value: number | string | undefined, fallback: number) =>
  value === undefined ? fallback : durationMs(value);

/**
 * Builds the normalised options from input that passed the schema and the relation checks, with the preset already
 * merged in (`withPreset`). `at` is where the upstream sits, for the paths its secret references remember.
 */
export function buildUpstreamOptions(input: ValidInput, at: ConfigPath, context: BuildContext): UpstreamOptions {
  const defaults = UPSTREAM_DEFAULTS;
  const endpoints = buildEndpoints(input);
  const { retry = {}, queue = {}, breaker = {}, timeouts = {}, cache, pacing = {}, headers = {} } = input;
  return {
    url: (endpoints[0] as UpstreamEndpoint).url,
    endpoints,
    balance: ('balance' in input ? input.balance : undefined) ?? defaults.balance,
    preset: input.preset ?? null,
    dialect: input.dialect ?? defaults.dialect,
    userAgent: input.userAgent ?? defaults.userAgent,
    limits: buildLimits(input),
    concurrency: input.concurrency ?? defaults.concurrency,
    routes: buildRoutes(input),
    majorParameters: [...(input.majorParameters ?? [])],
    pacing: {
      safetyMargin: pacing.safetyMargin ?? defaults.pacing.safetyMargin,
      discovery: {
        initialRate: pacing.discovery?.initialRate ?? defaults.pacing.discovery.initialRate,
        windowMs: orDuration(pacing.discovery?.window, defaults.pacing.discovery.windowMs),
      },
    },
    retry: {
      attempts: retry.attempts ?? defaults.retry.attempts,
      baseDelayMs: orDuration(retry.baseDelay, defaults.retry.baseDelayMs),
      maxDelayMs: orDuration(retry.maxDelay, defaults.retry.maxDelayMs),
      maxElapsedMs:
        retry.maxElapsed === undefined || retry.maxElapsed === null
          ? defaults.retry.maxElapsedMs
          : durationMs(retry.maxElapsed),
      jitter: retry.jitter ?? defaults.retry.jitter,
      factor: retry.factor ?? defaults.retry.factor,
      maxServerWaitMs: orDuration(retry.maxServerWait, defaults.retry.maxServerWaitMs),
      maxReplayBytes: retry.maxReplayBytes ?? defaults.retry.maxReplayBytes,
      retryOn: [...(retry.retryOn ?? defaults.retry.retryOn)],
      budget: {
        ratio: retry.budget?.ratio ?? defaults.retry.budget.ratio,
        minPerSecond: retry.budget?.minPerSecond ?? defaults.retry.budget.minPerSecond,
        windowMs: orDuration(retry.budget?.window, defaults.retry.budget.windowMs),
      },
      idempotencyKey: retry.idempotencyKey ?? defaults.retry.idempotencyKey,
    },
    queue: {
      maxDepth: queue.maxDepth ?? defaults.queue.maxDepth,
      timeoutMs: orDuration(queue.timeout, defaults.queue.timeoutMs),
      reserve: {
        share: queue.reserve?.share ?? defaults.queue.reserve.share,
        minPriority: queue.reserve?.minPriority ?? defaults.queue.reserve.minPriority,
      },
    },
    breaker: {
      consecutiveFailures: breaker.consecutiveFailures ?? defaults.breaker.consecutiveFailures,
      failureRatio: breaker.failureRatio ?? defaults.breaker.failureRatio,
      minimumCalls: breaker.minimumCalls ?? defaults.breaker.minimumCalls,
      windowMs: orDuration(breaker.window, defaults.breaker.windowMs),
      openForMs: orDuration(breaker.openFor, defaults.breaker.openForMs),
      halfOpenProbes: breaker.halfOpenProbes ?? defaults.breaker.halfOpenProbes,
    },
    timeouts: {
      connectMs: orDuration(timeouts.connect, defaults.timeouts.connectMs),
      headersMs: orDuration(timeouts.headers, defaults.timeouts.headersMs),
      bodyMs: orDuration(timeouts.body, defaults.timeouts.bodyMs),
    },
    cache: buildCacheOptions(cache),
    coalesce: buildCoalesceOptions(input.coalesce),
    batch: buildBatchRoutes(input.batch),
    maxRequestBytes: input.maxRequestBytes ?? defaults.maxRequestBytes,
    maxResponseBytes: input.maxResponseBytes ?? defaults.maxResponseBytes,
    headers: {
      set: lowerCaseKeys(headers.set),
      default: lowerCaseKeys(headers.default),
      remove: (headers.remove ?? []).map((header) => header.toLowerCase()),
    },
    credentials: buildCredentials(input, at, context),
  };
}

/** `prefix` then the relative path: `upstreams.github` + `retry.attempts`. */
export function joinPath(prefix: string, segments: ConfigPath): string {
  if (segments.length === 0) return prefix === '' ? formatPath(segments) : prefix;
  const relative = formatPath(segments);
  if (prefix === '') return relative;
  return relative.startsWith('[') ? `${prefix}${relative}` : `${prefix}.${relative}`;
}

export function toConfigProblems(problems: readonly PathProblem[], prefix: string): ConfigProblem[] {
  const seen = new Set<string>();
  const unique: ConfigProblem[] = [];
  for (const problem of problems) {
    const path = joinPath(prefix, problem.segments);
    const key = `${path}\n${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push({ path, message: problem.message });
  }
  return unique;
}

export interface NormalizeUpstreamOptions {
  /** Relative secret file paths are resolved from here. Default: the working directory. */
  baseDirectory?: string;
}

/**
 * Validates one upstream's options (the gateway's form, with `url` or `endpoints`, or the client's, with `baseUrl`),
 * merges its preset, fills in defaults and converts durations. Throws a ConfigError listing every problem, each path
 * prefixed with `path` (such as `upstreams.github` or `createClient`).
 */
export function normalizeUpstreamOptions(
  input: UpstreamOptionsInput | ClientOptionsInput | unknown,
  path: string,
  options: NormalizeUpstreamOptions = {},
): UpstreamOptions {
  const isGatewayForm =
    input !== null && typeof input === 'object' && ('url' in input || 'endpoints' in input) && !('baseUrl' in input);
  const schema = isGatewayForm ? upstreamOptionsSchema : clientOptionsSchema;
  const result = schema.safeParse(input, { reportInput: true });
  const problems = [
    ...(result.success ? [] : problemsFromIssues(result.error.issues)),
    ...upstreamRelationProblems(input, [], { kind: isGatewayForm ? 'gateway' : 'client', tenants: null }),
  ];
  if (!result.success || problems.length > 0) throw new ConfigError(toConfigProblems(problems, path));
  return buildUpstreamOptions(withPreset(result.data), [], {
    describe: (segments) => joinPath(path, segments),
    baseDirectory: options.baseDirectory ?? process.cwd(),
  });
}
