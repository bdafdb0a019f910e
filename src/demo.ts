/**
 * `sluice demo`: what Sluice does, in a minute, on embedded defaults. Two identical simulated rate-limited upstreams;
 * the same traffic — twice what they allow — goes to one through a Sluice gateway and to the other from a plain
 * client. The gateway learns the limits from the headers and paces to them; the plain client is refused over and
 * over. The comparison shows accepted calls, refused ones and the share of the upstream's capacity used.
 */
import { normalizeConfig } from './config/load.js';
import { startGateway } from './gateway/server.js';
import { runLoad } from './simulator/load.js';
import { type Simulator, startSimulator } from './simulator/server.js';
import type { SimulatorProfileName, SimulatorReport } from './simulator/types.js';

export interface DemoOptions {
  profile?: SimulatorProfileName;
  durationMs?: number;
  /** Calls per second sent to each side; default twice what the upstream allows. */
  ratePerSecond?: number;
  write?: (line: string) => void;
}

export interface DemoResult {
  sluice: SimulatorReport;
  plain: SimulatorReport;
}

const CAPACITY_PER_SECOND: Record<SimulatorProfileName, number> = {
  github: 100,
  openai: 100,
  shopify: 20,
  discord: 50,
  ietf: 100,
  none: 100,
};

function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

function row(name: string, report: SimulatorReport): string {
  return `${name.padEnd(22)} ${String(report.accepted).padStart(9)} ${String(report.rejected).padStart(9)} ${percent(report.utilization).padStart(12)} ${percent(report.waste).padStart(8)}`;
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const profile = options.profile ?? 'github';
  const durationMs = options.durationMs ?? 15_000;
  const ratePerSecond = options.ratePerSecond ?? CAPACITY_PER_SECOND[profile] * 2;
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const simulators: Simulator[] = [];
  const paced = await startSimulator({ profile });
  simulators.push(paced);
  const plain = await startSimulator({ profile });
  simulators.push(plain);
  const gateway = await startGateway({
    admin: false,
    config: normalizeConfig({ listen: { host: '127.0.0.1', port: 0 }, upstreams: { demo: { url: paced.url } } }),
  });
  const path = (index: number) => (profile === 'discord' ? `/channels/${index % 5}/messages` : `/items/${index % 50}`);
  // Calls the gateway answered itself (429 + Retry-After, before they could be refused upstream).
  let answeredBySluice = 0;
  const send = (base: string) => async (index: number) => {
    try {
      const response = await fetch(`${base}${path(index)}`, {
        method: profile === 'openai' ? 'POST' : 'GET',
        headers: { 'content-type': 'application/json', 'x-sluice-deadline-ms': '5000' },
        body: profile === 'openai' ? '{"max_tokens":40}' : undefined,
      });
      await response.arrayBuffer();
      if (response.headers.get('content-type') === 'application/problem+json') answeredBySluice++;
      return { status: response.status };
    } catch {
      return { status: 0 };
    }
  };

  write(`Sluice demo: simulated "${profile}" upstreams allowing about ${CAPACITY_PER_SECOND[profile]} calls/s,`);
  write(
    `${ratePerSecond} calls/s sent to each side for ${durationMs / 1000} s: one through a Sluice gateway, one plain.`,
  );
  write('');
  const debug = process.env.SLUICE_DEMO_DEBUG
    ? setInterval(async () => {
        const b = await gateway.pipelines.get('demo')!.budgets();
        for (const [k, st] of Object.entries(b))
          for (const e of st.estimates)
            write(
              `${k} avail ${e.available} reset+ ${e.resetAtEpochMs ? e.resetAtEpochMs - Date.now() : null} bounds ${JSON.stringify(e.windowBounds)} inflight ${st.inFlight.requests} cool ${Math.max(0, st.coolDownUntilEpochMs - Date.now())} ${JSON.stringify(gateway.pipelines.get('demo')!.queue().lanes)}`,
            );
      }, 500)
    : undefined;
  const progress = setInterval(() => {
    const a = paced.report();
    const b = plain.report();
    write(
      `  t=${String(Math.round(a.durationMs / 1000)).padStart(3)}s   sluice: ${a.accepted} accepted, ${a.rejected} refused   |   plain: ${b.accepted} accepted, ${b.rejected} refused`,
    );
  }, 1000);
  try {
    await Promise.all([
      runLoad({ send: send(`${gateway.url}/demo`), concurrency: 2000, durationMs, ratePerSecond }),
      runLoad({ send: send(plain.url), concurrency: 2000, durationMs, ratePerSecond }),
    ]);
  } finally {
    clearInterval(progress);
    clearInterval(debug);
  }
  const result = { sluice: paced.report(), plain: plain.report() };
  write('');
  write(
    `${''.padEnd(22)} ${'accepted'.padStart(9)} ${'refused'.padStart(9)} ${'utilization'.padStart(12)} ${'waste'.padStart(8)}`,
  );
  write(row('through Sluice', result.sluice));
  write(row('plain client', result.plain));
  write('');
  write(
    `Sluice answered ${answeredBySluice} calls itself, at once, with 429 and a Retry-After: the budget could not serve them within their 5 s deadline.`,
  );
  write('The plain client sent every call and had each refused one bounced by the upstream.');
  write('');
  write('utilization: accepted ÷ the most the upstream could have accepted; waste: refused ÷ calls sent upstream.');
  await gateway.close(1000);
  await Promise.all(simulators.map((simulator) => simulator.close()));
  return result;
}
