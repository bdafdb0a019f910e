import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/server.js';
import { createManualClock, type ManualClock } from '../../src/time.js';

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
  json: () => unknown;
}

export interface Harness {
  simulator: Simulator;
  clock: ManualClock;
  call(path: string, init?: RequestInit): Promise<Reply>;
}

const running: Simulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((simulator) => simulator.close()));
});

/** A simulator on a free loopback port, driven by a manual clock; closed after each test. */
export async function simulate(
  options: Omit<SimulatorOptions, 'clock'>,
  startEpochMs = 1_700_000_000_250,
): Promise<Harness> {
  const clock = createManualClock(startEpochMs);
  const simulator = await startSimulator({ ...options, clock });
  running.push(simulator);
  return {
    simulator,
    clock,
    async call(path, init) {
      const response = await fetch(simulator.url + path, init);
      const body = await response.text();
      return {
        status: response.status,
        headers: Object.fromEntries(response.headers),
        body,
        json: () => JSON.parse(body),
      };
    },
  };
}

/** Response headers that every HTTP server adds, not part of a provider's dialect. */
export const TRANSPORT_HEADERS = new Set(['connection', 'content-length', 'content-type', 'date', 'keep-alive']);

export function dialectHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !TRANSPORT_HEADERS.has(name)));
}

export interface Vector {
  id: string;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** The shared documented provider examples (shared/vectors/provider-headers.json), found from here upwards. */
/**
 * The documented provider examples: the shared file when a checkout sits beside it, else the repository's copy
 * (test/signals/vectors/shared, kept equal to the shared file by test/signals/vectors.test.ts).
 */
export function loadVectors(): Vector[] {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8; depth++) {
    const candidate = join(directory, 'shared', 'vectors', 'provider-headers.json');
    if (existsSync(candidate)) return JSON.parse(readFileSync(candidate, 'utf8')) as Vector[];
    directory = dirname(directory);
  }
  const copy = fileURLToPath(new URL('../signals/vectors/shared/provider-headers.json', import.meta.url));
  return JSON.parse(readFileSync(copy, 'utf8')) as Vector[];
}
