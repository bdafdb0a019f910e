/** What `sluice check-config` does, apart from printing: load, validate, optionally resolve every secret. */
import type { Config } from './gateway.js';
import { loadConfig } from './load.js';
import { ConfigError, type ConfigProblem, formatProblem } from './problems.js';
import { type ResolveSecretOptions, resolveSecret, type SecretReference } from './secrets.js';

/** Every secret reference in a configuration (admin, store, tenants, upstreams): what must resolve at start-up. */
export function listSecretReferences(config: Config): SecretReference[] {
  const references: SecretReference[] = [];
  if (config.admin.token) references.push(config.admin.token);
  if (config.store.kind === 'redis' && config.store.password) references.push(config.store.password);
  for (const tenant of Object.values(config.tenants)) references.push(...tenant.keys);
  for (const upstream of Object.values(config.upstreams)) {
    for (const credential of Object.values(upstream.credentials)) {
      if (credential.placement === 'basic') {
        if (typeof credential.username !== 'string') references.push(credential.username);
        references.push(credential.password);
      } else references.push(credential.value);
    }
  }
  return references;
}

/** Resolves every reference, collecting each failure (the values are read and dropped, never kept or shown). */
export function secretProblems(config: Config, options: ResolveSecretOptions = {}): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const reference of listSecretReferences(config)) {
    try {
      resolveSecret(reference, options);
    } catch (error) {
      if (error instanceof ConfigError) problems.push(...error.problems);
      else throw error;
    }
  }
  return problems;
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

export interface CheckConfigOptions extends ResolveSecretOptions {
  /** Also resolve every secret reference. */
  secrets?: boolean;
}

export type CheckConfigResult = { ok: true; summary: string } | { ok: false; problems: string[] };

/** Checks a configuration file; the result holds the lines to print. */
export function checkConfigFile(path: string, options: CheckConfigOptions = {}): CheckConfigResult {
  let config: Config;
  try {
    config = loadConfig(path);
  } catch (error) {
    if (error instanceof ConfigError) {
      return { ok: false, problems: error.problems.map((problem) => formatProblem(problem, path)) };
    }
    throw error;
  }
  const parts = [
    plural(Object.keys(config.upstreams).length, 'upstream'),
    plural(Object.keys(config.tenants).length, 'tenant'),
  ];
  if (config.inbound.rules.length > 0) parts.push(plural(config.inbound.rules.length, 'inbound rule'));
  if (options.secrets) {
    const problems = secretProblems(config, options);
    if (problems.length > 0) return { ok: false, problems: problems.map((problem) => formatProblem(problem, path)) };
    parts.push(`${plural(listSecretReferences(config).length, 'secret')} resolved`);
  }
  return { ok: true, summary: `ok: ${parts.join(', ')}` };
}
