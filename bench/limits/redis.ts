/**
 * Limiter decisions on Redis: Sluice's Redis store against rate-limiter-flexible's RateLimiterRedis (ioredis), in
 * the same run, on the same Redis, each with its own ioredis client configured alike (auto-pipelining on, offline
 * queue off, 500 ms command timeout).
 *
 * Scenarios: 1 and 64 concurrent callers × 1 and 3 policies per decision, over 10 000 distinct keys, limits high
 * enough that every decision admits (both contenders do their full write path). One policy: a fixed window, the
 * algorithm RateLimiterRedis implements. Three policies: per second, per minute, per hour — Sluice decides them in
 * one script call, all-or-nothing; the peer's RateLimiterUnion consumes three limiters (three calls, not atomic).
 * Round trips per decision are counted from Redis's own INFO commandstats.
 *
 * Then the shared budgets' contention: 1 and 4 processes (real child processes) admitting and settling on one
 * budget as fast as they can; conflicts (compare-and-set refused because another process wrote first) per decision.
 *
 * By default it starts its own redis-server on a free port (no other traffic; `--redis-url URL` uses another).
 * Run: `npm run bench:limits:redis` (= `npx tsx bench/limits/redis.ts [--seconds N] [--rounds N]`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterUnion } from 'rate-limiter-flexible';
import { createRedisBudgetStore } from '../../src/budget/redis-store.js';
import type { BudgetKey } from '../../src/budget/types.js';
import { createLimiter } from '../../src/limits/limiter.js';
import type { PolicyOptions } from '../../src/limits/types.js';
import { safeRedisOptions } from '../../src/stores/redis/connection.js';
import { createRedisStore } from '../../src/stores/redis.js';

const argument = (name: string, fallback: string) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
};

const SECONDS = Number(argument('seconds', '3'));
const ROUNDS = Number(argument('rounds', '3'));
const KEYS = 10_000;
const HUGE = 1_000_000_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Decide = (key: string) => Promise<unknown>;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface Contender {
  name: string;
  decide: Decide;
  close(): Promise<void>;
}

async function startRedis(): Promise<{ url: string; stop(): void }> {
  const given = argument('redis-url', '');
  if (given) return { url: given, stop() {} };
  const port = await freePort();
  const server: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  // Never leave it running, however this process ends.
  process.once('exit', () => server.kill('SIGKILL'));
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  for (let attempt = 0; ; attempt++) {
    try {
      if (probe.status !== 'ready') await probe.connect();
      await probe.ping();
      break;
    } catch (error) {
      if (attempt > 100) throw error;
      await sleep(50);
    }
  }
  probe.disconnect();
  return { url, stop: () => server.kill('SIGKILL') };
}

function newClient(url: string, autoPipelining = false): Redis {
  const client = new Redis(url, { ...safeRedisOptions(), enableAutoPipelining: autoPipelining });
  client.on('error', () => {});
  return client;
}

async function ready(client: Redis): Promise<void> {
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
}

async function sluice(url: string, policies: PolicyOptions[]): Promise<Contender> {
  const client = newClient(url);
  await ready(client);
  const store = createRedisStore({ client, keyPrefix: 'bench-sluice:', instances: 1, logger: false });
  const limiter = createLimiter(policies, { store });
  return {
    name: 'sluice',
    decide: (key) => limiter.take(key),
    async close() {
      await store.close();
      client.disconnect();
    },
  };
}

async function flexible(url: string, durationsSeconds: number[], autoPipelining: boolean): Promise<Contender> {
  const client = newClient(url, autoPipelining);
  await ready(client);
  const limiters = durationsSeconds.map(
    (duration, index) =>
      new RateLimiterRedis({ storeClient: client, points: HUGE, duration, keyPrefix: `bench-rlf-${index}` }),
  );
  const union = limiters.length > 1 ? new RateLimiterUnion(...limiters) : undefined;
  const single = limiters[0] as RateLimiterRedis;
  return {
    name: autoPipelining ? 'rate-limiter-flexible (auto-pipelining)' : 'rate-limiter-flexible',
    decide: union ? (key) => union.consume(key) : (key) => single.consume(key),
    async close() {
      client.disconnect();
    },
  };
}

/** Decisions per second with `callers` closed loops over random keys, for `seconds`. */
async function measure(decide: Decide, callers: number, seconds: number) {
  const keys = Array.from({ length: KEYS }, (_, index) => `user:${index}`);
  let decisions = 0;
  let failures = 0;
  const endAt = performance.now() + seconds * 1000;
  const loop = async () => {
    while (performance.now() < endAt) {
      try {
        await decide(keys[(Math.random() * KEYS) | 0] as string);
        decisions++;
      } catch {
        failures++;
      }
    }
  };
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: callers }, loop));
  return { perSecond: decisions / ((performance.now() - startedAt) / 1000), decisions, failures };
}

