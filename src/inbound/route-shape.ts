/**
 * A route's shape: the method and the path with ids replaced, so that `GET /users/1` and `GET /users/2` are one
 * route. The same id rule as the pipeline's budget keys (src/pipeline/budget-keys.ts), so a route looks the same
 * to inbound limits and to budgets.
 */

/** Digits, hex of 8 or more (hashes, object ids), UUIDs. */
const ID_SEGMENT = /^(?:\d+|[0-9a-f]{8,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/** Longer shapes are cut here: a route key must not grow with whatever a caller puts in a path. */
export const MAX_ROUTE_SHAPE_LENGTH = 256;

/** `GET /users/{}/repos` for `get /users/42/repos?page=2`. */
export function routeShape(method: string, path: string): string {
  const queryAt = path.search(/[?#]/);
  const bare = queryAt === -1 ? path : path.slice(0, queryAt);
  let shape = `${method.toUpperCase()} `;
  for (const segment of bare.split('/')) {
    if (segment === '') continue;
    shape += `/${ID_SEGMENT.test(segment) ? '{}' : segment}`;
    if (shape.length > MAX_ROUTE_SHAPE_LENGTH) return shape.slice(0, MAX_ROUTE_SHAPE_LENGTH);
  }
  return shape.endsWith(' ') ? `${shape}/` : shape;
}
