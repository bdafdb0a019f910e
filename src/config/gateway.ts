/**
 * The gateway's configuration file: listeners, store, tenants, inbound limits and upstreams. The schema here is the
 * edge; `normalizeConfig` hands the rest of Sluice typed, defaulted, normalised data.
 */
import { z } from 'zod';
import { withPreset } from '../presets/apply.js';
import { bareRecord } from './bare-record.js';
import {
  boolean,
  duration,
  durationMs,
  headerName,
  name,
  oneOf,
  options,
  policyName,
  port,
  redisUrl,
  text,
} from './fields.js';
import { gatewayRelationProblems } from './gateway-relations.js';
import { problemsFromIssues } from './issues.js';
import { type ConfigPolicy, normalizePolicy, policyList, policyNames, policySchema } from './policy.js';
import { type ConfigPath, expectedMessage, type PathProblem } from './problems.js';
import { normalizeSecretReference, type SecretReference, secretReferenceSchema } from './secrets.js';
import { buildUpstreamOptions, joinPath, type UpstreamOptions } from './upstream.js';
import { upstreamOptionsSchema } from './upstream-schema.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const INBOUND_HEADERS = ['draft-10', 'draft-07', 'draft-06', 'none'] as const;
export const INBOUND_KEYS = ['key', 'tenant', 'ip', 'route', 'plan'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];
export type InboundHeaders = (typeof INBOUND_HEADERS)[number];
export type InboundKey = (typeof INBOUND_KEYS)[number];

const listenerShape = {
  host: text('a host name or IP address such as 127.0.0.1').optional().describe('The address to listen on.'),
  port: port().optional(),
};

const STORE_FORMS = '"memory" or { redis: { url: redis://127.0.0.1:6379 } }';

const storeSchema = z
  .union(
    [
      z.literal('memory', { error: (issue) => expectedMessage(STORE_FORMS, issue.input) }),
      options(
        {
          redis: options({
            url: redisUrl(),
            keyPrefix: text('a key prefix such as "sluice:"').optional().describe('Default "sluice:".'),
            username: text('a Redis user name').optional(),
            password: secretReferenceSchema.optional(),
          }),
        },
        STORE_FORMS,
      ),
    ],
    { error: (issue) => expectedMessage(STORE_FORMS, issue.input) },
  )
  .describe('Where limits and budgets are kept: memory (one process) or Redis (shared by many).');

const secretList = z
  .array(secretReferenceSchema, {
    // Never echo a string here: it is likely the key itself.
    error: (issue) =>
      typeof issue.input === 'string'
        ? 'a key must not be written into the configuration: use a list of references such as [{ env: TEAM_A_KEY }]'
        : expectedMessage('a list of secret references such as [{ env: TEAM_A_KEY }]', issue.input),
  })
  .min(1, { error: () => 'expected at least one key' });

const tenantSchema = options(
  {
    keys: secretList.describe('The gateway keys its callers send (in callerKeyHeader).'),
    plan: name('a plan name').optional().describe('The plan inbound rules may give other limits to.'),
  },
  'a tenant such as { keys: [{ env: TEAM_A_KEY }], plan: pro }',
);

const ruleSchema = options(
  {
    name: policyName().optional().describe('Names the rule in RateLimit-ConfigPolicy fields. Default: the rule’s by.'),
    by: oneOf(INBOUND_KEYS)
      .optional()
      .describe(
        'What each limit is kept per: key, tenant, ip (IPv6 by /64), route (the upstream, method and path with ids replaced) or plan; callers without a key, tenant or plan by ip. Default key.',
      ),
    upstreams: z
      .array(name('an upstream name'), { error: (issue) => expectedMessage('a list of upstream names', issue.input) })
      .optional()
      .describe('The upstreams the rule applies to. Default all.'),
    limits: policyList(policySchema).optional().describe('The policies every caller gets.'),
    plans: z
      .record(name('a plan name'), policyList(policySchema))
      .optional()
      .describe('Policies replacing limits for callers whose tenant has this plan.'),
  },
  'an inbound rule such as { by: key, limits: [{ algorithm: sliding-window, limit: 100, window: 1m }] }',
);