async function commandCalls(url: string): Promise<number> {
  const client = new Redis(url);
  const info = await client.info('commandstats');
  client.disconnect();
  let calls = 0;
  for (const line of info.split('\n')) {
    // Client commands only: scripts' own redis.call are counted under their names too, so count the entry points.
    const match = /^cmdstat_(evalsha|eval):calls=(\d+)/.exec(line);
    if (match && (match[1] === 'evalsha' || match[1] === 'eval')) calls += Number(match[2]);
  }
  return calls;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

async function limiterDecisions(url: string) {
  const onePolicy: PolicyOptions[] = [{ algorithm: 'fixed-window', limit: HUGE, window: '1m' }];
  const threePolicies: PolicyOptions[] = [
    { algorithm: 'fixed-window', limit: HUGE, window: '1s', name: 'second' },
    { algorithm: 'fixed-window', limit: HUGE, window: '1m', name: 'minute' },
    { algorithm: 'fixed-window', limit: HUGE, window: '1h', name: 'hour' },
  ];
  const scenarios = [
    { policies: 1, callers: 1 },
    { policies: 1, callers: 64 },
    { policies: 3, callers: 1 },
    { policies: 3, callers: 64 },
  ];
  const rows: string[] = [];
  for (const scenario of scenarios) {
    const durations = scenario.policies === 1 ? [60] : [1, 60, 3600];
    const make = [
      () => sluice(url, scenario.policies === 1 ? onePolicy : threePolicies),
      () => flexible(url, durations, false),
      () => flexible(url, durations, true),
    ];
    const results: Record<string, { rates: number[]; roundTrips: number[]; failures: number }> = {};
    for (let round = 0; round < ROUNDS + 1; round++) {
      // Alternate who goes first; round 0 warms both up and is not counted.
      const order = round % 2 === 0 ? make : [...make].reverse();
      for (const create of order) {
        const contender = await create();
        const before = await commandCalls(url);
        const result = await measure(contender.decide, scenario.callers, round === 0 ? 1 : SECONDS);
        const roundTrips = ((await commandCalls(url)) - before) / Math.max(1, result.decisions);
        await contender.close();
        if (round === 0) continue;
        const entry = results[contender.name] ?? { rates: [], roundTrips: [], failures: 0 };
        entry.rates.push(result.perSecond);
        entry.roundTrips.push(roundTrips);
        entry.failures += result.failures;
        results[contender.name] = entry;
      }
    }
    type Result = { rates: number[]; roundTrips: number[]; failures: number };
    const ours = results.sluice as Result;
    const plain = results['rate-limiter-flexible'] as Result;
    const pipelined = results['rate-limiter-flexible (auto-pipelining)'] as Result;
    // The peer at its best: with or without ioredis auto-pipelining, whichever was faster here.
    const peer = median(pipelined.rates) > median(plain.rates) ? pipelined : plain;
    const oursRate = median(ours.rates);
    const peerRate = median(peer.rates);
    rows.push(
      `| ${scenario.policies} | ${scenario.callers} | ${Math.round(oursRate)} | ${Math.round(median(plain.rates))} / ${Math.round(median(pipelined.rates))} | **${(oursRate / peerRate).toFixed(2)}** | ${median(ours.roundTrips).toFixed(2)} / ${median(peer.roundTrips).toFixed(2)} | ${ours.failures} / ${peer.failures} |`,
    );
    console.log(rows.at(-1));
  }
  return rows;
}

/** A child process for the contention measurement: admits and settles on one shared budget for `seconds`. */
async function budgetWorker(url: string, seconds: number, callers: number, startAtEpochMs: number): Promise<void> {
  const store = createRedisBudgetStore({ url, keyPrefix: 'bench-budget:', logger: false, operationTimeoutMs: 5000 });
  const keys: BudgetKey[] = [
    {
      key: 'bench|team',
      configured: [{ name: 'rate', unit: 'requests', model: 'bucket', limit: HUGE, windowMs: 1000 }],
    },
  ];
  await store.admit(keys, {}).then((decision) => {
    if (decision.admitted) {
      return store.observe(
        { signal: null, signalKey: null, rejected: false, model: 'bucket' },
        { reservation: decision.reservation },
      );
    }
  });
  await sleep(Math.max(0, startAtEpochMs - Date.now()));
  const latencies: number[] = [];
  const reasons: Record<string, number> = {};
  let decisions = 0;
  let failures = 0;
  const endAt = Date.now() + seconds * 1000;
  const before = store.stats();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (Date.now() < endAt) {
        const startedAt = performance.now();
        try {
          const decision = await store.admit(keys, {});
          latencies.push(performance.now() - startedAt);
          decisions++;
          if (decision.admitted) {
            await store.observe(
              { signal: null, signalKey: null, rejected: false, model: 'bucket' },
              { reservation: decision.reservation },
            );
          }
        } catch (error) {
          failures++;
          const reason = (error as { code?: string }).code ?? String(error);
          reasons[reason] = (reasons[reason] ?? 0) + 1;
        }
      }
    }),
  );
  const after = store.stats();
  await store.close();
  latencies.sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({
      decisions,
      failures,
      batches: after.batches - before.batches,
      conflicts: after.conflicts - before.conflicts,
      roundTrips: after.roundTrips - before.roundTrips,
      operations: after.operations - before.operations,
      p50: latencies[Math.floor(latencies.length / 2)] ?? 0,
      p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
      reasons,
    })}\n`,
  );
}

async function budgetContention(url: string) {
  const rows: string[] = [];
  for (const processes of [1, 4]) {
    const startAtEpochMs = Date.now() + 2000;
    const workers = Array.from({ length: processes }, () => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          fileURLToPath(import.meta.url),
          '--worker',
          url,
          String(SECONDS),
          '8',
          String(startAtEpochMs),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      return new Promise<string>((resolve) => child.on('exit', () => resolve(output)));
    });
    const results = (await Promise.all(workers)).map(
      (output) =>
        JSON.parse(output) as {
          decisions: number;
          failures: number;
          batches: number;
          conflicts: number;
          roundTrips: number;
          operations: number;
          p50: number;
          p99: number;
        },
    );
    const sum = (field: keyof (typeof results)[number]) => results.reduce((total, result) => total + result[field], 0);
    const decisions = sum('decisions');
    rows.push(
      `| ${processes} | ${processes * 8} | ${Math.round(decisions / SECONDS)} | ${(sum('conflicts') / sum('batches')).toFixed(2)} | ${(sum('operations') / sum('batches')).toFixed(1)} | ${(sum('roundTrips') / sum('operations')).toFixed(2)} | ${median(results.map((result) => result.p50)).toFixed(1)} / ${Math.max(...results.map((result) => result.p99)).toFixed(1)} | ${sum('failures')} |`,
    );
    console.log(rows.at(-1));
  }
  return rows;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--worker') {
    const [url, seconds, callers, startAt] = process.argv.slice(3);
    await budgetWorker(url as string, Number(seconds), Number(callers), Number(startAt));
    return;
  }
  const redis = await startRedis();
  try {
    console.log(`Redis at ${redis.url}; ${SECONDS} s per measurement, median of ${ROUNDS} rounds\n`);
    console.log(
      '| policies | callers | sluice decisions/s | rate-limiter-flexible decisions/s (plain / auto-pipelining) | ratio to the better | script calls per decision (sluice / peer) | failures |',
    );
    console.log(
      '| -------: | ------: | -----------------: | ---------------------------------------------------------: | ------------------: | ----------------------------------------: | -------: |',
    );
    await limiterDecisions(redis.url);
    console.log('\nShared budget, admit + settle as fast as possible, 8 callers per process:\n');
    console.log(
      '| processes | callers | admits/s | conflicts per batch | operations per batch | round trips per operation | admit p50 / p99 ms | failures |',
    );
    console.log(
      '| --------: | ------: | -------: | ------------------: | -------------------: | ------------------------: | -----------------: | -------: |',
    );
    await budgetContention(redis.url);
  } finally {
    redis.stop();
  }
}

await main();
