/**
 * The admin listener: health and readiness for orchestrators, Prometheus metrics, the JSON view of every budget, the
 * dashboard, and named actions that change state. Reading is open (keep the listener on loopback, the default of
 * the config); every action needs `Authorization: Bearer <admin.token>`, and with no token configured actions are
 * refused. Errors answer RFC 9457 problem+json; no input crashes the listener.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { DASHBOARD_CONTENT_SECURITY_POLICY, DASHBOARD_HTML } from '../dashboard/page.js';
import { InvalidOptionError, SluiceError } from '../errors.js';
import { createTokenCheck } from '../observability/bearer-token.js';
import { type ObservedPipeline, viewBudgets } from '../observability/budget-view.js';
import type { Metrics } from '../observability/metrics.js';
import { type Clock, systemClock } from '../time.js';
import { type Problem, sendProblem } from './problem.js';

export interface Readiness {
  ready: boolean;
  /** Why not (starting, draining, a store that does not answer...). */
  reason?: string;
}

/** A state-changing admin action: takes the request's JSON body (undefined when empty), returns what to answer. */
export type AdminAction = (body: unknown) => Promise<unknown>;

export interface AdminServerOptions {
  /** Default 127.0.0.1: loopback unless the config says otherwise. */
  host?: string;
  /** Default 0: a free port (read it from `url`). */
  port?: number;
  /** Required by every action; without one, actions answer 403. */
  token?: string;
  pipelines: ReadonlyMap<string, ObservedPipeline>;
  metrics: Pick<Metrics, 'registry' | 'stats'>;
  /** Asked on every GET /readyz. Default: always ready. */
  readiness?: () => Readiness;
  actions?: Readonly<Record<string, AdminAction>>;
  /** Where failed actions are logged (their messages are not sent to the client). */
  logger?: Logger;
  clock?: Clock;
  /** Largest action body accepted (default 1 MiB). */
  maxBodyBytes?: number;
}

export interface AdminServer {
  /** `http://host:port`, without a trailing slash. */
  readonly url: string;
  close(): Promise<void>;
}

interface AdminContext {
  readonly options: AdminServerOptions;
  readonly clock: Clock;
  readonly checkToken: ReturnType<typeof createTokenCheck>;
  readonly maxBodyBytes: number;
}

const READ_METHODS = 'GET, HEAD';
const ACTION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