export const configSchema = options(
  {
    $schema: z.string().optional().describe('The JSON Schema this file follows (for editors).'),
    listen: options(listenerShape).optional().describe('Where callers reach the gateway. Default 127.0.0.1:8080.'),
    admin: options({
      ...listenerShape,
      token: secretReferenceSchema
        .optional()
        .describe('Required by admin calls that change state; without it they are refused.'),
    })
      .optional()
      .describe('Health, metrics, dashboard and admin API. Default 127.0.0.1:8081.'),
    store: storeSchema.optional(),
    callerKeyHeader: headerName()
      .optional()
      .describe('The header callers send their gateway key in. Default x-sluice-key.'),
    forwardedHeaders: boolean()
      .optional()
      .describe('Add X-Forwarded-* to upstream calls (tells third parties internal addresses). Default false.'),
    shutdown: options({
      grace: duration('non-negative').optional().describe('Time calls in flight get to finish. Default 10s.'),
    }).optional(),
    logging: options({ level: oneOf(LOG_LEVELS).optional().describe('Default info.') }).optional(),
    tenants: z.record(name('a tenant name'), tenantSchema).optional().describe('The gateway’s callers.'),
    inbound: options({
      headers: oneOf(INBOUND_HEADERS).optional().describe('Which RateLimit fields replies carry. Default draft-10.'),
      rules: z
        .array(ruleSchema, { error: (issue) => expectedMessage('a list of inbound rules', issue.input) })
        .optional(),
    })
      .optional()
      .describe('Limits on the gateway’s callers.'),
    upstreams: z
      .record(name('an upstream name (a URL path segment)'), upstreamOptionsSchema, {
        error: (issue) => expectedMessage('a mapping of upstreams by name', issue.input),
      })
      .describe('The APIs the gateway sends calls to, by name: /<name>/<rest> goes to <url>/<rest>.'),
  },
  'a mapping of options with at least upstreams',
).meta({ title: 'Sluice gateway configuration' });

export type ConfigInput = z.input<typeof configSchema>;

export interface TenantConfig {
  keys: SecretReference[];
  plan: string | null;
}

export interface InboundRule {
  name: string;
  by: InboundKey;
  /** null: every upstream. */
  upstreams: string[] | null;
  limits: ConfigPolicy[];
  /** Policies by plan name, replacing `limits` for callers on that plan. No prototype. */
  plans: Record<string, ConfigPolicy[]>;
}

export type StoreConfig =
  | { kind: 'memory' }
  | { kind: 'redis'; url: string; keyPrefix: string; username: string | null; password: SecretReference | null };

/** The whole gateway configuration, validated and normalised. Records have no prototype. */
export interface Config {
  listen: { host: string; port: number };
  admin: { host: string; port: number; token: SecretReference | null };
  store: StoreConfig;
  callerKeyHeader: string;
  forwardedHeaders: boolean;
  shutdown: { graceMs: number };
  logging: { level: LogLevel };
  tenants: Record<string, TenantConfig>;
  inbound: { headers: InboundHeaders; rules: InboundRule[] };
  upstreams: Record<string, UpstreamOptions>;
}

export const GATEWAY_DEFAULTS = {
  listen: { host: '127.0.0.1', port: 8080 },
  admin: { host: '127.0.0.1', port: 8081 },
  keyPrefix: 'sluice:',
  callerKeyHeader: 'x-sluice-key',
  forwardedHeaders: false,
  shutdown: { graceMs: 10_000 },
  logging: { level: 'info' },
  inbound: { headers: 'draft-10', by: 'key' },
} as const;

/** Every problem of a configuration object: the schema's, then the relations between its parts. */
export function configProblems(input: unknown): PathProblem[] {
  const result = configSchema.safeParse(input, { reportInput: true });
  return [...(result.success ? [] : problemsFromIssues(result.error.issues)), ...gatewayRelationProblems(input)];
}

