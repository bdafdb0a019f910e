/**
 * The gateway: an HTTP listener that sends `/<upstream>/<rest>?<query>` to the configured upstream through that
 * upstream's pipeline — the same pipeline the library client runs. It authenticates callers by their gateway key,
 * applies inbound limits, injects the tenant's credential, streams bodies both ways, and answers every failure of
 * its own at once with an RFC 9457 problem.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Agent } from 'undici';
import { createMemoryBudgetStore } from '../budget/memory-store.js';
import type { BudgetStore } from '../budget/types.js';
import { createRedisCacheStore } from '../cache/redis-store.js';
import type { CacheStore } from '../cache/store.js';
import type { Config } from '../config/gateway.js';
import { resolveSecret } from '../config/secrets.js';
import { createInboundLimits, type InboundLimits } from '../inbound/engine.js';
import type { LimitStore } from '../limits/store.js';
import { createCallLogger } from '../observability/call-logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { purgeCache } from '../pipeline/cache-admin.js';
import { createPipeline, type Pipeline } from '../pipeline/create-pipeline.js';
import { addDiagnostics } from '../pipeline/diagnostics.js';
import { CallFailedError } from '../pipeline/errors.js';
import { createEventBus, type EventBus } from '../pipeline/events.js';
import type { Call, Reply, Stage } from '../pipeline/stage.js';
import { createAgent } from '../pipeline/transport.js';
import { pipelineOptionsFromUpstream } from '../pipeline/upstream-options.js';
import { openStores } from '../stores/from-config.js';
import { type Scheduler, systemClock } from '../time.js';
import { createAdminServer } from './admin.js';
import { createBalancedTransport } from './balanced-transport.js';
import { createTenantDirectory, type Tenant, type TenantDirectory } from './credentials.js';
import { type Problem, retryAfterSeconds, sendProblem } from './problem.js';
import { replyHeadersToReturn, requestHeadersToForward } from './proxy-headers.js';
import { BodyTooLargeError, byteLimit, callBodyOf } from './request-body.js';
import { routeRequest, safeText } from './route.js';

export interface GatewayOptions {
  config: Config;
  /** An injected clock (tests). */
  clock?: Scheduler;
  /** Where secrets come from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Where budgets live; default: memory (or what `config.store` says, once a shared store is plugged in). */
  budgetStore?: BudgetStore;
  /** Limits on the gateway's callers; default: built from `config.inbound` when it has rules. */
  inbound?: InboundLimits;
  /** Where inbound limits are kept (default memory). */
  limitStore?: LimitStore;
  /** Stages per upstream between the outer observe stage and retry (cache, coalescing, batching). */
  outerStages?: (upstream: string) => readonly Stage[];
  /** Receives every call and attempt event of every upstream (metrics, logs). */
  events?: EventBus;
  /** One line per upstream call (secrets redacted); default: no call logs. */
  logger?: Logger;
  /** Start the admin listener (`config.admin`): health, metrics, budgets, dashboard, actions. Default true. */
  admin?: boolean;
  /** Where cached replies live when an upstream enables its cache (default: memory, per upstream). */
  cacheStore?: CacheStore;
}

export interface Gateway {
  readonly url: string;
  /** The admin listener's URL, when it was started. */
  readonly adminUrl: string | undefined;
  readonly metrics: Metrics;
  readonly server: Server;
  readonly pipelines: ReadonlyMap<string, Pipeline>;
  readonly events: EventBus;
  /** True once `close` was called: new calls get 503. */
  readonly draining: boolean;
  /** Stops accepting calls, lets calls in flight finish for up to `graceMs`, then cuts what is left. */
  close(graceMs?: number): Promise<void>;
}

interface UpstreamRuntime {
  name: string;
  pipeline: Pipeline;
  maxRequestBytes: number;
  maxReplayBytes: number;
  maxResponseBytes: number;
  agent: Agent;
}

const NO_BODY_STATUSES = new Set([204, 304]);

function clientIp(request: IncomingMessage): string {
  return request.socket.remoteAddress ?? '';
}

function parseDirective(value: string | undefined, field: string, integer: boolean): number | undefined | Problem {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || (integer && !Number.isInteger(number)) || number < 0) {
    return {
      status: 400,
      kind: 'bad-directive',
      title: 'Bad Sluice header',
      detail: `${field} must be a ${integer ? 'whole number' : 'number'} of 0 or more, got ${JSON.stringify(safeText(value))}`,
    };
  }
  return number;
}

interface Directives {
  priority: number | undefined;
  deadlineMs: number | undefined;
  tokens: number | undefined;
}

