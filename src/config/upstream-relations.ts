/**
 * Rules about how an upstream's options relate to each other (and to the tenants), which a schema of each field
 * cannot state. They read the raw input defensively, so that they run, and report, even when other parts of the
 * configuration are invalid: the user gets every problem in one pass.
 */
import { presetFor } from '../presets/apply.js';
import { mergeOptions } from '../presets/merge.js';
import { economyRelationProblems } from './economy.js';
import { DURATION_TEXT, durationMs, NAME_PATTERN } from './fields.js';
import { type ConfigPath, listNames, type PathProblem, problemAt, suggestion } from './problems.js';
import { parseRoutePattern, routePatternProblem } from './routes.js';
import { DEFAULT_CREDENTIAL } from './upstream-schema.js';

export interface UpstreamRelationContext {
  /** `gateway`: located by `url` or `endpoints`; `client`: by `baseUrl` (which the schema requires). */
  kind: 'gateway' | 'client';
  /** The gateway's tenants, which credentials are keyed by; null when there are none to check against (client). */
  tenants: ReadonlySet<string> | null;
}

type Mapping = Record<string, unknown>;

export const isMapping = (value: unknown): value is Mapping =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const mappings = (value: unknown): Array<[number, Mapping]> =>
  Array.isArray(value)
    ? value.flatMap((item, index) => (isMapping(item) ? [[index, item] as [number, Mapping]] : []))
    : [];

const isDuration = (value: unknown): value is number | string =>
  (typeof value === 'number' && Number.isFinite(value) && value >= 0) ||
  (typeof value === 'string' && DURATION_TEXT.test(value));

