/**
 * The prepare stage: makes a call what the upstream expects — the route's declared cost, the configured headers,
 * the application's User-Agent and the tenant's own credential — before it is retried, queued and paced.
 */
import { findRoute, type UpstreamRoute } from '../config/routes.js';
import { CallFailedError } from './errors.js';
import type { Call, Stage } from './stage.js';

/** A tenant's credential, its secret already resolved. */
export type ResolvedCredential =
  | { placement: 'header'; header: string; value: string }
  | { placement: 'query'; query: string; value: string };

export interface PrepareOptions {
  upstream: string;
  routes?: readonly UpstreamRoute[];
  headers?: {
    set: Readonly<Record<string, string>>;
    default: Readonly<Record<string, string>>;
    remove: readonly string[];
  };
  userAgent?: string | null;
  /** Per tenant name; `default` serves calls of no tenant and of tenants without their own. */
  credentials?: ReadonlyMap<string, ResolvedCredential>;
}

function withQueryParameter(path: string, name: string, value: string): string {
  // The caller's own value for the parameter (if any) is replaced, never sent alongside.
  const url = new URL(path, 'http://upstream.invalid');
  url.searchParams.set(name, value);
  return url.pathname + url.search;
}

export function createPrepareStage(options: PrepareOptions): Stage {
  const routes = options.routes ?? [];
  const set = Object.entries(options.headers?.set ?? {});
  const defaults = Object.entries(options.headers?.default ?? {});
  const remove = options.headers?.remove ?? [];
  const credentials = options.credentials;
  const needsRoute = routes.some((route) => Object.keys(route.cost).length > 0);

  return function prepare(call: Call, next) {
    if (needsRoute && Object.keys(call.cost).length === 0) {
      const route = findRoute(routes, call.method, call.path.split('?')[0] as string);
      if (route) call.cost = { ...route.cost };
    }
    for (const name of remove) delete call.headers[name];
    for (const [name, value] of defaults) if (call.headers[name] === undefined) call.headers[name] = value;
    for (const [name, value] of set) call.headers[name] = value;
    if (options.userAgent) call.headers['user-agent'] = options.userAgent;
    if (credentials && credentials.size > 0) {
      // A tenant uses its own credential, or the upstream's default one — never another tenant's. The budget follows
      // the credential: tenants sharing the default share its budget.
      const own = call.tenant === undefined ? undefined : credentials.get(call.tenant);
      const name = own ? (call.tenant as string) : 'default';
      const credential = own ?? credentials.get('default');
      if (!credential) {
        return Promise.reject(
          new CallFailedError(
            'no-credential',
            options.upstream,
            `tenant "${call.tenant ?? '(none)'}" has no credential for upstream ${options.upstream}, and there is no default one: add one under upstreams.${options.upstream}.credentials`,
          ),
        );
      }
      call.notes.credential = name;
      if (credential.placement === 'header') call.headers[credential.header] = credential.value;
      else call.path = withQueryParameter(call.path, credential.query, credential.value);
    }
    return next(call);
  };
}
