/**
 * Limiter decisions benchmark: in-memory decisions/s per algorithm on a hot key and over 1M distinct keys,
 * bytes per key at 1M keys, against rate-limiter-flexible's RateLimiterMemory (a fixed window: compared with our
 * fixed window, same key mix) in the same run. Every case runs in its own child process; each pair compared
 * with the peer runs at the same time, several times, and reports medians, because the machine is shared.
 *
 *   npx tsx bench/limits/run.ts [--repeats 5] [--write-docs]
 */
import { spawn } from 'node:child_process';
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

function run(benchCase: BenchCase): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', worker, JSON.stringify(benchCase)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (status) => {
      if (status !== 0) {
        reject(new Error(`case ${JSON.stringify(benchCase)} failed:\n${stderr}`));
        return;
      }
      process.stderr.write('.');
      resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as Result);
    });
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] as number;

/**
 * Runs ours and the peer at the same time, `repeats` times: on a machine shared with other jobs, both then see
 * the same background load. Reports the median of each and the median of the pairs' ratios.
 */
async function compare(mix: KeyMix) {
  const pairs: [Result, Result][] = [];
  for (let i = 0; i < repeats; i++) {
    pairs.push(
      await Promise.all([
        run({ implementation: 'sluice', algorithm: 'fixed-window', mix, measure: 'throughput' }),
        run({ implementation: 'rate-limiter-flexible', algorithm: 'fixed-window', mix, measure: 'throughput' }),
      ]),
    );
  }
  type Field = 'decisionsPerSecond' | 'wallDecisionsPerSecond' | 'callsPerSecond' | 'insertPass' | 'laterPasses';
  const ours = (field: Field) => median(pairs.map(([result]) => result[field] ?? 0));
  const peer = (field: Field) => median(pairs.map(([, result]) => result[field] ?? 0));
  const ratio = (field: Field) => median(pairs.map(([a, b]) => (a[field] ?? 0) / (b[field] ?? 1)));
  return {
    mix,
    ours: ours('decisionsPerSecond'),
    peer: peer('decisionsPerSecond'),
    ratio: ratio('decisionsPerSecond'),
    oursCalls: ours('callsPerSecond'),
    peerCalls: peer('callsPerSecond'),
    callsRatio: ratio('callsPerSecond'),
    oursInsert: ours('insertPass'),
    peerInsert: peer('insertPass'),
    insertRatio: ratio('insertPass'),
    oursLater: ours('laterPasses'),
    peerLater: peer('laterPasses'),
    laterRatio: ratio('laterPasses'),
  };
}

const started = Date.now();
const comparisons: Awaited<ReturnType<typeof compare>>[] = [];
for (const mix of ['hot', 'distinct', 'hot-limited'] as KeyMix[]) comparisons.push(await compare(mix));
/** The median rate of `repeats` runs of one of our algorithms. */
async function medianRun(algorithm: BenchCase['algorithm'], mix: KeyMix): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < repeats; i++) {
    rates.push(
      (await run({ implementation: 'sluice', algorithm, mix, measure: 'throughput' })).decisionsPerSecond ?? 0,
    );
  }
  return median(rates);
}

const algorithms: { algorithm: string; hot: number; distinct: number; bytesPerKey: number }[] = [];
for (const algorithm of ALGORITHMS) {
  algorithms.push({
    algorithm,
    // The fixed window's runs are the comparison's.
    hot: algorithm === 'fixed-window' ? (comparisons[0]?.ours ?? 0) : await medianRun(algorithm, 'hot'),
    distinct: algorithm === 'fixed-window' ? (comparisons[1]?.ours ?? 0) : await medianRun(algorithm, 'distinct'),
    bytesPerKey:
      (await run({ implementation: 'sluice', algorithm, mix: 'distinct', measure: 'memory' })).bytesPerKey ?? 0,
  });
}
const peerMemory = await run({
  implementation: 'rate-limiter-flexible',
  algorithm: 'fixed-window',
  mix: 'distinct',
  measure: 'memory',
});
process.stderr.write('\n');

