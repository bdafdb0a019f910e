/**
 * Goodput under a limit (DESIGN.md "The bar"): for each simulated provider, limits NOT configured anywhere in
 * Sluice (learned from headers only), demand at twice the capacity for 20 of the profile's windows, median of 3
 * runs; Sluice's client and gateway against three peers, same machine, same run.
 *
 *   npm run bench:goodput [-- --profiles github,openai --runs 3 --contenders sluice,p-retry]
 *
 * utilization = accepted ÷ the most the upstream could have accepted over the run (initial burst included: the
 * simulator's capacity, or for windows that start with the first call, limit × ⌈duration ÷ window⌉ — what a client
 * starting each window the moment the last one ended would get, whichever is larger); waste = rejected ÷ upstream
 * calls.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { runLoad } from '../../src/simulator/load.js';
import { startSimulator } from '../../src/simulator/server.js';
import type { SimulatorProfileName, SimulatorReport } from '../../src/simulator/types.js';
import { type ContenderName, createContender, TRUE_LIMITS } from './contenders.js';
import { CAPACITY, requestFor } from './profiles.js';

const ALL_PROFILES: SimulatorProfileName[] = ['github', 'openai', 'shopify', 'discord', 'ietf', 'none'];
const ALL_CONTENDERS: ContenderName[] = [
  'sluice',
  'sluice-gateway',
  'sluice-4x',
  'sluice-gateway-4x',
  'p-retry',
  'bottleneck',
  'reset-wait',
];

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

const profiles = (argument('profiles')?.split(',') ?? ALL_PROFILES) as SimulatorProfileName[];
const contenders = (argument('contenders')?.split(',') ?? ALL_CONTENDERS) as ContenderName[];
const runs = Number(argument('runs') ?? 3);
const windows = Number(argument('windows') ?? 20);

interface RunResult {
  accepted: number;
  rejected: number;
  capacity: number;
  utilization: number;
  waste: number;
  localFailures: number;
}

function idealCapacity(profile: SimulatorProfileName, report: SimulatorReport): number {
  const { startedByTraffic, windowMs } = CAPACITY[profile];
  if (!startedByTraffic) return 0;
  const limit = profile === 'discord' ? 50 : TRUE_LIMITS[profile].burst;
  return limit * Math.ceil(report.durationMs / windowMs);
}

async function runOnce(
  profile: SimulatorProfileName,
  name: ContenderName,
  progress: (line: string) => void,
): Promise<RunResult> {
  const simulator = await startSimulator({ profile });
  const contender = await createContender(name, simulator.url, profile);
  const { perSecond, windowMs } = CAPACITY[profile];
  const durationMs = windows * windowMs - 50;
  const stop = new AbortController();
  let localFailures = 0;
  const ticker = setInterval(() => {
    const report = simulator.report();
    progress(
      `${profile} ${name}: ${(report.durationMs / 1000).toFixed(0)}s accepted ${report.accepted} rejected ${report.rejected}`,
    );
  }, 1000);
  const ending = setTimeout(() => stop.abort(new Error('run over')), durationMs);
  try {
    if (contender.runOwnLoad) await contender.runOwnLoad({ ratePerSecond: perSecond * 2, durationMs });
    else
      await runLoad({
        concurrency: 100_000,
        durationMs,
        ratePerSecond: perSecond * 2,
        signal: stop.signal,
        send: async (index) => {
          try {
            const status = await contender.send(requestFor(profile, index), stop.signal);
            if (status === 0) localFailures++;
            return { status };
          } catch {
            localFailures++;
            return { status: 0 };
          }
        },
      });
  } finally {
    clearTimeout(ending);
    clearInterval(ticker);
    stop.abort(new Error('run over'));
  }
  const report = simulator.report();
  await contender.close();
  await simulator.close();
  const capacity = Math.max(report.capacity, idealCapacity(profile, report));
  return {
    accepted: report.accepted,
    rejected: report.rejected,
    capacity,
    utilization: capacity === 0 ? 0 : report.accepted / capacity,
    waste: report.total === 0 ? 0 : report.rejected / report.total,
    localFailures,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

const interactive = process.stderr.isTTY;
let lastProgress = 0;
const progress = (line: string) => {
  if (interactive) process.stderr.write(`\r\x1b[2K${line}`);
  else if (Date.now() - lastProgress > 5000) {
    lastProgress = Date.now();
    process.stderr.write(`${line}\n`);
  }
};

const rows: Array<{ profile: string; contender: string; runs: RunResult[]; utilization: number; waste: number }> = [];
for (const profile of profiles) {
  for (const name of contenders) {
    const results: RunResult[] = [];
    for (let run = 0; run < runs; run++) results.push(await runOnce(profile, name, progress));
    const row = {
      profile,
      contender: name,
      runs: results,
      utilization: median(results.map((result) => result.utilization)),
      waste: median(results.map((result) => result.waste)),
    };
    rows.push(row);
    if (interactive) process.stderr.write('\r\x1b[2K');
    process.stderr.write(
      `${profile.padEnd(8)} ${name.padEnd(15)} utilization ${(row.utilization * 100).toFixed(1)}%  waste ${(row.waste * 100).toFixed(2)}%  (${results.map((result) => `${result.accepted}/${result.capacity}, ${result.rejected} rejected`).join('; ')})\n`,
    );
  }
}

const percent = (value: number, digits = 1) => `${(value * 100).toFixed(digits)}%`;
console.log(`\n| profile | client | utilization | waste | accepted / capacity (median run) |`);
console.log('|---|---|---:|---:|---|');
for (const row of rows) {
  const middle = [...row.runs].sort((a, b) => a.utilization - b.utilization)[
    Math.floor(row.runs.length / 2)
  ] as RunResult;
  console.log(
    `| ${row.profile} | ${row.contender} | ${percent(row.utilization)} | ${percent(row.waste, 2)} | ${middle.accepted} / ${middle.capacity} |`,
  );
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(`bench/results/goodput-${Date.now()}.json`, JSON.stringify({ windows, runs, rows }, null, 2));
