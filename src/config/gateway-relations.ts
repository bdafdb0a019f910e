/**
 * Rules about how the parts of a gateway configuration relate: listeners that collide, keys shared by tenants,
 * inbound rules naming upstreams or plans that do not exist. Like the upstream relations, they read the raw input
 * defensively so that they report even when other parts are invalid.
 */
import { type ConfigPath, formatPath, listNames, type PathProblem, problemAt, suggestion } from './problems.js';
import { isMapping, upstreamRelationProblems } from './upstream-relations.js';
import { DEFAULT_CREDENTIAL } from './upstream-schema.js';

type Mapping = Record<string, unknown>;

const ANY_ADDRESS = new Set(['0.0.0.0', '::', '[::]', '']);

function listenerProblems(raw: Mapping): PathProblem[] {
  const listen = isMapping(raw.listen) ? raw.listen : {};
  const admin = isMapping(raw.admin) ? raw.admin : {};
  const listenPort = listen.port ?? 8080;
  const adminPort = admin.port ?? 8081;
  if (typeof listenPort !== 'number' || listenPort === 0 || listenPort !== adminPort) return [];
  const listenHost = typeof listen.host === 'string' ? listen.host : '127.0.0.1';
  const adminHost = typeof admin.host === 'string' ? admin.host : '127.0.0.1';
  if (listenHost !== adminHost && !ANY_ADDRESS.has(listenHost) && !ANY_ADDRESS.has(adminHost)) return [];
  return [
    problemAt(['admin', 'port'], `the same port as listen.port (${listenPort}): the admin listener needs its own`),
  ];
}

function referenceKey(reference: unknown): string | null {
  if (!isMapping(reference)) return null;
  if (typeof reference.env === 'string') return `env:${reference.env}`;
  if (typeof reference.file === 'string') return `file:${reference.file}`;
  return null;
}

function tenantProblems(tenants: Mapping): PathProblem[] {
  const problems: PathProblem[] = [];
  const owners = new Map<string, ConfigPath>();
  for (const [tenant, entry] of Object.entries(tenants)) {
    if (tenant === DEFAULT_CREDENTIAL) {
      problems.push(
        problemAt(
          ['tenants', tenant],
          `"${DEFAULT_CREDENTIAL}" is reserved: credentials.${DEFAULT_CREDENTIAL} serves calls of no tenant`,
        ),
      );
    }
    if (!isMapping(entry) || !Array.isArray(entry.keys)) continue;
    entry.keys.forEach((reference, index) => {
      const key = referenceKey(reference);
      if (key === null) return;
      const here = ['tenants', tenant, 'keys', index];
      const owner = owners.get(key);
      if (owner === undefined) owners.set(key, here);
      else problems.push(problemAt(here, `the same key as ${formatPath(owner)}: a key identifies one tenant`));
    });
  }
  return problems;
}

function ruleProblems(raw: Mapping, upstreamNames: readonly string[], tenants: Mapping | null): PathProblem[] {
  const inbound = isMapping(raw.inbound) ? raw.inbound : null;
  if (inbound === null || !Array.isArray(inbound.rules)) return [];
  const plans = new Set(
    Object.values(tenants ?? {}).flatMap((tenant) =>
      isMapping(tenant) && typeof tenant.plan === 'string' ? [tenant.plan] : [],
    ),
  );
  const problems: PathProblem[] = [];
  const names = new Map<string, number>();
  inbound.rules.forEach((rule, index) => {
    if (!isMapping(rule)) return;
    const here = ['inbound', 'rules', index];
    const by = typeof rule.by === 'string' ? rule.by : 'key';
    const ruleName = typeof rule.name === 'string' ? rule.name : undefined;
    if (ruleName !== undefined) {
      const first = names.get(ruleName);
      if (first === undefined) names.set(ruleName, index);
      else
        problems.push(
          problemAt([...here, 'name'], `the name "${ruleName}" is already used by inbound.rules[${first}]`),
        );
    }
    if (Array.isArray(rule.upstreams)) {
      rule.upstreams.forEach((upstream, upstreamIndex) => {
        if (typeof upstream === 'string' && !upstreamNames.includes(upstream)) {
          problems.push(
            problemAt(
              [...here, 'upstreams', upstreamIndex],
              `no upstream "${upstream}"${suggestion(upstream, upstreamNames)} (upstreams: ${listNames(upstreamNames)})`,
            ),
          );
        }
      });
    }
    const hasLimits = Array.isArray(rule.limits) && rule.limits.length > 0;
    const planEntries = isMapping(rule.plans) ? Object.keys(rule.plans) : [];
    if (!hasLimits && planEntries.length === 0 && (rule.limits === undefined || Array.isArray(rule.limits))) {
      problems.push(problemAt([...here, 'limits'], 'a rule needs limits, plans, or both'));
    }
    for (const plan of planEntries) {
      if (!plans.has(plan)) {
        const known = [...plans];
        problems.push(
          problemAt(
            [...here, 'plans', plan],
            known.length === 0
              ? `no tenant has plan "${plan}" (no tenant has a plan): give tenants a plan, or remove this entry`
              : `no tenant has plan "${plan}"${suggestion(plan, known)} (plans in use: ${listNames(known)})`,
          ),
        );
      }
    }
    if ((by === 'tenant' || by === 'plan') && (tenants === null || Object.keys(tenants).length === 0)) {
      problems.push(problemAt([...here, 'by'], `by: ${by} needs tenants: define them under tenants`));
    }
  });
  return problems;
}

/** Every relation problem of a gateway configuration, its upstreams' included. */
export function gatewayRelationProblems(raw: unknown): PathProblem[] {
  if (!isMapping(raw)) return [];
  const tenants = isMapping(raw.tenants) ? raw.tenants : null;
  const upstreams = isMapping(raw.upstreams) ? raw.upstreams : null;
  const upstreamNames = upstreams ? Object.keys(upstreams) : [];
  const problems: PathProblem[] = [...listenerProblems(raw)];
  if (upstreams !== null && upstreamNames.length === 0) {
    problems.push(
      problemAt(['upstreams'], 'define at least one upstream, such as github: { url: https://api.github.com }'),
    );
  }
  if (tenants) problems.push(...tenantProblems(tenants));
  problems.push(...ruleProblems(raw, upstreamNames, tenants));
  const tenantNames = new Set(tenants ? Object.keys(tenants) : []);
  for (const [upstream, options] of Object.entries(upstreams ?? {})) {
    problems.push(
      ...upstreamRelationProblems(options, ['upstreams', upstream], { kind: 'gateway', tenants: tenantNames }),
    );
  }
  return problems;
}
