/**
 * Economy benchmark: a read-heavy workload against a rate-limited simulator, with the cache and coalescing on and
 * off in the same run.
 *
 * `USERS` closed-loop users each send one request after another for `SECONDS`: 90% `GET /items/{k}`, 10%
 * `POST /items/{k}`, with k drawn from a Zipf distribution over `KEYS` keys (exponent `ZIPF`). The upstream is the
 * simulator's GitHub profile (`LIMIT` calls per 1 s window, rate-limit headers, 20 ms latency) and states no cache
 * headers, so the cache runs on a configured `ttl` (what an operator sets for such an API); writes invalidate.
 * Measured per scenario: completed user requests per second (2xx), upstream calls per second, rejections, latency.
 * Rounds alternate which scenario goes first; the median of the rounds is reported.
 *
 * Run: `npm run bench:economy` (or `npx tsx bench/economy/run.ts [--seconds N] [--users N] [--rounds N]`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { type ClientOptions, createClient } from '../../src/client/create-client.js';
import { startSimulator } from '../../src/simulator/server.js';

const argument = (name: string, fallback: number) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};

const SECONDS = argument('seconds', 10);
const USERS = argument('users', 64);
const ROUNDS = argument('rounds', 3);
const LIMIT = argument('limit', 200);
const KEYS = argument('keys', 1000);
const ZIPF = argument('zipf', 1.1);
const WRITE_SHARE = 0.1;
const TTL_MS = 5000;
const LATENCY_MS = 20;

/** A small seeded PRNG (mulberry32): every scenario draws the same sequence of keys and writes. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Draws key ranks 1..KEYS with P(k) ∝ 1 / k^ZIPF (inverse CDF by binary search). */
function zipfSampler(keys: number, exponent: number, random: () => number): () => number {
  const cumulative = new Float64Array(keys);
  let total = 0;
  for (let rank = 1; rank <= keys; rank++) {
    total += 1 / rank ** exponent;
    cumulative[rank - 1] = total;
  }
  return () => {
    const target = random() * total;
    let low = 0;
    let high = keys - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((cumulative[middle] as number) < target) low = middle + 1;
      else high = middle;
    }
    return low + 1;
  };
}

interface Outcome {
  scenario: string;
  completedPerSecond: number;
  upstreamPerSecond: number;
  upstreamPerRequest: number;
  rejected: number;
  failed: number;
  hitShare: number;
  collapsedShare: number;
  p50Ms: number;
  p99Ms: number;
}

const percentile = (sorted: number[], share: number) =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] as number);

