/**
 * Tenants and their credentials. Callers authenticate to the gateway with their own key; the gateway injects that
 * tenant's upstream credential, so callers never see upstream secrets, and a tenant can only ever use its own
 * credential (and so its own budget). Secrets arrive here already resolved from their `{ env }`/`{ file }`
 * references and are kept only as what is needed: gateway keys as SHA-256 digests.
 */
import { createHash } from 'node:crypto';
import type { Call } from '../pipeline/stage.js';

export interface TenantSpec {
  name: string;
  /** Gateway keys (resolved secrets). */
  keys: readonly string[];
  plan?: string;
}

export interface Tenant {
  name: string;
  plan: string | undefined;
}

export interface TenantDirectory {
  readonly enabled: boolean;
  /** The tenant a gateway key belongs to, or null. */
  identify(key: string | undefined): Tenant | null;
}

const digest = (key: string) => createHash('sha256').update(key).digest('base64');

export function createTenantDirectory(specs: readonly TenantSpec[]): TenantDirectory {
  const byDigest = new Map<string, Tenant>();
  for (const spec of specs) {
    const tenant: Tenant = { name: spec.name, plan: spec.plan };
    for (const key of spec.keys) {
      const hashed = digest(key);
      const holder = byDigest.get(hashed);
      if (holder && holder.name !== spec.name) {
        throw new Error(`tenants.${spec.name}.keys: the same gateway key is also a key of tenant "${holder.name}"`);
      }
      byDigest.set(hashed, tenant);
    }
  }
  return {
    enabled: specs.length > 0,
    // Looking up a digest, not the key itself, keeps comparison time independent of how much of a key matched.
    identify: (key) => (key ? (byDigest.get(digest(key)) ?? null) : null),
  };
}

export type CredentialSpec = { header: string; prefix?: string; value: string } | { query: string; value: string };

export interface CredentialInjector {
  /** Whether this upstream holds credentials per tenant (and so refuses tenants without one). */
  readonly required: boolean;
  /** Adds the tenant's credential to the call; false when the tenant has none for this upstream. */
  inject(call: Call, tenant: string | undefined): boolean;
  /** Header names and query parameters that carry secrets, for redaction. */
  readonly secretHeaders: ReadonlySet<string>;
  readonly secretQueryParameters: ReadonlySet<string>;
}

export function createCredentialInjector(credentials: Readonly<Record<string, CredentialSpec>>): CredentialInjector {
  const entries = new Map(Object.entries(credentials));
  const secretHeaders = new Set<string>();
  const secretQueryParameters = new Set<string>();
  for (const spec of entries.values()) {
    if ('header' in spec) secretHeaders.add(spec.header.toLowerCase());
    else secretQueryParameters.add(spec.query);
  }
  return {
    required: entries.size > 0,
    secretHeaders,
    secretQueryParameters,
    inject(call, tenant) {
      if (entries.size === 0) return true;
      const spec = tenant === undefined ? undefined : entries.get(tenant);
      if (!spec) return false;
      if ('header' in spec) {
        call.headers[spec.header.toLowerCase()] = `${spec.prefix ?? ''}${spec.value}`;
      } else {
        // The caller's own value for the parameter (if any) is replaced, never sent alongside.
        const url = new URL(call.path, 'http://gateway.invalid');
        url.searchParams.set(spec.query, spec.value);
        call.path = url.pathname + url.search;
      }
      return true;
    },
  };
}
