/**
 * Finds a Redis for the tests that need one (DESIGN.md "Testing"):
 * REDIS_URL (default redis://127.0.0.1:6379) when it answers; otherwise a throw-away redis-server
 * on a free port when one is on the PATH; otherwise Redis tests are skipped with a printed reason,
 * except under CI=true, where a missing Redis fails the run.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import type { TestProject } from 'vitest/node';

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

let spawned: ChildProcess | undefined;

export default async function setup(project: TestProject): Promise<() => void> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  let available = '';
  let reason = '';
  if (await answers(url)) {
    available = url;
  } else if (spawnSync('redis-server', ['--version']).status === 0) {
    const port = await freePort();
    spawned = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    const candidate = `redis://127.0.0.1:${port}`;
    for (let i = 0; i < 50 && !available; i++) {
      if (await answers(candidate)) available = candidate;
      else await new Promise((r) => setTimeout(r, 100));
    }
    if (!available) reason = `started redis-server on port ${port} but it did not answer`;
  } else {
    reason = `no Redis answers at ${url} and redis-server is not on the PATH`;
  }
  if (!available) {
    if (process.env.CI === 'true') throw new Error(`Redis is required under CI=true: ${reason}`);
    console.warn(`[sluice tests] Redis tests will be skipped: ${reason}`);
  }
  project.provide('redisUrl', available);
  return () => {
    spawned?.kill('SIGTERM');
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
