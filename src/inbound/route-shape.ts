/**
 * A route's shape: the method and the path with ids replaced, so that `GET /users/1` and `GET /users/2` are one
 * route. The same id rule as the pipeline's budget keys (src/pipeline/budget-keys.ts: digits, hex of 8 or more,
 * UUIDs), so a route looks the same to inbound limits and to budgets. One pass over the path: it runs for every
 * request of a `route` rule.
 */

/** Longer shapes are cut here: a route key must not grow with whatever a caller puts in a path. */
export const MAX_ROUTE_SHAPE_LENGTH = 256;

const SLASH = 47;
const DASH = 45;

/** `GET /users/{}/repos` for `get /users/42/repos?page=2`. */
export function routeShape(method: string, path: string): string {
  let shape = `${method.toUpperCase()} `;
  let end = path.indexOf('?');
  if (end === -1) end = path.length;
  const fragmentAt = path.indexOf('#');
  if (fragmentAt !== -1 && fragmentAt < end) end = fragmentAt;
  let segmentStart = -1;
  for (let index = 0; index <= end; index++) {
    // The end closes the last segment as a slash would.
    const code = index === end ? SLASH : path.charCodeAt(index);
    if (code !== SLASH) {
      if (segmentStart === -1) segmentStart = index;
      continue;
    }
    if (segmentStart !== -1) {
      shape += isId(path, segmentStart, index) ? '/{}' : `/${path.slice(segmentStart, index)}`;
      segmentStart = -1;
      if (shape.length > MAX_ROUTE_SHAPE_LENGTH) return shape.slice(0, MAX_ROUTE_SHAPE_LENGTH);
    }
  }
  return shape.endsWith(' ') ? `${shape}/` : shape;
}

/** Digits only; hex of 8 or more; or a UUID (8-4-4-4-12 hex). */
function isId(path: string, start: number, end: number): boolean {
  const length = end - start;
  let digitsOnly = true;
  let hexOnly = true;
  let uuid = length === 36;
  for (let index = start; index < end; index++) {
    const code = path.charCodeAt(index);
    const offset = index - start;
    const dashPlace = offset === 8 || offset === 13 || offset === 18 || offset === 23;
    const digit = code >= 48 && code <= 57;
    const hex = digit || (code >= 97 && code <= 102) || (code >= 65 && code <= 70);
    if (!digit) digitsOnly = false;
    if (!hex) hexOnly = false;
    if (uuid && (dashPlace ? code !== DASH : !hex)) uuid = false;
    if (!digitsOnly && !uuid && (!hexOnly || length < 8)) return false;
  }
  return digitsOnly || uuid || (hexOnly && length >= 8);
}
