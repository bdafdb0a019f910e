/**
 * Four real processes hammer one limiter and one shared budget on Redis; the upstream (the simulator, an exact
 * sliding window: at most `limit` in any `window`) counts what it accepts and refuses. Over-admission shows as
 * refusals at the upstream.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/server.js';
import { deleteKeys, inspector, keysUnder, uniquePrefix } from '../stores/redis-support.js';
import { hasRedis, redisUrl } from '../support/redis.js';
import { startWorker } from './spawn-worker.js';

const PROCESSES = 4;
const LIMIT = 40;
const keyPrefix = uniquePrefix('over-admission');

afterAll(async () => {
  if (!hasRedis) return;
  const client = inspector(redisUrl);
  await deleteKeys(client, keyPrefix);
  client.disconnect();
});

interface LimiterCounts {
  admitted: number;
  refused: number;
  unavailable: number;
  sent: number;
  statuses: Record<string, number>;
}

async function runWorkers(config: Record<string, unknown>): Promise<string[]> {
  // Child processes take a moment to load: all start hammering at the same instant.
  const startAtEpochMs = Date.now() + 2000;
  const workers = Array.from({ length: PROCESSES }, () => startWorker({ ...config, startAtEpochMs }));
  const outputs = await Promise.all(workers.map((worker) => worker.finished));
  return outputs.map((output) => output.trim());
}

describe.skipIf(!hasRedis)(`${PROCESSES} processes sharing one Redis`, () => {
  // Windows far longer than the run: nothing comes back while the processes hammer, so exactly the limit must be
  // admitted, however the decisions interleave. Two policies each, all-or-nothing: the tighter one decides alone.
  it('each algorithm admits exactly its limit, never one more, whatever the interleaving of 4 processes', async () => {
    const loose = { algorithm: 'fixed-window', limit: 200, window: '1h', name: 'loose' } as const;
    const tight = {
      'fixed-window': { algorithm: 'fixed-window', limit: 150, window: '1h' },
      'sliding-window': { algorithm: 'sliding-window', limit: 150, window: '1h' },
      'sliding-log': { algorithm: 'sliding-log', limit: 150, window: '1h' },
      'token-bucket': { algorithm: 'token-bucket', limit: 150, window: '1h' },
      'leaky-bucket': { algorithm: 'leaky-bucket', limit: 1, window: '1h', burst: 149, nodelay: true },
      concurrency: { algorithm: 'concurrency', limit: 150 },
    } as const;
    const names = Object.keys(tight) as (keyof typeof tight)[];
    const prefix = `${keyPrefix}exact:`;
    const outputs = await runWorkers({
      mode: 'limiters',
      redisUrl,
      keyPrefix: prefix,
      limiters: names.map((name) => ({ name, policies: [tight[name], loose] })),
      callers: 4,
      durationMs: 1500,
    });
    const results = outputs.map(
      (line) => JSON.parse(line) as { admitted: Record<string, number>; unavailable: Record<string, number> },
    );
    const client = inspector(redisUrl);
    try {
      for (const name of names) {
        const perProcess = results.map((result) => result.admitted[name] ?? 0);
        const total = perProcess.reduce((sum, count) => sum + count, 0);
        expect(total, `${name}: admitted per process ${perProcess.join(' + ')}`).toBe(150);
        expect(results.every((result) => result.unavailable[name] === 0)).toBe(true);
        // All or nothing: the loose policy was charged for the admitted calls only, never for a refused one.
        const [key] = await keysUnder(client, `${prefix}{upstream}:${name}:fixed-window:loose`);
        expect((await client.get(key as string))?.split(' ')[1], name).toBe('150');
      }
    } finally {
      client.disconnect();
    }
  }, 60_000);

  it('one sliding-log limiter keeps the upstream within its limit, with a margin for the delivery delay', async () => {
    const upstream = await startSimulator({ profile: 'ietf', limits: { limit: LIMIT, window: '1s' } });
    // In Redis time the limiter is exact (above). What the upstream sees also depends on how long each admitted
    // request takes to reach it, which varies (scheduling on a busy machine): a limiter window longer than the
    // upstream's by that spread keeps it exact there too. 500 ms covers this shared 2-core machine's worst case, even
    // with the whole suite and benchmarks running beside it (200 ms did not, once).
    const windowMs = 1500;
    try {
      const outputs = await runWorkers({
        mode: 'limiter',
        redisUrl,
        keyPrefix: `${keyPrefix}limiter:`,
        upstreamUrl: upstream.url,
        policies: { algorithm: 'sliding-log', limit: LIMIT, window: windowMs },
        callers: 8,
        durationMs: 3000,
      });
      const counts = outputs.map((line) => JSON.parse(line) as LimiterCounts);
      const report = upstream.report();
      const admitted = counts.reduce((sum, count) => sum + count.admitted, 0);
      console.info(
        `limiter, window ${windowMs} ms: ${admitted} admitted by ${PROCESSES} processes (${counts.map((c) => c.admitted).join(' + ')}), ` +
          `${counts.reduce((sum, count) => sum + count.refused, 0)} refused; upstream accepted ${report.accepted}, refused ${report.rejected}, capacity ${report.capacity}`,
      );
      for (const count of counts) expect(count.admitted).toBeGreaterThan(0);
      expect(counts.every((count) => count.unavailable === 0)).toBe(true);
      expect(report.total).toBe(admitted);
      expect(admitted).toBeGreaterThanOrEqual(LIMIT * 2);
      expect(report.rejected).toBe(0);
    } finally {
      await upstream.close();
    }
  }, 60_000);

  it('one shared budget, learned from the upstream headers, keeps the upstream within its limit', async () => {
    const upstream = await startSimulator({ profile: 'ietf', limits: { limit: LIMIT, window: '1s' } });
    try {
      const outputs = await runWorkers({
        mode: 'budget',
        redisUrl,
        keyPrefix: `${keyPrefix}budget:`,
        upstreamUrl: upstream.url,
        callers: 4,
        durationMs: 4000,
      });
      const results = outputs.map(
        (line) =>
          JSON.parse(line) as {
            sent: number;
            statuses: Record<string, number>;
            stats: { conflicts: number; batches: number };
          },
      );
      const report = upstream.report();
      console.info(
        `budget: upstream accepted ${report.accepted}, refused ${report.rejected} of ${report.total}, capacity ${report.capacity} ` +
          `(utilization ${(report.utilization * 100).toFixed(1)}%); per process ${results.map((r) => r.sent).join(' + ')} calls, ` +
          `conflicts ${results.map((r) => `${r.stats.conflicts}/${r.stats.batches}`).join(', ')}`,
      );
      for (const result of results) expect(result.sent).toBeGreaterThan(0);
      expect(report.accepted).toBeLessThanOrEqual(report.capacity);
      expect(report.rejected).toBeLessThanOrEqual(Math.floor(0.01 * report.total));
    } finally {
      await upstream.close();
    }
  }, 60_000);
});
