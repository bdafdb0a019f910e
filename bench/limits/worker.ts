/**
 * Runs one benchmark case (argv[2]: a JSON BenchCase) and prints one JSON line with its results.
 * Started by run.ts as `node --expose-gc --import tsx bench/limits/worker.ts '<case>'`.
 */
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { createLimiter } from '../../src/limits/limiter.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import { type BenchCase, DISTINCT_KEYS, peerOptionsFor, policyFor } from './cases.js';

type Decide = (key: string) => Promise<unknown>;

const benchCase = JSON.parse(process.argv[2] ?? '{}') as BenchCase;

function decider(): { decide: Decide; size?: () => number } {
  if (benchCase.implementation === 'rate-limiter-flexible') {
    const limiter = new RateLimiterMemory(peerOptionsFor(benchCase.mix));
    // It rejects its promise when the key is limited; `timed` catches that (a refusal is a decision).
    return { decide: (key) => limiter.consume(key, 1) };
  }
  const store = createMemoryStore();
  const limiter = createLimiter(policyFor(benchCase.algorithm, benchCase.mix), { store });
  if (benchCase.algorithm === 'concurrency' && benchCase.measure === 'throughput') {
    // A concurrency decision is only complete with its release.
    return {
      decide: async (key) => {
        const decision = await limiter.take(key);
        if (decision.lease) await limiter.release(key, decision.lease);
        return decision;
      },
      size: () => store.size(),
    };
  }
  return { decide: (key) => limiter.take(key), size: () => store.size() };
}

interface Rate {
  /** Decisions per second of the process's CPU time (user + system): steady on a shared machine. */
  cpu: number;
  /** Decisions per second of elapsed time. */
  wall: number;
}

async function timed(decide: Decide, keys: readonly string[] | string, count: number): Promise<Rate> {
  const startedCpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    try {
      await decide(typeof keys === 'string' ? keys : (keys[i] as string));
    } catch {
      // rate-limiter-flexible's refusal: the same work as our 'limited' decision.
    }
  }
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(startedCpu);
  return { cpu: count / ((cpu.user + cpu.system) / 1e6), wall: count / (elapsedMs / 1000) };
}

/**
 * The limiter's own cost: decisions requested back to back on the hot key (allowed: nothing rejects), their
 * promises not awaited.
 */
function calls(decide: Decide, count: number): number {
  const startedCpu = process.cpuUsage();
  for (let i = 0; i < count; i++) decide('hot');
  const cpu = process.cpuUsage(startedCpu);
  return count / ((cpu.user + cpu.system) / 1e6);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

async function throughput() {
  const { decide } = decider();
  if (benchCase.mix !== 'distinct') {
    await timed(decide, 'hot', 300_000);
    const rounds: Rate[] = [];
    const callRounds: number[] = [];
    for (let round = 0; round < 9; round++) {
      rounds.push(await timed(decide, 'hot', 300_000));
      if (benchCase.mix === 'hot' && benchCase.algorithm !== 'concurrency') callRounds.push(calls(decide, 300_000));
      // Let the promises of the calls above settle before the next round.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return {
      decisionsPerSecond: median(rounds.map((rate) => rate.cpu)),
      wallDecisionsPerSecond: median(rounds.map((rate) => rate.wall)),
      callsPerSecond: callRounds.length > 0 ? median(callRounds) : undefined,
    };
  }
  const keys = Array.from({ length: DISTINCT_KEYS }, (_, i) => `user:${i}`);
  const passes = [await timed(decide, keys, keys.length), await timed(decide, keys, keys.length)];
  passes.push(await timed(decide, keys, keys.length));
  const overall = (pick: (rate: Rate) => number) => 3 / passes.reduce((total, rate) => total + 1 / pick(rate), 0);
  return {
    decisionsPerSecond: overall((rate) => rate.cpu),
    wallDecisionsPerSecond: overall((rate) => rate.wall),
    insertPass: passes[0]?.cpu,
    laterPasses: median([passes[1]?.cpu ?? 0, passes[2]?.cpu ?? 0]),
  };
}

function heapBytes(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  gc();
  gc();
  const usage = process.memoryUsage();
  // Typed-array columns live outside the JS heap: count them too.
  return usage.heapUsed + usage.arrayBuffers;
}

async function memory() {
  const before = heapBytes();
  const { decide, size } = decider();
  // Keys made on the fly, as requests bring them: the limiter is what keeps them.
  for (let i = 0; i < DISTINCT_KEYS; i++) await decide(`user:${i}`);
  const after = heapBytes();
  return {
    bytesPerKey: (after - before) / DISTINCT_KEYS,
    keysHeld: size?.() ?? DISTINCT_KEYS,
    keepAlive: decide.length,
  };
}

const result = benchCase.measure === 'memory' ? await memory() : await throughput();
process.stdout.write(`${JSON.stringify({ ...benchCase, ...result })}\n`);
