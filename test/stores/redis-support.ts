/** Helpers for tests against the real Redis: a unique key prefix per test file, and removing its keys after. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { freePort } from '../support/redis-global-setup.js';

export function uniquePrefix(name: string): string {
  return `sluice-test:${name}:${randomUUID().slice(0, 8)}:`;
}

/** A plain client for inspecting and cleaning up (not the one under test). */
export function inspector(url: string): Redis {
  const client = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  return client;
}

/** Deletes every key under `prefix` (SCAN, never KEYS). */
export async function deleteKeys(client: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await client.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found.sort();
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (character) => `\\${character}`);
}

/** The Redis Cluster slot of a key: CRC16 (XMODEM) of its hash tag, or of the whole key without one, mod 16384. */
export function clusterSlot(key: string): number {
  const open = key.indexOf('{');
  const close = open >= 0 ? key.indexOf('}', open + 1) : -1;
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

export interface OwnRedis {
  url: string;
  port: number;
  process: ChildProcess;
  /** Starts it again on the same port (after a kill). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Whether redis-server can be started here (tests that need their own Redis skip without it, except under CI). */
export const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

/**
 * A throw-away redis-server on a free port, for tests that stop, restart or count commands on Redis: never the
 * shared one.
 */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const launch = async (): Promise<ChildProcess> => {
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    const probe = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => {});
    try {
      for (let attempt = 0; attempt < 100; attempt++) {
        try {
          if (probe.status !== 'ready') await probe.connect();
          if ((await probe.ping()) === 'PONG') return child;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      throw new Error(`redis-server on port ${port} did not start`);
    } finally {
      probe.disconnect();
    }
  };
  const own: OwnRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: await launch(),
    async restart() {
      own.process = await launch();
    },
    async stop() {
      if (own.process.exitCode !== null || own.process.signalCode !== null) return;
      const exited = new Promise((resolve) => own.process.once('exit', resolve));
      own.process.kill('SIGKILL');
      await exited;
    },
  };
  return own;
}

/** Calls of each command Redis counted since the last CONFIG RESETSTAT (scripts' own commands included). */
export async function commandCalls(client: Redis): Promise<Record<string, number>> {
  const calls: Record<string, number> = {};
  for (const line of (await client.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (match) calls[match[1] as string] = Number(match[2]);
  }
  return calls;
}
