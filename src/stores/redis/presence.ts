/**
 * Which instances (processes) are live, from heartbeats in Redis: each instance renews its entry in a registry (a
 * sorted set scored by when the entry lapses, in Redis time) every `heartbeatMs`; an entry not renewed for
 * `ttlMs` is dropped. The number of live instances is N, the divisor of the in-process fallback's share of every
 * limit during an outage; registries of budget holders tell which reservations belong to a process that died.
 */

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisConnection } from './connection.js';
import { PRESENCE_SCRIPT } from './scripts.js';

/** Identifies this process in registries: one per process, so several stores in it count once. */
export const PROCESS_INSTANCE_ID = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

export interface PresenceOptions {
  connection: RedisConnection;
  instanceId: string;
  /** How often to renew (default 2000 ms). */
  heartbeatMs?: number;
  /** How long an entry lives without renewal (default 3 × heartbeatMs). */
  ttlMs?: number;
}

export interface Presence {
  readonly instanceId: string;
  readonly ttlMs: number;
  /** Renews this instance in `registry` too from now on. The first registry given counts the live instances. */
  track(registry: string): void;
  /** Live instances in the first registry at the last heartbeat (at least 1: this one). */
  liveInstances(): number;
  /** Renews every registry now. Resolves when done (failures are ignored: the next heartbeat tries again). */
  beat(): Promise<void>;
  /** Stops the heartbeat and removes this instance from every registry. */
  stop(): Promise<void>;
}

export function createPresence(options: PresenceOptions): Presence {
  const heartbeatMs = options.heartbeatMs ?? 2000;
  const ttlMs = options.ttlMs ?? 3 * heartbeatMs;
  const registries: string[] = [];
  let live = 1;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  async function renew(registry: string, action: 'beat' | 'leave'): Promise<number> {
    const count = await options.connection.run(PRESENCE_SCRIPT, [
      PRESENCE_SCRIPT.sha,
      1,
      registry,
      options.instanceId,
      ttlMs,
      action,
    ]);
    return Number(count);
  }

  async function beat(): Promise<void> {
    await Promise.all(
      registries.map((registry, index) =>
        renew(registry, 'beat').then(
          (count) => {
            if (index === 0) live = Math.max(1, count);
          },
          () => {},
        ),
      ),
    );
  }

  const schedule = () => {
    if (stopped || timer !== undefined) return;
    timer = setInterval(() => void beat(), heartbeatMs);
    timer.unref();
  };

  return {
    instanceId: options.instanceId,
    ttlMs,
    track(registry) {
      if (registries.includes(registry)) return;
      registries.push(registry);
      void renew(registry, 'beat').then(
        (count) => {
          if (registries[0] === registry) live = Math.max(1, count);
        },
        () => {},
      );
      schedule();
    },
    liveInstances: () => live,
    beat,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await Promise.all(registries.map((registry) => renew(registry, 'leave').catch(() => 0)));
    },
  };
}