/** The caller's x-sluice-* instructions, checked strictly: a malformed one is a 400, not silently ignored. */
function readDirectives(request: IncomingMessage): Directives | Problem {
  const header = (name: string) => request.headers[name] as string | undefined;
  const priority = parseDirective(header('x-sluice-priority'), 'x-sluice-priority', true);
  if (typeof priority === 'object') return priority;
  const deadlineMs = parseDirective(header('x-sluice-deadline-ms'), 'x-sluice-deadline-ms', false);
  if (typeof deadlineMs === 'object') return deadlineMs;
  const tokens = parseDirective(header('x-sluice-cost-tokens'), 'x-sluice-cost-tokens', false);
  if (typeof tokens === 'object') return tokens;
  return { priority, deadlineMs, tokens };
}

function problemOfFailure(error: unknown, upstream: string): Problem {
  if (error instanceof CallFailedError) {
    const titles: Record<string, string> = {
      429: 'Too Many Requests',
      503: 'Service Unavailable',
      504: 'Gateway Timeout',
      502: 'Bad Gateway',
      403: 'Forbidden',
    };
    return {
      status: error.status === 499 ? 499 : error.status,
      kind: error.reason,
      title: titles[error.status] ?? 'Call failed',
      detail: error.message,
      retryAfterSeconds: retryAfterSeconds(error.retryAfterMs),
      extra: { upstream },
    };
  }
  if (error instanceof BodyTooLargeError) {
    return {
      status: 413,
      kind: 'request-too-large',
      title: 'Content Too Large',
      detail: error.message,
      extra: { upstream },
    };
  }
  return {
    status: 502,
    kind: 'upstream-failed',
    title: 'Bad Gateway',
    detail: `the call to ${upstream} failed: ${error instanceof Error ? error.message : String(error)}`,
    extra: { upstream },
  };
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const events = options.events ?? createEventBus();
  // With `store: { redis }`, limits, budgets and cached replies are shared by every gateway on that Redis.
  const stores =
    options.budgetStore === undefined && config.store.kind === 'redis'
      ? openStores(config.store, { env: options.env, ...(options.logger ? { logger: options.logger } : {}) })
      : undefined;
  const budgetStore = options.budgetStore ?? stores?.budgets ?? createMemoryBudgetStore({ clock });
  const ownsStore = options.budgetStore === undefined;
  const limitStore = options.limitStore ?? stores?.limits;
  const cacheStore =
    options.cacheStore ??
    (config.store.kind === 'redis'
      ? createRedisCacheStore({ url: config.store.url, keyPrefix: `${config.store.keyPrefix}cache:` })
      : undefined);
  const tenants: TenantDirectory = createTenantDirectory(
    Object.entries(config.tenants).map(([name, tenant]) => ({
      name,
      plan: tenant.plan ?? undefined,
      keys: tenant.keys.map((reference) => resolveSecret(reference, { env: options.env })),
    })),
  );

  const inbound =
    options.inbound ??
    (config.inbound.rules.length > 0
      ? createInboundLimits(config.inbound, { store: limitStore, clock: options.clock })
      : undefined);

  const upstreams = new Map<string, UpstreamRuntime>();
  // Every secret the gateway holds, so that logs can hide them wherever they would appear.
  const secrets: string[] = [];
  for (const [name, upstream] of Object.entries(config.upstreams)) {
    const agent = createAgent({ connectTimeoutMs: upstream.timeouts.connectMs });
    const dependencies = {
      dispatcher: agent,
      cacheStore,
      store: budgetStore,
      clock: options.clock,
      events,
      outerStages: options.outerStages?.(name),
      env: options.env,
    };
    const pipelineOptions = pipelineOptionsFromUpstream(name, upstream, dependencies);
    for (const credential of pipelineOptions.prepare?.credentials?.values() ?? []) secrets.push(credential.value);
    if (upstream.endpoints.length > 1) {
      pipelineOptions.transport = createBalancedTransport({
        upstream: name,
        endpoints: upstream.endpoints,
        strategy: upstream.balance,
        dispatcher: agent,
        headersTimeoutMs: upstream.timeouts.headersMs,
        bodyTimeoutMs: upstream.timeouts.bodyMs,
        clock,
      });
    }
    upstreams.set(name, {
      name,
      pipeline: createPipeline(pipelineOptions),
      maxRequestBytes: upstream.maxRequestBytes,
      maxReplayBytes: upstream.retry.maxReplayBytes,
      maxResponseBytes: upstream.maxResponseBytes,
      agent,
    });
  }
  const upstreamNames = new Set(upstreams.keys());
  const pipelines = new Map([...upstreams].map(([name, runtime]) => [name, runtime.pipeline]));
  const metrics = createMetrics({
    tenants: Object.keys(config.tenants),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  for (const [name, pipeline] of pipelines) {
    metrics.watch(pipeline, { maxQueueDepth: config.upstreams[name]?.queue.maxDepth });
  }
  if (options.logger) {
    const queryCredentials = Object.values(config.upstreams).flatMap((upstream) =>
      Object.values(upstream.credentials).flatMap((credential) =>
        credential.placement === 'query' ? [credential.query] : [],
      ),
    );
    const callLogger = createCallLogger(options.logger, {
      redactQueryParameters: queryCredentials,
      secrets: () => secrets,
    });
    for (const pipeline of pipelines.values()) callLogger.watch(pipeline);
  }
  const callerKeyHeader = config.callerKeyHeader;
  let draining = false;
  // Answers not yet fully sent: shutdown waits for them (up to its grace period).
  const open = new Set<ServerResponse>();
  let allAnswered: (() => void) | undefined;

  const forwardOptions = { callerKeyHeader };

  function identify(request: IncomingMessage): Tenant | null | Problem {
    if (!tenants.enabled) return null;
    const key = request.headers[callerKeyHeader];
    const tenant = tenants.identify(typeof key === 'string' ? key : undefined);
    if (tenant) return tenant;
    return {
      status: 401,
      kind: key === undefined ? 'missing-gateway-key' : 'unknown-gateway-key',
      title: 'Unauthorized',
      detail:
        key === undefined
          ? `send your gateway key in the ${callerKeyHeader} header`
          : `the key in ${callerKeyHeader} is not a key of any tenant`,
    };
  }

  function writeReply(
    response: ServerResponse,
    call: Call,
    reply: Reply,
    runtime: UpstreamRuntime,
    extra: Record<string, string>,
  ) {
    const declared = Number(reply.headers['content-length']);
    if (Number.isFinite(declared) && declared > runtime.maxResponseBytes) {
      reply.body?.destroy();
      sendProblem(response, {
        status: 502,
        kind: 'response-too-large',
        title: 'Bad Gateway',
        detail: `${runtime.name} answered with ${declared} bytes, more than its maxResponseBytes (${runtime.maxResponseBytes})`,
        extra: { upstream: runtime.name },
      });
      return;
    }
    const headers = replyHeadersToReturn(reply.headers);
    for (const name in extra) headers[name] = extra[name] as string;
    addDiagnostics(headers, call.notes);
    if (draining) headers.connection = 'close';
    response.writeHead(reply.status, headers);
    if (!reply.body || NO_BODY_STATUSES.has(reply.status) || call.method === 'HEAD') {
      reply.body?.resume();
      response.end();
      return;
    }
    const body = reply.body;
    const limited = Number.isFinite(declared) ? body : body.pipe(byteLimit(runtime.maxResponseBytes));
    // Plain pipe (stream.pipeline costs an AbortController and a DOMException per reply), with its failures handled:
    // a body that breaks cuts the answer, and a caller that goes away stops the body.
    const fail = () => {
      body.destroy();
      response.destroy();
    };
    limited.once('error', fail);
    if (limited !== body) body.once('error', fail);
    response.once('close', () => {
      if (!response.writableFinished) body.destroy();
    });
    limited.pipe(response);
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (draining) {
      sendProblem(
        response,
        {
          status: 503,
          kind: 'draining',
          title: 'Service Unavailable',
          detail: 'the gateway is shutting down',
          retryAfterSeconds: 1,
        },
        { connection: 'close' },
      );
      return;
    }
    const route = routeRequest(request.url, upstreamNames);
    if (!route.ok) {
      sendProblem(response, { status: route.status, kind: route.kind, title: 'Not Routable', detail: route.detail });
      return;
    }
    const runtime = upstreams.get(route.upstream) as UpstreamRuntime;
    const tenant = identify(request);
    if (tenant !== null && 'status' in tenant) {
      sendProblem(response, tenant);
      return;
    }
    const directives = readDirectives(request);
    if ('status' in directives) {
      sendProblem(response, directives);
      return;
    }
    let inboundHeaders: Record<string, string> = {};
    if (inbound) {
      const key = request.headers[callerKeyHeader];
      const verdict = await inbound.check({
        key: typeof key === 'string' ? key : undefined,
        tenant: tenant?.name,
        plan: tenant?.plan,
        ip: clientIp(request),
        upstream: route.upstream,
        method: request.method ?? 'GET',
        path: route.path,
      });
      inboundHeaders = verdict.headers;
      if (!verdict.allowed) {
        sendProblem(
          response,
          verdict.problem ?? {
            status: verdict.status ?? 429,
            kind: 'inbound-limit',
            title: 'Too Many Requests',
            detail: 'this caller is over its limit at the gateway',
            retryAfterSeconds: retryAfterSeconds(verdict.retryAfterMs),
          },
          verdict.headers,
        );
        return;
      }
      // Concurrency slots are held until the answer is sent (or the caller goes away).
      if (verdict.holds.length > 0) response.once('close', () => void inbound.release(verdict));
    }

    const abort = new AbortController();
    const onClose = () => {
      if (!response.writableFinished) abort.abort(new Error('the caller went away'));
    };
    response.on('close', onClose);

    let body: Call['body'];
    try {
      body = await callBodyOf(request, {
        maxRequestBytes: runtime.maxRequestBytes,
        maxReplayBytes: runtime.maxReplayBytes,
      });
    } catch (error) {
      sendProblem(response, problemOfFailure(error, runtime.name), { connection: 'close' });
      return;
    }
    const headers = requestHeadersToForward(request.headers, forwardOptions);
    if (config.forwardedHeaders) {
      const previous = request.headers['x-forwarded-for'];
      headers['x-forwarded-for'] = previous ? `${previous}, ${clientIp(request)}` : clientIp(request);
      headers['x-forwarded-proto'] = 'http';
      if (request.headers.host) headers['x-forwarded-host'] = request.headers.host;
    }
    const call: Call = {
      upstream: runtime.name,
      method: request.method ?? 'GET',
      path: route.path,
      headers,
      body,
      tenant: tenant?.name,
      priority: directives.priority ?? 0,
      deadlineAtEpochMs: directives.deadlineMs === undefined ? undefined : clock.now() + directives.deadlineMs,
      signal: abort.signal,
      cost: directives.tokens === undefined ? {} : { tokens: directives.tokens },
      notes: { waitedMs: 0, attempts: 0 },
    };
    let reply: Reply;
    try {
      reply = await runtime.pipeline.handle(call);
    } catch (error) {
      if (abort.signal.aborted) {
        response.destroy();
        return;
      }
      sendProblem(response, problemOfFailure(error, runtime.name), inboundHeaders);
      return;
    }
    writeReply(response, call, reply, runtime, inboundHeaders);
  }

  const server = createServer({ keepAliveTimeout: 65_000 }, (request, response) => {
    open.add(response);
    response.once('close', () => {
      open.delete(response);
      if (open.size === 0) allAnswered?.();
    });
    handle(request, response).catch((error: unknown) => {
      sendProblem(response, {
        status: 500,
        kind: 'internal',
        title: 'Internal Server Error',
        detail: `the gateway failed to handle this request: ${error instanceof Error ? error.message : String(error)}`,
      });
    });
  });
  // Never a tunnel: CONNECT (and upgrades) are refused.
  server.on('connect', (_request: IncomingMessage, socket: Socket) => {
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
  server.on('clientError', (_error, socket: Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const admin =
    options.admin === false
      ? undefined
      : await createAdminServer({
          host: config.admin.host,
          port: config.admin.port,
          token: config.admin.token ? resolveSecret(config.admin.token, { env: options.env }) : undefined,
          pipelines,
          metrics,
          readiness: () => (draining ? { ready: false, reason: 'draining' } : { ready: true }),
          actions: {
            'purge-cache': (body) =>
              purgeCache(body, new Map([...pipelines].map(([name, pipeline]) => [name, pipeline.cache]))),
          },
          logger: options.logger,
          ...(options.clock ? { clock: options.clock } : {}),
        }).catch(async (error: unknown) => {
          server.close();
          throw error;
        });

  return {
    url: `http://${host}:${address.port}`,
    adminUrl: admin?.url,
    metrics,
    server,
    pipelines,
    events,
    get draining() {
      return draining;
    },
    async close(graceMs = config.shutdown.graceMs) {
      if (draining) return;
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const answered = new Promise<void>((resolve) => {
        allAnswered = resolve;
        if (open.size === 0) resolve();
      });
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([answered, grace]);
      clearTimeout(timer);
      server.closeAllConnections();
      await closed;
      await Promise.all(
        [...upstreams.values()].map(async (runtime) => {
          await runtime.pipeline.close();
          await runtime.agent.close();
        }),
      );
      await admin?.close();
      if (stores) await stores.close();
      else if (ownsStore) await budgetStore.close();
      if (cacheStore && !options.cacheStore) await cacheStore.close?.();
    },
  };
}
