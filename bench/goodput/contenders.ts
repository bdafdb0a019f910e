/**
 * The clients compared by the goodput benchmark. Each gets a fresh simulated upstream and sends one call per
 * arrival; `send` resolves with the status the caller finally saw (0 for a local failure).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Bottleneck from 'bottleneck';
import pRetry, { AbortError } from 'p-retry';
import { Agent } from 'undici';
import { createClient } from '../../src/client/create-client.js';
import { normalizeConfig } from '../../src/config/load.js';
import { startGateway } from '../../src/gateway/server.js';
import { parseRateLimit } from '../../src/signals/parse.js';
import type { SimulatorProfileName } from '../../src/simulator/types.js';
import type { Request } from './profiles.js';

export type { Request } from './profiles.js';

export interface Contender {
  send(request: Request, signal: AbortSignal): Promise<number>;
  /** Set by contenders that generate their own load (several processes): runs it instead of `send`. */
  runOwnLoad?(settings: { ratePerSecond: number; durationMs: number }): Promise<void>;
  close(): Promise<void>;
}

export type ContenderName =
  | 'sluice'
  | 'sluice-gateway'
  | 'sluice-4x'
  | 'sluice-gateway-4x'
  | 'p-retry'
  | 'bottleneck'
  | 'reset-wait';

/** How many processes share one budget through Redis in the `-4x` contenders. */
const PROCESSES = 4;
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** Starts a worker process (see worker.ts) and resolves with its first line of output. */
function startWorker(settings: Record<string, unknown>): {
  child: ChildProcess;
  line: Promise<Record<string, unknown>>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(settings)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = new Promise<Record<string, unknown>>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const end = output.indexOf('\n');
      if (end !== -1) resolve(JSON.parse(output.slice(0, end)));
    });
    child.once('exit', (code) => reject(new Error(`a goodput worker exited with ${code} before answering`)));
  });
  return { child, line };
}

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = () => `sluice-bench:${process.pid}:${Date.now()}:${Math.random().toString(36).slice(2)}:`;

/** Four Sluice clients in four processes, sharing one budget through Redis, each sending a quarter of the demand. */
function sharedClients(url: string, profile: SimulatorProfileName): Contender {
  return {
    async send() {
      throw new Error('sluice-4x generates its own load');
    },
    async runOwnLoad({ ratePerSecond, durationMs }) {
      const prefix = keyPrefix();
      const startAtEpochMs = Date.now() + 1500;
      const workers = Array.from({ length: PROCESSES }, (_, offset) =>
        startWorker({
          mode: 'client',
          upstreamUrl: url,
          redisUrl,
          keyPrefix: prefix,
          profile,
          ratePerSecond: ratePerSecond / PROCESSES,
          durationMs,
          startAtEpochMs,
          offset,
        }),
      );
      await Promise.all(workers.map((worker) => worker.line));
    },
    async close() {},
  };
}