/** Headers a configuration may not set: they belong to the connection, not to the call. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'content-length',
]);

/** Headers that carry credentials: their values are secrets, which belong under `credentials`, as references. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key', 'api-key']);

function locationProblems(raw: Mapping, merged: Mapping, at: ConfigPath, presetName: string | null): PathProblem[] {
  const problems: PathProblem[] = [];
  const hasEndpoints = merged.endpoints !== undefined;
  if (merged.url === undefined && !hasEndpoints) {
    const note = presetName ? ` (preset "${presetName}" has no URL of its own)` : '';
    problems.push(problemAt([...at, 'url'], `missing: set url (the upstream's base URL) or endpoints${note}`));
  }
  if (raw.url !== undefined && raw.endpoints !== undefined) {
    problems.push(problemAt([...at, 'endpoints'], 'set either url or endpoints, not both'));
  }
  if (raw.balance !== undefined && !hasEndpoints) {
    problems.push(problemAt([...at, 'balance'], 'applies only with endpoints (there is one URL to send calls to)'));
  }
  const seen = new Map<string, number>();
  for (const [index, endpoint] of mappings(raw.endpoints)) {
    if (typeof endpoint.url !== 'string') continue;
    const key = endpoint.url.replace(/\/+$/, '').toLowerCase();
    const first = seen.get(key);
    if (first === undefined) seen.set(key, index);
    else problems.push(problemAt([...at, 'endpoints', index, 'url'], `the same URL as endpoints[${first}]`));
  }
  return problems;
}

function limitProblems(merged: Mapping, at: ConfigPath, limitsNote: string): PathProblem[] {
  const problems: PathProblem[] = [];
  const buckets = new Set(
    mappings(merged.routes).flatMap(([, route]) => (typeof route.bucket === 'string' ? [route.bucket] : [])),
  );
  const names = new Map<string, number>();
  for (const [index, limit] of mappings(merged.limits)) {
    const here = [...at, 'limits', index];
    if (typeof limit.name === 'string') {
      const first = names.get(limit.name);
      if (first === undefined) names.set(limit.name, index);
      else problems.push(problemAt([...here, 'name'], `the name "${limit.name}" is already used by limits[${first}]`));
    }
    if (typeof limit.bucket === 'string' && !buckets.has(limit.bucket)) {
      problems.push(
        problemAt(
          [...here, 'bucket'],
          `no route sends calls to bucket "${limit.bucket}"${suggestion(limit.bucket, [...buckets])}: add a route with bucket: ${limit.bucket}, or drop the bucket to count every call${limitsNote}`,
        ),
      );
    }
    const concurrent = limit.algorithm === 'concurrency';
    if (limit.unit !== undefined && (limit.unit === 'concurrency') !== concurrent) {
      problems.push(
        problemAt(
          [...here, 'unit'],
          concurrent
            ? 'a concurrency limit counts calls in flight: leave unit out (or set concurrency)'
            : 'unit concurrency goes with algorithm: concurrency',
        ),
      );
    }
  }
  return problems;
}

function routeProblems(raw: Mapping, at: ConfigPath): PathProblem[] {
  const problems: PathProblem[] = [];
  const seen = new Map<string, number>();
  for (const [index, route] of mappings(raw.routes)) {
    const here = [...at, 'routes', index];
    if (route.bucket === undefined && route.cost === undefined) {
      problems.push(problemAt(here, 'set bucket or cost (a route with neither changes nothing)'));
    }
    if (typeof route.match === 'string' && routePatternProblem(route.match) === null) {
      const { method, segments } = parseRoutePattern(route.match);
      const key = `${method ?? '*'} /${segments.join('/')}`;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, index);
      else problems.push(problemAt([...here, 'match'], `never used: routes[${first}] matches the same calls first`));
    }
  }
  return problems;
}

function placementProblems(entry: Mapping, here: ConfigPath): PathProblem[] {
  const problems: PathProblem[] = [];
  if (entry.username !== undefined) {
    for (const key of ['header', 'prefix', 'query']) {
      if (entry[key] !== undefined) {
        problems.push(
          problemAt([...here, key], 'not used with username: HTTP Basic is sent in the authorization header'),
        );
      }
    }
    return problems;
  }
  if (entry.header !== undefined && entry.query !== undefined) {
    problems.push(problemAt([...here, 'query'], 'set either header or query, not both'));
  } else if (entry.query !== undefined && entry.prefix !== undefined) {
    problems.push(problemAt([...here, 'prefix'], 'applies only to a header, not to a query parameter'));
  }
  return problems;
}

function credentialProblems(raw: Mapping, at: ConfigPath, context: UpstreamRelationContext): PathProblem[] {
  const problems: PathProblem[] = [];
  if (isMapping(raw.credentialDefaults)) {
    problems.push(
      ...placementProblems({ ...raw.credentialDefaults, username: undefined }, [...at, 'credentialDefaults']),
    );
  }
  if (!isMapping(raw.credentials)) return problems;
  for (const [tenant, entry] of Object.entries(raw.credentials)) {
    const here = [...at, 'credentials', tenant];
    // A key that is not even a valid name has its own problem from the schema: one message is enough.
    const checkable = context.tenants !== null && NAME_PATTERN.test(tenant) && tenant !== DEFAULT_CREDENTIAL;
    if (checkable && !context.tenants?.has(tenant)) {
      const known = [...(context.tenants ?? [])];
      problems.push(
        problemAt(
          here,
          known.length === 0
            ? `no tenant "${tenant}" (no tenants are defined): name this credential "${DEFAULT_CREDENTIAL}", or define the tenant under tenants`
            : `no tenant "${tenant}"${suggestion(tenant, [...known, DEFAULT_CREDENTIAL])}: credentials are keyed by tenant (${listNames(known)}) or "${DEFAULT_CREDENTIAL}"`,
        ),
      );
    }
    if (isMapping(entry)) problems.push(...placementProblems(entry, here));
  }
  return problems;
}

function headerProblems(raw: Mapping, at: ConfigPath): PathProblem[] {
  if (!isMapping(raw.headers)) return [];
  const problems: PathProblem[] = [];
  for (const list of ['set', 'default'] as const) {
    const headers = raw.headers[list];
    if (!isMapping(headers)) continue;
    const seen = new Map<string, string>();
    for (const header of Object.keys(headers)) {
      const here = [...at, 'headers', list, header];
      const lower = header.toLowerCase();
      if (HOP_BY_HOP.has(lower)) {
        problems.push(problemAt(here, 'belongs to the connection, not to the call: Sluice sets it'));
      } else if (CREDENTIAL_HEADERS.has(lower)) {
        problems.push(
          problemAt(here, 'carries a credential: give it under credentials, as { env: NAME } or { file: PATH }'),
        );
      }
      const earlier = seen.get(lower);
      if (earlier !== undefined) problems.push(problemAt(here, `the same header as "${earlier}" (names ignore case)`));
      else seen.set(lower, header);
    }
  }
  return problems;
}

function retryProblems(raw: Mapping, at: ConfigPath): PathProblem[] {
  if (!isMapping(raw.retry)) return [];
  const { baseDelay, maxDelay } = raw.retry;
  if (isDuration(baseDelay) && isDuration(maxDelay) && durationMs(baseDelay) > durationMs(maxDelay)) {
    return [problemAt([...at, 'retry', 'baseDelay'], `is longer than retry.maxDelay (${JSON.stringify(maxDelay)})`)];
  }
  return [];
}

/** Every relation problem of one upstream's options, `at` being where they sit. */
export function upstreamRelationProblems(
  raw: unknown,
  at: ConfigPath,
  context: UpstreamRelationContext,
): PathProblem[] {
  if (!isMapping(raw)) return [];
  const preset = presetFor(raw);
  const merged = preset ? mergeOptions(preset.options as Mapping, raw) : raw;
  const limitsNote =
    preset && raw.limits === undefined && raw.routes !== undefined
      ? ` (the limit comes from preset "${preset.name}", whose routes yours replace: set limits as well)`
      : '';
  return [
    ...(context.kind === 'gateway' ? locationProblems(raw, merged, at, preset?.name ?? null) : []),
    ...limitProblems(merged, at, limitsNote),
    ...routeProblems(raw, at),
    ...credentialProblems(raw, at, context),
    ...headerProblems(raw, at),
    ...retryProblems(raw, at),
    ...economyRelationProblems(raw, at),
  ];
}
