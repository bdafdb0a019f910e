/**
 * The merge rule for presets: the preset first, then the user's options key by key, recursively through mappings.
 * Lists replace (a user's `limits` replaces the preset's, whole). Some mappings are one choice and replace whole
 * too: a secret reference (`{ env }` must not gain the preset's `file`), a tenant's credential and the way
 * credentials are sent. Where an upstream lives is one choice as well: a user's `url` or `endpoints` drops the
 * preset's `url`.
 */

/** Options whose value is replaced whole even though it is a mapping. */
const REPLACED_WHOLE = new Set(['credentialDefaults', 'value', 'username', 'token', 'password']);
/** Mappings whose entries are each replaced whole: a tenant's credential is one choice. */
const ENTRIES_REPLACED_WHOLE = new Set(['credentials']);

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function mergeMappings(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    const current = merged[key];
    if (!isMapping(current) || !isMapping(value) || REPLACED_WHOLE.has(key)) merged[key] = value;
    else if (ENTRIES_REPLACED_WHOLE.has(key)) merged[key] = { ...current, ...value };
    else merged[key] = mergeMappings(current, value);
  }
  return merged;
}

export function mergeOptions<Options extends object>(preset: Options, user: Options): Options {
  const base: Record<string, unknown> = { ...(preset as Record<string, unknown>) };
  const override = user as Record<string, unknown>;
  if (override.url !== undefined || override.endpoints !== undefined || override.baseUrl !== undefined) {
    delete base.url;
    delete base.endpoints;
    delete base.baseUrl;
  }
  return mergeMappings(base, override) as Options;
}
