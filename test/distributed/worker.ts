/**
 * One "process" of the distributed tests, run as a real child process (`node --import tsx worker.ts <json>`).
 * Modes:
 * - limiter: hammers one Redis limiter for `durationMs` with `callers` loops; every admitted call is sent to the
 *   upstream, if one is given. Prints one JSON line: { admitted, refused, unavailable, sent, statuses }.
 * - budget: calls the upstream through a client sharing its budgets on Redis, `callers` loops for `durationMs`.
 *   Prints { sent, statuses, failures, stats }.
 * - hold: takes a concurrency slot with a short lease, keeps renewing it, prints "held <leaseId>" and waits to be
 *   killed.
 */
import { createRedisBudgetStore } from '../../src/budget/redis-store.js';
import { createClient } from '../../src/client/create-client.js';
import { holdLease } from '../../src/limits/hold-lease.js';
import { createLimiter } from '../../src/limits/limiter.js';
import type { PolicyOptions } from '../../src/limits/types.js';
import { createRedisStore } from '../../src/stores/redis.js';

interface WorkerConfig {
  mode: 'limiter' | 'limiters' | 'budget' | 'hold';
  /** limiters: several limiters hammered at once, each under keyPrefix + its name. */
  limiters?: { name: string; policies: PolicyOptions | PolicyOptions[] }[];
  redisUrl: string;
  keyPrefix: string;
  upstreamUrl?: string;
  policies?: PolicyOptions | PolicyOptions[];
  callers?: number;
  durationMs?: number;
  /** Start at this epoch ms (all workers together). */
  startAtEpochMs?: number;
  leaseMs?: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForStart(): Promise<void> {
  const wait = (config.startAtEpochMs ?? 0) - Date.now();
  if (wait > 0) await sleep(wait);
}

/**
 * Opens `callers` keep-alive connections to the upstream and loads fetch before the start, on an admin route the
 * simulator does not count: otherwise the first calls' requests reach the upstream tens of milliseconds after their
 * decisions, later than calls decided after them.
 */
async function warmUp(): Promise<void> {
  await Promise.all(
    Array.from({ length: config.callers ?? 1 }, async () => {
      const response = await fetch(`${config.upstreamUrl}/_sim/report`);
      await response.arrayBuffer();
    }),
  );
}

async function runLimiter(): Promise<void> {
  const store = createRedisStore({ url: config.redisUrl, keyPrefix: config.keyPrefix, logger: false });
  const limiter = createLimiter(config.policies as PolicyOptions, { store, onStoreError: 'closed' });
  const counts = { admitted: 0, refused: 0, unavailable: 0, sent: 0, statuses: {} as Record<string, number> };
  if (config.upstreamUrl) await warmUp();
  await limiter.peek('upstream');
  await waitForStart();
  const endAt = Date.now() + (config.durationMs ?? 1000);
  const loop = async () => {
    while (Date.now() < endAt) {
      const decision = await limiter.take('upstream');
      if (decision.outcome === 'unavailable') {
        counts.unavailable++;
        await sleep(5);
        continue;
      }
      if (!decision.allowed) {
        counts.refused++;
        await sleep(Math.max(1, Math.min(decision.retryAfterMs, endAt - Date.now())));
        continue;
      }
      counts.admitted++;
      if (!config.upstreamUrl) continue;
      const response = await fetch(`${config.upstreamUrl}/work`);
      await response.arrayBuffer();
      counts.sent++;
      counts.statuses[response.status] = (counts.statuses[response.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: config.callers ?? 1 }, loop));
  await store.close();
  process.stdout.write(`${JSON.stringify(counts)}\n`);
}

/** Hammers several limiters at once (`callers` loops each) and prints { [name]: admitted }. */
async function runLimiters(): Promise<void> {
  const store = createRedisStore({ url: config.redisUrl, keyPrefix: config.keyPrefix, logger: false });
  const admitted: Record<string, number> = {};
  const unavailable: Record<string, number> = {};
  const limiters = (config.limiters ?? []).map(({ name, policies }) => ({
    name,
    limiter: createLimiter(policies, { store, onStoreError: 'closed', prefix: name }),
  }));
  for (const { name, limiter } of limiters) {
    admitted[name] = 0;
    unavailable[name] = 0;
    await limiter.peek('upstream');
  }
  await waitForStart();
  const endAt = Date.now() + (config.durationMs ?? 1000);
  const loops = limiters.flatMap(({ name, limiter }) =>
    Array.from({ length: config.callers ?? 1 }, async () => {
      while (Date.now() < endAt) {
        const decision = await limiter.take('upstream');
        if (decision.outcome === 'unavailable') unavailable[name] = (unavailable[name] ?? 0) + 1;
        else if (decision.allowed) admitted[name] = (admitted[name] ?? 0) + 1;
        // Refused: straight back at it (the windows outlast the run).
      }
    }),
  );
  await Promise.all(loops);
  await store.close();
  process.stdout.write(`${JSON.stringify({ admitted, unavailable })}\n`);
}

async function runBudget(): Promise<void> {
  const store = createRedisBudgetStore({ url: config.redisUrl, keyPrefix: config.keyPrefix, logger: false });
  const client = createClient({ baseUrl: config.upstreamUrl as string, name: 'sim', store, retry: { attempts: 1 } });
  const counts = { sent: 0, failures: 0, statuses: {} as Record<string, number> };
  await waitForStart();
  const endAt = Date.now() + (config.durationMs ?? 1000);
  const loop = async () => {
    while (Date.now() < endAt) {
      try {
        const response = await client.fetch('/work', { signal: AbortSignal.timeout(Math.max(1, endAt - Date.now())) });
        await response.arrayBuffer();
        counts.sent++;
        counts.statuses[response.status] = (counts.statuses[response.status] ?? 0) + 1;
      } catch {
        counts.failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: config.callers ?? 1 }, loop));
  const stats = store.stats();
  await client.close();
  await store.close();
  process.stdout.write(`${JSON.stringify({ ...counts, stats })}\n`);
}

async function runHold(): Promise<void> {
  const store = createRedisStore({ url: config.redisUrl, keyPrefix: config.keyPrefix, logger: false });
  const limiter = createLimiter(config.policies as PolicyOptions, { store, leaseMs: config.leaseMs });
  const hold = await holdLease(limiter, 'upstream');
  if (!hold.lease) {
    process.stdout.write('refused\n');
    process.exit(1);
  }
  process.stdout.write(`held ${hold.lease.id}\n`);
  // Renewing until killed.
  setInterval(() => {}, 1 << 30);
}

const modes = { limiter: runLimiter, limiters: runLimiters, budget: runBudget, hold: runHold };
modes[config.mode]().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
