import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidOptionError } from '../errors.js';
import { type Clock, systemClock } from '../time.js';
import { createSimulatedProfile } from './profile.js';
import { countReply, emptyTally, reportOf } from './tally.js';
import type { SimulatedReply, SimulatorLimits, SimulatorProfileName, SimulatorReport } from './types.js';

export interface SimulatorOptions {
  profile: SimulatorProfileName;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 0: a free port (read it from `url`). */
  port?: number;
  limits?: SimulatorLimits;
  /** Decides and dates responses; inject a manual clock for deterministic tests. Default the system clock. */
  clock?: Clock;
  /** Delay every response by this many (real) milliseconds, as a distant upstream would. Default 0. */
  latencyMs?: number;
}

export interface Simulator {
  /** `http://host:port`, without a trailing slash. */
  readonly url: string;
  readonly profile: SimulatorProfileName;
  report(): SimulatorReport;
  /** Forgets counts and limit state: the next request starts a new run with a full budget. */
  reset(): void;
  close(): Promise<void>;
}

/** Admin routes, for a benchmark in another process; they are neither limited nor counted. */
const ADMIN_PREFIX = '/_sim/';
/** Bodies are read to price calls (OpenAI's max_tokens) and to keep connections reusable; more is refused. */
const MAX_BODY_BYTES = 1024 * 1024;

function send(response: ServerResponse, status: number, headers: Record<string, string>, body: string, dateMs: number) {
  const payload = Buffer.from(body);
  // The Date header comes from the simulator's clock: readers correct reset times by it.
  response.writeHead(status, {
    ...headers,
    Date: new Date(dateMs).toUTCString(),
    'Content-Length': String(payload.length),
  });
  response.end(payload);
}

function readBody(request: IncomingMessage): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8')));
    request.on('error', () => resolve(null));
  });
}

function checkOptions(options: SimulatorOptions): { host: string; port: number; latencyMs: number; clock: Clock } {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError('options', 'expected { profile, host?, port?, limits?, clock?, latencyMs? }');
  const { host = '127.0.0.1', port = 0, latencyMs = 0, clock = systemClock } = options;
  if (typeof host !== 'string' || host === '')
    throw new InvalidOptionError('host', `expected a host name or address, got ${JSON.stringify(host)}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidOptionError(
      'port',
      `expected a port number 0-65535 (0 for a free one), got ${JSON.stringify(port)}`,
    );
  if (typeof latencyMs !== 'number' || !Number.isFinite(latencyMs) || latencyMs < 0)
    throw new InvalidOptionError('latencyMs', `expected non-negative milliseconds, got ${JSON.stringify(latencyMs)}`);
  if (typeof clock?.now !== 'function') throw new InvalidOptionError('clock', 'expected an object with a now() method');
  return { host, port, latencyMs, clock };
}

/**
 * Starts a rate-limited upstream on node:http that emulates a provider's limit model and headers
 * (`sluice simulate`), counts what it accepted and rejected, and reports the most it could have accepted.
 * Every path is served (`200 {"ok":true}` when within the limit) except `GET /_sim/report` and `POST /_sim/reset`.
 */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const { host, port, latencyMs, clock } = checkOptions(options);
  const profile = createSimulatedProfile(options.profile, options.limits);
  let tally = emptyTally();
  const delayed = new Set<NodeJS.Timeout>();

  const report = () => reportOf(profile, tally);
  const reset = () => {
    profile.reset();
    tally = emptyTally();
  };

  function admin(request: IncomingMessage, response: ServerResponse, path: string) {
    const json = { 'Content-Type': 'application/json' };
    if (path === '/_sim/report') {
      if (request.method !== 'GET' && request.method !== 'HEAD')
        return send(response, 405, { ...json, Allow: 'GET, HEAD' }, '{"error":"use GET"}', clock.now());
      return send(response, 200, json, JSON.stringify(report()), clock.now());
    }
    if (path === '/_sim/reset') {
      if (request.method !== 'POST')
        return send(response, 405, { ...json, Allow: 'POST' }, '{"error":"use POST"}', clock.now());
      reset();
      return send(response, 200, json, '{"reset":true}', clock.now());
    }
    return send(response, 404, json, '{"error":"admin routes are GET /_sim/report and POST /_sim/reset"}', clock.now());
  }

  async function serve(request: IncomingMessage, response: ServerResponse) {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const body = await readBody(request);
    if (path.startsWith(ADMIN_PREFIX)) return admin(request, response, path);
    if (body === null)
      return send(response, 413, { 'Content-Type': 'text/plain' }, 'Request body too large', clock.now());
    const nowEpochMs = clock.now();
    const reply: SimulatedReply = profile.handle(
      { method: request.method ?? 'GET', path, headers: request.headers, body },
      nowEpochMs,
    );
    countReply(tally, reply, nowEpochMs);
    if (latencyMs === 0) return send(response, reply.status, reply.headers, reply.body, nowEpochMs);
    const timer = setTimeout(() => {
      delayed.delete(timer);
      if (!response.destroyed) send(response, reply.status, reply.headers, reply.body, nowEpochMs);
    }, latencyMs);
    delayed.add(timer);
  }

  const server = createServer({ keepAlive: true }, (request, response) => {
    serve(request, response).catch(() => {
      if (!response.headersSent) send(response, 500, { 'Content-Type': 'text/plain' }, 'simulator error', clock.now());
      else response.destroy();
    });
  });
  // Load generators keep connections open between bursts; Node's 5 s default would close them mid-run.
  server.keepAliveTimeout = 65_000;
  server.on('clientError', (_error, socket) => socket.destroy());

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
    profile: profile.name,
    report,
    reset,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of delayed) clearTimeout(timer);
        delayed.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