/** Four Sluice gateways in four processes, sharing one budget through Redis; calls are spread over them. */
async function sharedGateways(url: string, profile: SimulatorProfileName): Promise<Contender> {
  const prefix = keyPrefix();
  const workers = Array.from({ length: PROCESSES }, () =>
    startWorker({ mode: 'gateway', upstreamUrl: url, redisUrl, keyPrefix: prefix, profile }),
  );
  const urls = (await Promise.all(workers.map((worker) => worker.line))).map((answer) => String(answer.url));
  let next = 0;
  return {
    async send(request, signal) {
      const gateway = urls[next++ % urls.length] as string;
      const response = await fetch(`${gateway}/upstream${request.path}`, {
        method: request.method,
        body: request.body,
        headers: {
          ...(request.body ? { 'content-type': 'application/json' } : {}),
          ...(request.tokens ? { 'x-sluice-cost-tokens': String(request.tokens) } : {}),
        },
        signal,
        // @ts-expect-error Node's fetch takes an undici dispatcher
        dispatcher: agent,
      });
      await response.arrayBuffer();
      return response.status;
    },
    async close() {
      await Promise.all(
        workers.map(
          ({ child }) =>
            new Promise<void>((resolve) => {
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

/** What each profile really allows (the simulator's defaults), for the peers that are told the limits. */
export const TRUE_LIMITS: Record<SimulatorProfileName, { perSecond: number; burst: number; windowMs: number }> = {
  github: { perSecond: 100, burst: 100, windowMs: 1000 },
  openai: { perSecond: 100, burst: 100, windowMs: 1000 },
  shopify: { perSecond: 20, burst: 40, windowMs: 2000 },
  discord: { perSecond: 10, burst: 10, windowMs: 1000 },
  ietf: { perSecond: 100, burst: 100, windowMs: 1000 },
  none: { perSecond: 100, burst: 100, windowMs: 1000 },
};

const agent = new Agent({ keepAliveTimeout: 10_000, connections: 256 });

async function plainSend(url: string, request: Request, signal: AbortSignal): Promise<Response> {
  return fetch(url, {
    method: request.method,
    body: request.body,
    headers: request.body ? { 'content-type': 'application/json' } : {},
    signal,
    // @ts-expect-error Node's fetch takes an undici dispatcher
    dispatcher: agent,
  });
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

/** Sluice's client, learning every limit from headers (nothing configured). */
function sluiceClient(url: string): Contender {
  const client = createClient({ baseUrl: url, queue: { maxDepth: 100_000, timeout: '60s' } });
  return {
    async send(request, signal) {
      const response = await client.fetch(request.path, {
        method: request.method,
        body: request.body,
        headers: request.body ? { 'content-type': 'application/json' } : {},
        signal,
        sluice: request.tokens ? { cost: { tokens: request.tokens } } : undefined,
      });
      await response.arrayBuffer();
      return response.status;
    },
    close: () => client.close(),
  };
}

/** Sluice's gateway in front of the upstream, learning every limit from headers. */
async function sluiceGateway(url: string): Promise<Contender> {
  const gateway = await startGateway({
    admin: false,
    config: normalizeConfig({
      listen: { host: '127.0.0.1', port: 0 },
      upstreams: { upstream: { url, queue: { maxDepth: 100_000, timeout: '60s' } } },
    }),
  });
  return {
    async send(request, signal) {
      const response = await fetch(`${gateway.url}/upstream${request.path}`, {
        method: request.method,
        body: request.body,
        headers: {
          ...(request.body ? { 'content-type': 'application/json' } : {}),
          ...(request.tokens ? { 'x-sluice-cost-tokens': String(request.tokens) } : {}),
        },
        signal,
        // @ts-expect-error Node's fetch takes an undici dispatcher
        dispatcher: agent,
      });
      await response.arrayBuffer();
      return response.status;
    },
    close: () => gateway.close(100),
  };
}

/** A careful retry loop: exponential backoff with jitter, honouring Retry-After when the upstream sends one. */
function pRetryLoop(url: string): Contender {
  return {
    async send(request, signal) {
      try {
        return await pRetry(
          async () => {
            const response = await plainSend(url + request.path, request, signal);
            await response.arrayBuffer();
            const limited = parseRateLimit({ status: response.status, headers: response.headers }).limited;
            if (limited) {
              const error = new Error('rate limited') as Error & { retryAfterMs?: number; status?: number };
              const retryAfter = Number(response.headers.get('retry-after'));
              if (Number.isFinite(retryAfter) && retryAfter >= 0) error.retryAfterMs = retryAfter * 1000;
              error.status = response.status;
              throw error;
            }
            return response.status;
          },
          {
            retries: 5,
            minTimeout: 100,
            factor: 2,
            randomize: true,
            signal,
            onFailedAttempt: async ({ error }) => {
              const wait = (error as { retryAfterMs?: number }).retryAfterMs;
              if (wait !== undefined) await sleep(wait, signal);
            },
          },
        );
      } catch (error) {
        if (error instanceof AbortError || signal.aborted) throw error;
        return (error as { status?: number }).status ?? 0;
      }
    },
    async close() {},
  };
}

/** Bottleneck configured with the true limits (what a careful user would write from the provider's docs). */
function bottleneckClient(url: string, profile: SimulatorProfileName): Contender {
  const limits = TRUE_LIMITS[profile];
  const bucket = profile === 'openai' || profile === 'shopify';
  const settings: Bottleneck.ConstructorOptions = bucket
    ? {
        reservoir: limits.burst,
        reservoirIncreaseInterval: Math.round(1000 / limits.perSecond),
        reservoirIncreaseAmount: 1,
        reservoirIncreaseMaximum: limits.burst,
      }
    : {
        reservoir: limits.burst,
        reservoirRefreshInterval: limits.windowMs,
        reservoirRefreshAmount: limits.burst,
      };
  const global = new Bottleneck(
    profile === 'discord' ? { reservoir: 50, reservoirRefreshInterval: 1000, reservoirRefreshAmount: 50 } : settings,
  );
  const group = profile === 'discord' ? new Bottleneck.Group(settings) : undefined;
  return {
    async send(request, signal) {
      const run = async () => {
        if (signal.aborted) throw signal.reason;
        const response = await plainSend(url + request.path, request, signal);
        await response.arrayBuffer();
        return response.status;
      };
      if (group) {
        const channel = request.path.split('/')[2] ?? '';
        const limiter = group.key(channel);
        return limiter.schedule(() => global.schedule(run));
      }
      return global.schedule(run);
    },
    async close() {
      await global.stop({ dropWaitingJobs: true }).catch(() => {});
      if (group)
        await Promise.all(
          group.limiters().map(({ limiter }) => limiter.stop({ dropWaitingJobs: true }).catch(() => {})),
        );
    },
  };
}

/** "Wait until reset when remaining reaches 0": the common hand-written client. */
function resetWaitClient(url: string): Contender {
  let blockedUntil = 0;
  return {
    async send(request, signal) {
      for (let attempt = 0; attempt < 6; attempt++) {
        const wait = blockedUntil - Date.now();
        if (wait > 0) await sleep(wait, signal);
        const response = await plainSend(url + request.path, request, signal);
        await response.arrayBuffer();
        const signalRead = parseRateLimit({ status: response.status, headers: response.headers });
        if (signalRead.remaining === 0 && signalRead.resetAtEpochMs !== null) {
          blockedUntil = Math.max(blockedUntil, signalRead.resetAtEpochMs);
        }
        if (!signalRead.limited) return response.status;
        const retryAfter = signalRead.retryAfterMs ?? 1000;
        blockedUntil = Math.max(blockedUntil, Date.now() + retryAfter);
      }
      return 429;
    },
    async close() {},
  };
}

export async function createContender(
  name: ContenderName,
  url: string,
  profile: SimulatorProfileName,
): Promise<Contender> {
  switch (name) {
    case 'sluice':
      return sluiceClient(url);
    case 'sluice-gateway':
      return sluiceGateway(url);
    case 'sluice-4x':
      return sharedClients(url, profile);
    case 'sluice-gateway-4x':
      return sharedGateways(url, profile);
    case 'p-retry':
      return pRetryLoop(url);
    case 'bottleneck':
      return bottleneckClient(url, profile);
    case 'reset-wait':
      return resetWaitClient(url);
  }
}