function buildRules(input: ConfigInput): InboundRule[] {
  const rules = input.inbound?.rules ?? [];
  const ruleNames = policyNames(
    rules.map((rule) => rule.name),
    (index) => rules[index]?.by ?? GATEWAY_DEFAULTS.inbound.by,
  );
  return rules.map((rule, index) => {
    const ruleName = ruleNames[index] as string;
    const policies = (list: PolicyList, base: string) => {
      const names = policyNames(
        list.map((policy) => policy.name),
        () => base,
      );
      return list.map((policy, policyIndex) => normalizePolicy(policy, names[policyIndex] as string));
    };
    return {
      name: ruleName,
      by: rule.by ?? GATEWAY_DEFAULTS.inbound.by,
      upstreams: rule.upstreams ? [...rule.upstreams] : null,
      limits: policies(rule.limits ?? [], ruleName),
      plans: bareRecord(
        Object.entries(rule.plans ?? {}).map(([plan, list]) => [plan, policies(list, `${ruleName}-${plan}`)]),
      ),
    };
  });
}

type PolicyList = z.input<typeof policySchema>[];

export interface NormalizeConfigOptions {
  /** Relative secret file paths are resolved from here (loadConfig: the file's directory). Default: working directory. */
  baseDirectory?: string;
}

/** Builds the Config from input that passed `configProblems` with none. */
export function buildConfig(input: ConfigInput, options: NormalizeConfigOptions = {}): Config {
  const baseDirectory = options.baseDirectory ?? process.cwd();
  const reference = (value: z.input<typeof secretReferenceSchema>, segments: ConfigPath) =>
    normalizeSecretReference(value, joinPath('', segments), baseDirectory);
  const store: StoreConfig =
    input.store === undefined || input.store === 'memory'
      ? { kind: 'memory' }
      : {
          kind: 'redis',
          url: input.store.redis.url,
          keyPrefix: input.store.redis.keyPrefix ?? GATEWAY_DEFAULTS.keyPrefix,
          username: input.store.redis.username ?? null,
          password: input.store.redis.password
            ? reference(input.store.redis.password, ['store', 'redis', 'password'])
            : null,
        };
  return {
    listen: {
      host: input.listen?.host ?? GATEWAY_DEFAULTS.listen.host,
      port: input.listen?.port ?? GATEWAY_DEFAULTS.listen.port,
    },
    admin: {
      host: input.admin?.host ?? GATEWAY_DEFAULTS.admin.host,
      port: input.admin?.port ?? GATEWAY_DEFAULTS.admin.port,
      token: input.admin?.token ? reference(input.admin.token, ['admin', 'token']) : null,
    },
    store,
    callerKeyHeader: (input.callerKeyHeader ?? GATEWAY_DEFAULTS.callerKeyHeader).toLowerCase(),
    forwardedHeaders: input.forwardedHeaders ?? GATEWAY_DEFAULTS.forwardedHeaders,
    shutdown: {
      graceMs:
        input.shutdown?.grace === undefined ? GATEWAY_DEFAULTS.shutdown.graceMs : durationMs(input.shutdown.grace),
    },
    logging: { level: input.logging?.level ?? GATEWAY_DEFAULTS.logging.level },
    tenants: bareRecord(
      Object.entries(input.tenants ?? {}).map(([tenant, entry]) => [
        tenant,
        {
          keys: entry.keys.map((key, index) => reference(key, ['tenants', tenant, 'keys', index])),
          plan: entry.plan ?? null,
        },
      ]),
    ),
    inbound: { headers: input.inbound?.headers ?? GATEWAY_DEFAULTS.inbound.headers, rules: buildRules(input) },
    upstreams: bareRecord(
      Object.entries(input.upstreams).map(([upstream, upstreamInput]) => [
        upstream,
        buildUpstreamOptions(withPreset(upstreamInput), ['upstreams', upstream], {
          describe: (segments) => joinPath('', segments),
          baseDirectory,
        }),
      ]),
    ),
  };
}
