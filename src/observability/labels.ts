/**
 * Label values with bounded cardinality: every distinct value is a time series Prometheus keeps forever, so values
 * that grow with traffic (paths, callers' keys, unknown tenants, nonsense statuses) are folded into one.
 */
import { DEFAULT_CREDENTIAL } from '../config/upstream-schema.js';
import { InvalidOptionError } from '../errors.js';

/** The tenant part of the key of budgets every credential shares (limits with `scope: upstream`). */
export const SHARED_BUDGET_TENANT = '*';

/** Tenants beyond the configured ones (or the first `maxTenants` seen) share this label. */
export const OTHER_TENANT = 'other';

/** Status labels made once: a label is read on every event. */
const STATUS_LABELS: string[] = [];

/** A status code as a label: the code for 100-599, else `other`. */
export function statusLabel(status: number): string {
  if (!(Number.isInteger(status) && status >= 100 && status <= 599)) return 'other';
  let label = STATUS_LABELS[status];
  if (label === undefined) STATUS_LABELS[status] = label = String(status);
  return label;
}

export interface TenantLabelOptions {
  /** The configured tenants: only these names become labels. */
  tenants?: readonly string[];
  /** Without a configured list: how many distinct tenants get their own label before the rest share `other`. */
  maxTenants?: number;
}

/** Maps a call's tenant to its label: '' for none, its name when known, `other` beyond the bound. */
export function createTenantLabeler(options: TenantLabelOptions = {}): (tenant: string | null | undefined) => string {
  const { tenants, maxTenants = 100 } = options;
  if (tenants !== undefined && (!Array.isArray(tenants) || tenants.some((name) => typeof name !== 'string'))) {
    throw new InvalidOptionError('tenants', 'expected an array of tenant names');
  }
  if (!Number.isSafeInteger(maxTenants) || maxTenants < 0) {
    throw new InvalidOptionError('maxTenants', `expected a whole number, 0 or more, got ${JSON.stringify(maxTenants)}`);
  }
  // Budgets shared by every credential, and the upstream's default credential, always keep their names.
  const known = new Set([SHARED_BUDGET_TENANT, DEFAULT_CREDENTIAL, ...(tenants ?? [])]);
  const fixed = tenants !== undefined;
  let learned = 0;
  return (tenant) => {
    if (tenant === undefined || tenant === null || tenant === '') return '';
    // Events are typed, but a label that is not a string would make every later scrape throw.
    if (typeof tenant !== 'string') return OTHER_TENANT;
    if (known.has(tenant)) return tenant;
    if (fixed || learned >= maxTenants) return OTHER_TENANT;
    known.add(tenant);
    learned++;
    return tenant;
  };
}
