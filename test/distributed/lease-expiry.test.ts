/**
 * A process holding concurrency slots is killed (SIGKILL: no release, no goodbye). While it lived it kept its short
 * lease renewed; once dead, its slots come back within one lease time. The same for a shared budget's
 * reservations: they stop counting once the dead holder's heartbeat lapses.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisBudgetStore } from '../../src/budget/redis-store.js';
import type { BudgetKey } from '../../src/budget/types.js';
import { createLimiter } from '../../src/limits/limiter.js';
import { createRedisStore } from '../../src/stores/redis.js';
import { deleteKeys, inspector, uniquePrefix } from '../stores/redis-support.js';
import { hasRedis, redisUrl } from '../support/redis.js';
import { startWorker } from './spawn-worker.js';

const keyPrefix = uniquePrefix('lease-expiry');
const LEASE_MS = 1500;

afterAll(async () => {
  if (!hasRedis) return;
  const client = inspector(redisUrl);
  await deleteKeys(client, keyPrefix);
  client.disconnect();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!hasRedis)('a holder killed mid-call', () => {
  it('keeps its concurrency slot while alive (renewing) and loses it within one lease time once killed', async () => {
    const policies = { algorithm: 'concurrency' as const, limit: 1, lease: LEASE_MS };
    const worker = startWorker({ mode: 'hold', redisUrl, keyPrefix, policies });
    const store = createRedisStore({ url: redisUrl, keyPrefix, logger: false });
    const limiter = createLimiter(policies, { store });
    try {
      expect(await worker.firstLine).toMatch(/^held /);
      // Alive for two lease times: renewed all along, so the only slot stays taken.
      const aliveUntil = Date.now() + 2 * LEASE_MS;
      while (Date.now() < aliveUntil) {
        expect(await limiter.take('upstream')).toMatchObject({ allowed: false, outcome: 'limited' });
        await sleep(100);
      }
      worker.child.kill('SIGKILL');
      const killedAt = Date.now();
      let freedAt = 0;
      while (Date.now() - killedAt < 3 * LEASE_MS) {
        const decision = await limiter.take('upstream');
        if (decision.allowed) {
          freedAt = Date.now();
          await limiter.release('upstream', decision.lease!);
          break;
        }
        // The refusal says when the dead holder's lease ends: never later than one lease time.
        expect(decision.retryAfterMs).toBeLessThanOrEqual(LEASE_MS);
        await sleep(20);
      }
      expect(freedAt, 'the slot never came back').toBeGreaterThan(0);
      // Within one lease time of the kill (plus how long this loop takes to notice, on a busy machine).
      expect(freedAt - killedAt).toBeLessThanOrEqual(LEASE_MS + 300);
    } finally {
      worker.child.kill('SIGKILL');
      await store.close();
    }
  }, 30_000);

  it("a shared budget stops counting a dead holder's calls in flight once its heartbeat lapses", async () => {
    const prefix = `${keyPrefix}budget:`;
    const keys: BudgetKey[] = [
      {
        key: 'api|team',
        configured: [{ name: 'slots', unit: 'concurrency', model: 'concurrency', limit: 1, windowMs: 1 }],
      },
    ];
    // The holder stands for a process that is killed: its connection drops and its heartbeat stops.
    const holder = createRedisBudgetStore({ url: redisUrl, keyPrefix: prefix, heartbeatMs: 300, logger: false });
    const other = createRedisBudgetStore({ url: redisUrl, keyPrefix: prefix, heartbeatMs: 300, logger: false });
    try {
      expect(await holder.admit(keys, {})).toMatchObject({ admitted: true });
      await sleep(1000);
      // Renewed by its heartbeat: still held after three times its lapse time.
      expect(await other.admit(keys, {})).toMatchObject({ admitted: false });
      holder.client.disconnect();
      const killedAt = Date.now();
      let admittedAt = 0;
      while (Date.now() - killedAt < 3000) {
        if ((await other.admit(keys, {})).admitted) {
          admittedAt = Date.now();
          break;
        }
        await sleep(20);
      }
      expect(admittedAt, 'the slot never came back').toBeGreaterThan(0);
      // Lapse time: 3 × 300 ms after the last heartbeat, which was at most 300 ms before the kill.
      expect(admittedAt - killedAt).toBeLessThanOrEqual(900 + 300);
      expect(other.stats().reclaimed).toBe(1);
    } finally {
      await Promise.allSettled([holder.close(), other.close()]);
    }
  }, 30_000);
});
