/**
 * Limiter decisions benchmark: in-memory decisions/s per algorithm on a hot key and over 1M distinct keys,
 * bytes per key at 1M keys, against rate-limiter-flexible's RateLimiterMemory (a fixed window: compared with our
 * fixed window, same key mix) in the same run. Every case runs in its own child process; the pairs compared
 * with the peer run alternately, several times, and report medians, because the machine is shared.
 *
 *   npx tsx bench/limits/run.ts [--repeats 5] [--write-docs]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ALGORITHMS } from '../../src/limits/types.js';
import type { BenchCase, KeyMix } from './cases.js';

type Result = BenchCase & {
  decisionsPerSecond?: number;
  wallDecisionsPerSecond?: number;
  callsPerSecond?: number;
  insertPass?: number;
  laterPasses?: number;
  bytesPerKey?: number;
};

const root = fileURLToPath(new URL('../..', import.meta.url));
const worker = fileURLToPath(new URL('./worker.ts', import.meta.url));
const argument = (name: string) => process.argv.indexOf(`--${name}`);
const repeats = argument('repeats') > 0 ? Number(process.argv[argument('repeats') + 1]) : 5;
const writeDocs = argument('write-docs') > 0;

function run(benchCase: BenchCase): Result {
  const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', worker, JSON.stringify(benchCase)], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (child.status !== 0) throw new Error(`case ${JSON.stringify(benchCase)} failed:\n${child.stderr}`);
  const line = child.stdout.trim().split('\n').pop() ?? '';
  process.stderr.write('.');
  return JSON.parse(line) as Result;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] as number;

/** Runs ours and the peer alternately `repeats` times; the median of each. */
function compare(mix: KeyMix) {
  const ours: Result[] = [];
  const peer: Result[] = [];
  for (let i = 0; i < repeats; i++) {
    ours.push(run({ implementation: 'sluice', algorithm: 'fixed-window', mix, measure: 'throughput' }));
    peer.push(run({ implementation: 'rate-limiter-flexible', algorithm: 'fixed-window', mix, measure: 'throughput' }));
  }
  const pick = (
    results: Result[],
    field: 'decisionsPerSecond' | 'wallDecisionsPerSecond' | 'callsPerSecond' | 'insertPass' | 'laterPasses',
  ) => median(results.map((result) => result[field] ?? 0));
  return {
    mix,
    ours: pick(ours, 'decisionsPerSecond'),
    peer: pick(peer, 'decisionsPerSecond'),
    oursInsert: pick(ours, 'insertPass'),
    peerInsert: pick(peer, 'insertPass'),
    oursLater: pick(ours, 'laterPasses'),
    peerLater: pick(peer, 'laterPasses'),
    oursWall: pick(ours, 'wallDecisionsPerSecond'),
    peerWall: pick(peer, 'wallDecisionsPerSecond'),
    oursCalls: pick(ours, 'callsPerSecond'),
    peerCalls: pick(peer, 'callsPerSecond'),
  };
}

const started = Date.now();
const comparisons = (['hot', 'distinct', 'hot-limited'] as KeyMix[]).map(compare);
/** The median rate of `repeats` runs of one of our algorithms. */
function medianRun(algorithm: BenchCase['algorithm'], mix: KeyMix): number {
  const rates: number[] = [];
  for (let i = 0; i < repeats; i++) {
    rates.push(run({ implementation: 'sluice', algorithm, mix, measure: 'throughput' }).decisionsPerSecond ?? 0);
  }
  return median(rates);
}

const algorithms = ALGORITHMS.map((algorithm) => ({
  algorithm,
  // The fixed window's runs are the comparison's.
  hot: algorithm === 'fixed-window' ? (comparisons[0]?.ours ?? 0) : medianRun(algorithm, 'hot'),
  distinct: algorithm === 'fixed-window' ? (comparisons[1]?.ours ?? 0) : medianRun(algorithm, 'distinct'),
  bytesPerKey: run({ implementation: 'sluice', algorithm, mix: 'distinct', measure: 'memory' }).bytesPerKey ?? 0,
}));
const peerMemory = run({
  implementation: 'rate-limiter-flexible',
  algorithm: 'fixed-window',
  mix: 'distinct',
  measure: 'memory',
});
process.stderr.write('\n');

