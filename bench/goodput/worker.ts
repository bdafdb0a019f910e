/**
 * One of several processes sharing one budget through Redis, for the goodput benchmark:
 * - `client`: a Sluice client that sends its share of the demand for `durationMs`, then prints what it saw;
 * - `gateway`: a Sluice gateway the parent sends its load through; it prints its URL and runs until killed.
 * Its settings come as JSON in argv[2]; it prints one JSON line on stdout.
 */
import { createRedisBudgetStore } from '../../src/budget/redis-store.js';
import { createClient } from '../../src/client/create-client.js';
import { normalizeConfig } from '../../src/config/load.js';
import { startGateway } from '../../src/gateway/server.js';
import { runLoad } from '../../src/simulator/load.js';
import type { SimulatorProfileName } from '../../src/simulator/types.js';
import { requestFor } from './profiles.js';

interface WorkerSettings {
  mode: 'client' | 'gateway';
  upstreamUrl: string;
  redisUrl: string;
  keyPrefix: string;
  profile: SimulatorProfileName;
  /** client: calls per second, from `startAtEpochMs` for `durationMs`; `offset` spreads request indexes. */
  ratePerSecond?: number;
  durationMs?: number;
  startAtEpochMs?: number;
  offset?: number;
}

const settings = JSON.parse(process.argv[2] ?? '{}') as WorkerSettings;
const queue = { maxDepth: 100_000, timeout: '60s' };

async function runClient(): Promise<void> {
  const store = createRedisBudgetStore({ url: settings.redisUrl, keyPrefix: settings.keyPrefix, logger: false });
  const client = createClient({ baseUrl: settings.upstreamUrl, name: 'upstream', store, queue });
  const statuses: Record<string, number> = {};
  const stop = new AbortController();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, (settings.startAtEpochMs ?? 0) - Date.now())));
  const durationMs = settings.durationMs ?? 10_000;
  const ending = setTimeout(() => stop.abort(new Error('run over')), durationMs);
  await runLoad({
    concurrency: 100_000,
    durationMs,
    ratePerSecond: settings.ratePerSecond ?? 10,
    signal: stop.signal,
    send: async (index) => {
      const request = requestFor(settings.profile, index * 4 + (settings.offset ?? 0));
      try {
        const response = await client.fetch(request.path, {
          method: request.method,
          body: request.body,
          headers: request.body ? { 'content-type': 'application/json' } : {},
          signal: stop.signal,
          sluice: request.tokens ? { cost: { tokens: request.tokens } } : undefined,
        });
        await response.arrayBuffer();
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
        return { status: response.status };
      } catch {
        statuses.local = (statuses.local ?? 0) + 1;
        return { status: 0 };
      }
    },
  });
  clearTimeout(ending);
  process.stdout.write(`${JSON.stringify({ statuses })}\n`);
  await client.close();
  await store.close();
}

async function runGateway(): Promise<void> {
  const gateway = await startGateway({
    admin: false,
    config: normalizeConfig({
      listen: { host: '127.0.0.1', port: 0 },
      store: { redis: { url: settings.redisUrl, keyPrefix: settings.keyPrefix } },
      upstreams: { upstream: { url: settings.upstreamUrl, queue } },
    }),
  });
  process.stdout.write(`${JSON.stringify({ url: gateway.url })}\n`);
  process.once('SIGTERM', () => {
    gateway.close(500).then(() => process.exit(0));
  });
}

(settings.mode === 'gateway' ? runGateway() : runClient()).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
