/**
 * Which upstream a request is for, and the path to send it to. The gateway is never an open proxy: only
 * `/<configured upstream>/<rest>` is served, absolute-form targets are refused, and dot segments (also
 * percent-encoded) cannot climb out of the upstream's base path.
 */
export type RouteResult =
  | { ok: true; upstream: string; path: string }
  | { ok: false; status: number; kind: string; detail: string };

/** Whether a raw path segment, once decoded by the upstream, could climb out of the base path. */
function climbs(segment: string): boolean {
  let decoded = segment;
  try {
    // Twice: an upstream or a framework in front of it may decode once more than expected.
    decoded = decodeURIComponent(decodeURIComponent(segment));
  } catch {
    return /%2e/i.test(segment) || segment === '.' || segment === '..';
  }
  return decoded.split(/[/\\]/).some((part) => part === '.' || part === '..');
}

export function routeRequest(target: string | undefined, upstreams: ReadonlySet<string>): RouteResult {
  if (!target?.startsWith('/')) {
    return {
      ok: false,
      status: 400,
      kind: 'not-a-gateway-path',
      detail: 'requests must be of the form /<upstream>/<path>; absolute URLs and CONNECT are not proxied',
    };
  }
  const queryAt = target.indexOf('?');
  const pathPart = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = queryAt === -1 ? '' : target.slice(queryAt);
  const segments = pathPart.split('/');
  // segments[0] is '' (the leading slash); [1] is the upstream.
  const upstream = segments[1] ?? '';
  if (upstream === '') {
    return {
      ok: false,
      status: 404,
      kind: 'unknown-upstream',
      detail: 'no upstream named in the path: use /<upstream>/<path>',
    };
  }
  if (!upstreams.has(upstream)) {
    return {
      ok: false,
      status: 404,
      kind: 'unknown-upstream',
      detail: `no upstream named "${safeText(upstream)}" is configured`,
    };
  }
  const rest = segments.slice(2);
  for (const segment of rest) {
    if (climbs(segment)) {
      return {
        ok: false,
        status: 400,
        kind: 'path-traversal',
        detail: 'the path may not contain dot segments (also percent-encoded) that climb out of the upstream',
      };
    }
  }
  return { ok: true, upstream, path: `/${rest.join('/')}${query}` };
}

/** Caller-given text echoed in an error, kept short and printable. */
export function safeText(text: string): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 64 ? `${printable.slice(0, 64)}…` : printable;
}