async function runScenario(
  scenario: string,
  options: Pick<ClientOptions, 'cache' | 'coalesce'>,
  simulator: Awaited<ReturnType<typeof startSimulator>>,
  seed: number,
): Promise<Outcome> {
  simulator.reset();
  const client = createClient({ baseUrl: simulator.url, name: 'bench', dialect: 'github', ...options });
  const random = seededRandom(seed);
  const nextKey = zipfSampler(KEYS, ZIPF, random);
  const latencies: number[] = [];
  let completed = 0;
  let failed = 0;
  let hits = 0;
  let collapsed = 0;
  const startedAt = performance.now();
  const stopAt = startedAt + SECONDS * 1000;

  async function user(): Promise<void> {
    while (performance.now() < stopAt) {
      const key = nextKey();
      const write = random() < WRITE_SHARE;
      const sentAt = performance.now();
      try {
        const response = await client.fetch(
          `/items/${key}`,
          write ? { method: 'POST', body: '{"name":"x"}', headers: { 'content-type': 'application/json' } } : undefined,
        );
        await response.arrayBuffer();
        if (response.ok) completed++;
        else failed++;
        const status = response.headers.get('cache-status') ?? '';
        if (status.includes('; hit')) hits++;
        else if (status.includes('; collapsed')) collapsed++;
      } catch {
        failed++;
      }
      latencies.push(performance.now() - sentAt);
    }
  }

  await Promise.all(Array.from({ length: USERS }, user));
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  const report = simulator.report();
  await client.close();
  latencies.sort((a, b) => a - b);
  return {
    scenario,
    completedPerSecond: completed / elapsedSeconds,
    upstreamPerSecond: report.total / elapsedSeconds,
    upstreamPerRequest: report.total / Math.max(1, completed),
    rejected: report.rejected,
    failed,
    hitShare: hits / Math.max(1, completed),
    collapsedShare: collapsed / Math.max(1, completed),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

const SCENARIOS: Array<[string, Pick<ClientOptions, 'cache' | 'coalesce'>]> = [
  ['off (pacing only)', {}],
  ['cache + coalescing', { cache: { enabled: true, ttl: TTL_MS }, coalesce: { enabled: true } }],
];

async function main() {
  const simulator = await startSimulator({
    profile: 'github',
    limits: { limit: LIMIT, window: '1s', rejectStatus: 429 },
    latencyMs: LATENCY_MS,
  });
  console.log(
    `economy: ${USERS} users, ${SECONDS}s per scenario, ${ROUNDS} rounds; ${KEYS} keys, Zipf ${ZIPF}, ` +
      `${WRITE_SHARE * 100}% writes; simulator github ${LIMIT}/s, ${LATENCY_MS} ms latency; cache ttl ${TTL_MS} ms`,
  );
  const results = new Map<string, Outcome[]>(SCENARIOS.map(([name]) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? SCENARIOS : [...SCENARIOS].reverse();
    for (const [name, options] of order) {
      const outcome = await runScenario(name, options, simulator, 1000 + round);
      results.get(name)?.push(outcome);
      console.log(
        `round ${round + 1} ${name}: ${outcome.completedPerSecond.toFixed(0)} req/s completed, ` +
          `${outcome.upstreamPerSecond.toFixed(0)} upstream calls/s, hits ${(outcome.hitShare * 100).toFixed(1)}%, ` +
          `collapsed ${(outcome.collapsedShare * 100).toFixed(1)}%, ` +
          `rejected ${outcome.rejected}, failed ${outcome.failed}, p50 ${outcome.p50Ms.toFixed(1)} ms, p99 ${outcome.p99Ms.toFixed(1)} ms`,
      );
    }
  }
  await simulator.close();

  const summary = SCENARIOS.map(([name]) => {
    const outcomes = results.get(name) ?? [];
    const pick = (field: keyof Omit<Outcome, 'scenario'>) => median(outcomes.map((outcome) => outcome[field]));
    return {
      scenario: name,
      completedPerSecond: pick('completedPerSecond'),
      upstreamPerSecond: pick('upstreamPerSecond'),
      upstreamPerRequest: pick('upstreamPerRequest'),
      rejected: pick('rejected'),
      failed: pick('failed'),
      hitShare: pick('hitShare'),
      collapsedShare: pick('collapsedShare'),
      p50Ms: pick('p50Ms'),
      p99Ms: pick('p99Ms'),
    };
  });
  const [off, on] = summary as [Outcome, Outcome];
  console.log('');
  console.log(
    '| scenario | completed req/s | upstream calls/s | upstream calls per request | cache hits | collapsed | upstream rejections | failed | p50 ms | p99 ms |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of summary) {
    console.log(
      `| ${row.scenario} | ${row.completedPerSecond.toFixed(0)} | ${row.upstreamPerSecond.toFixed(0)} | ` +
        `${row.upstreamPerRequest.toFixed(3)} | ${(row.hitShare * 100).toFixed(1)}% | ${(row.collapsedShare * 100).toFixed(1)}% | ` +
        `${row.rejected} | ${row.failed} | ` +
        `${row.p50Ms.toFixed(1)} | ${row.p99Ms.toFixed(1)} |`,
    );
  }
  const offRounds = results.get(SCENARIOS[0]?.[0] as string) ?? [];
  const onRounds = results.get(SCENARIOS[1]?.[0] as string) ?? [];
  const roundRatios = onRounds.map(
    (outcome, index) => outcome.completedPerSecond / (offRounds[index] as Outcome).completedPerSecond,
  );
  const throughputRatio = on.completedPerSecond / off.completedPerSecond;
  const upstreamRatio = on.upstreamPerRequest / off.upstreamPerRequest;
  console.log('');
  console.log(
    `completed requests per second, on ÷ off: ${throughputRatio.toFixed(2)}× (medians); per round ` +
      `${roundRatios.map((ratio) => `${ratio.toFixed(2)}×`).join(', ')}, median ${median(roundRatios).toFixed(2)}×`,
  );
  console.log(`upstream calls per completed request, on ÷ off: ${upstreamRatio.toFixed(3)}`);
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('../results/economy.json', import.meta.url),
    `${JSON.stringify({ settings: { SECONDS, USERS, ROUNDS, LIMIT, KEYS, ZIPF, WRITE_SHARE, TTL_MS, LATENCY_MS }, summary, throughputRatio, roundRatios, upstreamRatio }, null, 2)}\n`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