function send(response: ServerResponse, status: number, contentType: string, body: string, headers = {}): void {
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  response.end(body);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

function problem(status: number, kind: string, title: string, detail: string, extra?: Problem['extra']): Problem {
  return extra === undefined ? { status, kind, title, detail } : { status, kind, title, detail, extra };
}

function methodNotAllowed(response: ServerResponse, path: string, allow: string): void {
  sendProblem(response, problem(405, 'method-not-allowed', 'Method not allowed', `${path} answers ${allow} only`), {
    allow,
  });
}

function readiness(context: AdminContext): Readiness {
  const check = context.options.readiness;
  if (!check) return { ready: true };
  try {
    const answer = check();
    if (answer?.ready === true) return { ready: true };
    return { ready: false, reason: typeof answer?.reason === 'string' ? answer.reason : 'not ready' };
  } catch (error) {
    return { ready: false, reason: `the readiness check failed: ${(error as Error)?.message ?? String(error)}` };
  }
}

/** Reads the body up to the bound; null when it is larger (the rest is drained, not kept). */
function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    request.on('end', () => resolve(size > maxBytes ? null : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function parseJson(bytes: Buffer): { ok: true; value: unknown } | { ok: false } {
  const text = bytes.toString('utf8').trim();
  if (text === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** A status an action's error asks for: 4xx from a typed error a user can act on, 500 otherwise. */
function actionErrorStatus(error: unknown): number {
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 499) return status;
  if (error instanceof InvalidOptionError || error instanceof SluiceError) return 400;
  return 500;
}

async function runAction(
  context: AdminContext,
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
): Promise<void> {
  if (request.method !== 'POST') return methodNotAllowed(response, path, 'POST');
  const check = context.checkToken(request.headers.authorization);
  if (check === 'not-configured') {
    request.resume();
    return sendProblem(
      response,
      problem(
        403,
        'admin-token-not-configured',
        'Admin actions are disabled',
        'Actions change state and need a token: configure admin.token (e.g. admin: { token: { env: SLUICE_ADMIN_TOKEN } }) and send it as "Authorization: Bearer <token>".',
      ),
    );
  }
  if (check !== 'accepted') {
    request.resume();
    return sendProblem(
      response,
      problem(
        401,
        'admin-token-required',
        'Admin token required',
        check === 'missing'
          ? 'Send the admin token as "Authorization: Bearer <token>".'
          : 'The admin token sent does not match admin.token.',
      ),
      { 'www-authenticate': 'Bearer realm="sluice-admin"' },
    );
  }
  let name: string;
  try {
    name = decodeURIComponent(path.slice('/actions/'.length));
  } catch {
    name = '';
  }
  const actions = context.options.actions ?? {};
  const action = ACTION_NAME.test(name) && Object.hasOwn(actions, name) ? actions[name] : undefined;
  if (typeof action !== 'function') {
    request.resume();
    const known = Object.keys(actions).sort();
    return sendProblem(
      response,
      problem(
        404,
        'unknown-action',
        'Unknown action',
        known.length
          ? `There is no action named ${JSON.stringify(name)}; the actions are ${known.join(', ')}.`
          : 'This listener has no actions.',
      ),
    );
  }
  const body = await readBody(request, context.maxBodyBytes);
  if (body === null) {
    return sendProblem(
      response,
      problem(
        413,
        'body-too-large',
        'Body too large',
        `An action's body may be at most ${context.maxBodyBytes} bytes.`,
      ),
    );
  }
  const parsed = parseJson(body);
  if (!parsed.ok) {
    return sendProblem(
      response,
      problem(400, 'invalid-json', 'Invalid JSON', 'The body of an action must be JSON (or empty).'),
    );
  }
  let result: unknown;
  try {
    result = await action(parsed.value);
  } catch (error) {
    const status = actionErrorStatus(error);
    if (status >= 500) context.options.logger?.error({ err: error, action: name }, 'admin action failed');
    return sendProblem(
      response,
      problem(
        status,
        status >= 500 ? 'action-failed' : 'action-refused',
        status >= 500 ? 'Action failed' : 'Action refused',
        status >= 500 ? `The action ${name} failed; the gateway's log says why.` : String((error as Error).message),
        { action: name },
      ),
    );
  }
  let text: string;
  try {
    text = JSON.stringify({ action: name, result: result ?? null });
  } catch {
    return sendProblem(
      response,
      problem(500, 'action-failed', 'Action failed', `The action ${name} returned a value that is not JSON.`),
    );
  }
  send(response, 200, 'application/json; charset=utf-8', text);
}

async function serveRead(context: AdminContext, response: ServerResponse, path: string): Promise<boolean> {
  switch (path) {
    case '/':
      send(response, 200, 'text/html; charset=utf-8', DASHBOARD_HTML, {
        'content-security-policy': DASHBOARD_CONTENT_SECURITY_POLICY,
        'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY',
      });
      return true;
    case '/healthz':
      sendJson(response, 200, { status: 'ok' });
      return true;
    case '/readyz': {
      const state = readiness(context);
      if (state.ready) sendJson(response, 200, { status: 'ready' });
      else {
        sendProblem(
          response,
          problem(503, 'not-ready', 'Not ready', state.reason ?? 'not ready', { reason: state.reason ?? 'not ready' }),
        );
      }
      return true;
    }
    case '/metrics': {
      const { registry } = context.options.metrics;
      send(response, 200, registry.contentType, await registry.metrics());
      return true;
    }
    case '/budgets':
      sendJson(response, 200, await viewBudgets(context.options.pipelines, () => context.clock.now()));
      return true;
    case '/stats':
      sendJson(response, 200, context.options.metrics.stats());
      return true;
    default:
      return false;
  }
}

const READ_PATHS = new Set(['/', '/healthz', '/readyz', '/metrics', '/budgets', '/stats']);

async function route(context: AdminContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  let path: string;
  try {
    path = new URL(request.url ?? '/', 'http://admin.invalid').pathname;
  } catch {
    request.resume();
    return sendProblem(
      response,
      problem(400, 'invalid-target', 'Invalid request target', 'The URL could not be read.'),
    );
  }
  if (path.startsWith('/actions/')) return runAction(context, request, response, path);
  request.resume();
  if (READ_PATHS.has(path)) {
    if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed(response, path, READ_METHODS);
    await serveRead(context, response, path);
    return;
  }
  sendProblem(
    response,
    problem(
      404,
      'not-found',
      'Not found',
      'The admin listener serves GET /, /healthz, /readyz, /metrics, /budgets, /stats and POST /actions/<name>.',
    ),
  );
}

function checkOptions(options: AdminServerOptions): { host: string; port: number; maxBodyBytes: number } {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(
      'options',
      'expected { host?, port?, token?, pipelines, metrics, readiness?, actions? }',
    );
  }
  const { host = '127.0.0.1', port = 0, maxBodyBytes = DEFAULT_MAX_BODY_BYTES } = options;
  if (typeof host !== 'string' || host === '') {
    throw new InvalidOptionError('admin.host', `expected a host name or address, got ${JSON.stringify(host)}`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidOptionError('admin.port', `expected a port number 0-65535 (0 for a free one), got ${port}`);
  }
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length < 16)) {
    throw new InvalidOptionError('admin.token', 'expected a string of at least 16 characters (a long random secret)');
  }
  if (!(options.pipelines instanceof Map)) {
    throw new InvalidOptionError('pipelines', 'expected a Map of upstream name to pipeline');
  }
  if (typeof options.metrics?.stats !== 'function' || typeof options.metrics.registry?.metrics !== 'function') {
    throw new InvalidOptionError('metrics', 'expected the object createMetrics() returns');
  }
  if (options.readiness !== undefined && typeof options.readiness !== 'function') {
    throw new InvalidOptionError('readiness', 'expected a function returning { ready, reason? }');
  }
  if (options.actions !== undefined) {
    for (const [name, action] of Object.entries(options.actions)) {
      if (!ACTION_NAME.test(name)) {
        throw new InvalidOptionError(`actions.${name}`, 'names are letters, digits, ".", "_" and "-" (128 at most)');
      }
      if (typeof action !== 'function') throw new InvalidOptionError(`actions.${name}`, 'expected an async function');
    }
  }
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0) {
    throw new InvalidOptionError('maxBodyBytes', `expected a whole number of bytes, got ${maxBodyBytes}`);
  }
  return { host, port, maxBodyBytes };
}

export async function createAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { host, port, maxBodyBytes } = checkOptions(options);
  const context: AdminContext = {
    options,
    clock: options.clock ?? systemClock,
    checkToken: createTokenCheck(options.token),
    maxBodyBytes,
  };
  const server = createServer((request, response) => {
    route(context, request, response).catch((error: unknown) => {
      options.logger?.error({ err: error, path: request.url }, 'admin request failed');
      sendProblem(
        response,
        problem(500, 'admin-error', 'Admin listener error', 'The request failed; the gateway’s log says why.'),
      );
    });
  });
  // Small answers only: a slow or silent client must not hold a connection for long. Malformed requests get Node's
  // own 400 and the connection closed.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