const rate = (value: number | undefined) => (value === undefined ? '–' : `${(value / 1e6).toFixed(2)} M/s`);
const ratio = (ours: number, peer: number) => `${(ours / peer).toFixed(2)}×`;
const TARGETS: Record<KeyMix, string> = { hot: '≥ 1.5×', distinct: '≥ 2×', 'hot-limited': '(none)' };
const MIX_NAMES: Record<KeyMix, string> = {
  hot: 'hot key, allowed',
  distinct: '1M distinct keys, 3 passes',
  'hot-limited': 'hot key, over its limit (refusals)',
};
const row = (name: string, ours: number, peer: number, oursWall: number, peerWall: number, target: string) =>
  `| ${name} | ${rate(ours)} | ${rate(peer)} | **${ratio(ours, peer)}** | ${ratio(oursWall, peerWall)} | ${target} |`;
const lines = [
  `Run ${new Date(started).toISOString()}, Node ${process.version}, ${repeats} alternating runs per comparison ` +
    `(medians), ${Math.round((Date.now() - started) / 1000)} s in all. Command: \`npm run bench:limits\` ` +
    '(`npx tsx bench/limits/run.ts`). Each case runs in a fresh child process; each decision is awaited before ' +
    "the next, as a request handler would. Rates are decisions per second of the process's CPU time (the machine " +
    'is shared with other jobs; elapsed-time ratios alongside).',
  '',
  '**Against rate-limiter-flexible** (`RateLimiterMemory`, a fixed window; ours: `fixed-window`, same keys):',
  '',
  '| key mix | sluice | rate-limiter-flexible | ratio (CPU) | ratio (elapsed) | target |',
  '|---|---:|---:|---:|---:|---|',
  ...comparisons.flatMap((c) => {
    const rows = [row(MIX_NAMES[c.mix], c.ours, c.peer, c.oursWall, c.peerWall, TARGETS[c.mix])];
    if (c.mix === 'hot') {
      rows.push(
        `| … its own cost: calls back to back, not awaited | ${rate(c.oursCalls)} | ${rate(c.peerCalls)} | ${ratio(c.oursCalls, c.peerCalls)} | | |`,
      );
    }
    if (c.mix === 'distinct') {
      rows.push(
        `| … first pass (inserting 1M keys) | ${rate(c.oursInsert)} | ${rate(c.peerInsert)} | ${ratio(c.oursInsert, c.peerInsert)} | | |`,
        `| … later passes (updating) | ${rate(c.oursLater)} | ${rate(c.peerLater)} | ${ratio(c.oursLater, c.peerLater)} | | |`,
      );
    }
    return rows;
  }),
  '',
  `**Every algorithm** (medians of ${repeats} runs; concurrency: take + release per decision; sliding-log hot key: ` +
    'limit 1000, so mostly refusals):',
  '',
  '| algorithm | hot key | 1M distinct keys (3 passes) | bytes per key at 1M keys |',
  '|---|---:|---:|---:|',
  ...algorithms.map((a) => `| ${a.algorithm} | ${rate(a.hot)} | ${rate(a.distinct)} | ${Math.round(a.bytesPerKey)} |`),
  `| rate-limiter-flexible (fixed window) | ${rate(comparisons[0]?.peer)} | ${rate(comparisons[1]?.peer)} | ${Math.round(peerMemory.bytesPerKey ?? 0)} |`,
  '',
  'Bytes per key: JS heap plus array buffers after 1M distinct keys, minus before, with `--expose-gc` in a child ' +
    'process; includes the key strings the limiter keeps. Target ≤ 200 for counters and buckets; sliding-log and ' +
    'concurrency hold one entry (a log time or a lease) per key here and grow with the limit.',
];
const report = lines.join('\n');
process.stdout.write(`${report}\n`);

if (writeDocs) {
  const path = `${root}docs/benchmarks.md`;
  let docs: string;
  try {
    docs = readFileSync(path, 'utf8');
  } catch {
    docs = '# Benchmarks\n';
  }
  const section = `## Limiter decisions\n\n${report}\n`;
  const pattern = /## Limiter decisions\n[\s\S]*?(?=\n## |$)/;
  docs = pattern.test(docs) ? docs.replace(pattern, section) : `${docs.trimEnd()}\n\n${section}`;
  writeFileSync(path, docs);
}