const rate = (value: number | undefined) => (value === undefined ? '–' : `${(value / 1e6).toFixed(2)} M/s`);
const times = (value: number) => `${value.toFixed(2)}×`;
const TARGETS: Record<KeyMix, string> = { hot: '≥ 1.5×', distinct: '≥ 2×', 'hot-limited': '(none)' };
const MIX_NAMES: Record<KeyMix, string> = {
  hot: 'hot key, allowed',
  distinct: '1M distinct keys, 3 passes',
  'hot-limited': 'hot key, over its limit (refusals)',
};
const row = (name: string, ours: number, peer: number, ratioValue: number, target: string) =>
  `| ${name} | ${rate(ours)} | ${rate(peer)} | **${times(ratioValue)}** | ${target} |`;
/** Whether each target was met, and by how much it was missed. */
function verdicts(): string[] {
  const targets: [KeyMix, number][] = [
    ['hot', 1.5],
    ['distinct', 2],
  ];
  const memory = algorithms
    .filter((a) => !['sliding-log', 'concurrency'].includes(a.algorithm))
    .every((a) => a.bytesPerKey <= 200);
  return [
    '**Targets.**',
    '',
    ...targets.map(([mix, target]) => {
      const achieved = comparisons.find((c) => c.mix === mix)?.ratio ?? 0;
      return achieved >= target
        ? `- ${MIX_NAMES[mix]}: ${times(achieved)}, target ${times(target)}: met.`
        : `- ${MIX_NAMES[mix]}: ${times(achieved)}, target ${times(target)}: **missed by ${Math.round((1 - achieved / target) * 100)}%**.`;
    }),
    `- ≤ 200 bytes per key for counters and buckets at 1M keys: ${memory ? 'met' : '**missed**'}.`,
    '',
    'Why the hot key is the hard one: per awaited decision, both limiters pay the same fixed costs. These are ' +
      'reading the clock (`Date.now()`, about a quarter of our CPU profile on this VM) and one promise plus its ' +
      '`await`. Only the remaining work can differ. A hand-inlined fixed window with no layers (Map, typed array, ' +
      'one result) measured about 1.7× the peer in the same conditions. Our path keeps the layering the design ' +
      "asks for: a store request, the results array, the pure step's `{ state, result }` and a new state, and " +
      'the decision. That is about 420 bytes allocated per decision against about 200. The ratio also moves with ' +
      'the background load: five full runs on this machine gave 1.10× to 1.67× for the hot key, lowest under the heaviest load (our path allocates more, so it suffers more from shared caches).',
  ];
}

const lines = [
  `Run ${new Date(started).toISOString()}, Node ${process.version}, ${Math.round((Date.now() - started) / 1000)} s. ` +
    'Command: `npm run bench:limits` (`npx tsx bench/limits/run.ts`). Each case runs in a fresh child process; ' +
    'each decision is awaited before the next, as a request handler would. Rates are decisions per second of the ' +
    "process's CPU time, because this machine is shared with other jobs. Against the peer, both run at the same " +
    `time, ${repeats} times, so that they see the same background load; a ratio is the median of the ${repeats} ` +
    "pairs' ratios.",
  '',
  '**Against rate-limiter-flexible** (`RateLimiterMemory`, a fixed window; ours: `fixed-window`, same keys):',
  '',
  '| key mix | sluice | rate-limiter-flexible | ratio | target |',
  '|---|---:|---:|---:|---|',
  ...comparisons.flatMap((c) => {
    const rows = [row(MIX_NAMES[c.mix], c.ours, c.peer, c.ratio, TARGETS[c.mix])];
    if (c.mix === 'hot') {
      rows.push(
        `| … its own cost: calls back to back, not awaited | ${rate(c.oursCalls)} | ${rate(c.peerCalls)} | ${times(c.callsRatio)} | |`,
      );
    }
    if (c.mix === 'distinct') {
      rows.push(
        `| … first pass (inserting 1M keys) | ${rate(c.oursInsert)} | ${rate(c.peerInsert)} | ${times(c.insertRatio)} | |`,
        `| … later passes (updating) | ${rate(c.oursLater)} | ${rate(c.peerLater)} | ${times(c.laterRatio)} | |`,
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
  ...verdicts(),
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
