/**
 * A record without a prototype. Normalised configuration is looked up by names that come from requests (an
 * upstream from the URL path, a tenant from a key): with no prototype, `toString` or `constructor` finds nothing.
 */
export function bareRecord<Value>(entries: Iterable<readonly [string, Value]>): Record<string, Value> {
  const record: Record<string, Value> = Object.create(null);
  for (const [key, value] of entries) record[key] = value;
  return record;
}
