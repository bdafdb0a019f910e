import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../src/limits/limiter.js';
import { compilePolicies } from '../../src/limits/policy.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import { createSlotTable } from '../../src/stores/memory-table.js';
import { createManualClock } from '../../src/time.js';

const START = 1_699_920_000_000;

describe('memory store', () => {
  it('treats an expired state as empty on read, and reuses its slot for the same key', async () => {
    const clock = createManualClock(START);
    const store = createMemoryStore({ clock });
    const limiter = createLimiter({ algorithm: 'fixed-window', limit: 2, window: 1000 }, { store });
    await limiter.take('k', { cost: 2 });
    expect((await limiter.peek('k')).remaining).toBe(0);
    clock.advance(1000);
    expect((await limiter.peek('k')).remaining).toBe(2);
    expect(store.size()).toBe(1);
    await limiter.take('k');
    expect(store.size()).toBe(1);
  });

  it('reclaims expired keys incrementally as new keys arrive, without a full scan', async () => {
    const clock = createManualClock(START);
    const store = createMemoryStore({ clock, sweepPerInsert: 4 });
    const limiter = createLimiter({ algorithm: 'token-bucket', limit: 10, window: 1000 }, { store });
    for (let i = 0; i < 10_000; i++) await limiter.take(`first:${i}`);
    expect(store.size()).toBe(10_000);
    // Every bucket above is full again (state expired) after 100 ms.
    clock.advance(200);
    for (let i = 0; i < 10_000; i++) await limiter.take(`second:${i}`);
    // Each insert examined 4 slots: 40 000 examinations cover the 10 000 old slots several times over.
    expect(store.size()).toBe(10_000);
    // And nothing live was dropped.
    expect((await limiter.peek('second:0')).remaining).toBe(9);
  });

  it('keeps the table within a small factor of the live keys under steady churn', async () => {
    const clock = createManualClock(START);
    const store = createMemoryStore({ clock, sweepPerInsert: 2 });
    const limiter = createLimiter({ algorithm: 'fixed-window', limit: 5, window: 100 }, { store });
    let largest = 0;
    for (let i = 0; i < 50_000; i++) {
      if (i % 100 === 0) clock.advance(10);
      await limiter.take(`user:${i}`);
      largest = Math.max(largest, store.size());
    }
    // 100 new keys per 10 ms, each living at most 100 ms: about 1 000 live keys at any time.
    expect(largest).toBeLessThan(2_500);
  });

  it('shares state between limiters with the same policies, and separates them by prefix or name', async () => {
    const store = createMemoryStore();
    const policy = { algorithm: 'fixed-window', limit: 3, window: '1m' } as const;
    const first = createLimiter(policy, { store });
    const second = createLimiter(policy, { store });
    const other = createLimiter(policy, { store, prefix: 'other' });
    const named = createLimiter({ ...policy, name: 'search' }, { store });
    await first.take('k');
    expect((await second.take('k')).remaining).toBe(1);
    expect((await other.take('k')).remaining).toBe(2);
    expect((await named.take('k')).remaining).toBe(2);
  });

  it('answers through evaluate (a promise) exactly as through evaluateSync', async () => {
    const clock = createManualClock(START);
    const store = createMemoryStore({ clock });
    const policies = compilePolicies({ algorithm: 'sliding-log', limit: 2, window: 1000 }, { leaseMs: 1 });
    const request = { operation: 'take' as const, key: 'k', policies, cost: 1 };
    expect((await store.evaluate(request))[0]?.remaining).toBe(1);
    expect(store.evaluateSync?.(request)[0]?.remaining).toBe(0);
    // A failure inside the store becomes a rejected promise, never a thrown call.
    const unknown = [{ ...policies[0], id: 'unknown', algorithm: 'nope' } as never];
    await expect(store.evaluate({ ...request, policies: unknown })).rejects.toThrow();
  });

  it('leaves a key whose last lease was released to the sweep, without churning the Map', async () => {
    const clock = createManualClock(START);
    const store = createMemoryStore({ clock });
    const limiter = createLimiter({ algorithm: 'concurrency', limit: 1 }, { store });
    const decision = await limiter.take('k');
    expect(await limiter.release('k', decision.lease!)).toBe('released');
    expect((await limiter.peek('k')).remaining).toBe(1);
    expect(store.size()).toBe(1);
    // The next new key sweeps the released one.
    await limiter.take('other');
    expect(store.size()).toBe(1);
    expect((await limiter.take('k')).allowed).toBe(true);
  });
});

describe('slot table', () => {
  it('grows its columns past the initial capacity and keeps every value', () => {
    const table = createSlotTable(2);
    for (let i = 0; i < 5000; i++) {
      const slot = table.claim(`k${i}`, table.slotOf(`k${i}`), START + i);
      table.setNumber(slot, 0, i);
      table.setNumber(slot, 1, -i);
    }
    for (let i = 0; i < 5000; i += 499) {
      const slot = table.slotOf(`k${i}`);
      expect([table.number(slot, 0), table.number(slot, 1), table.isLive(slot, START + i - 1)]).toEqual([i, -i, true]);
    }
    expect(table.size()).toBe(5000);
  });

  it('frees the slots it sweeps and hands them out again', () => {
    const table = createSlotTable(1);
    for (let i = 0; i < 10; i++) table.claim(`k${i}`, -1, START + 1);
    table.sweep(START + 1, 10);
    expect(table.size()).toBe(0);
    expect(table.slotOf('k0')).toBe(-1);
    const reused = table.claim('new', -1, START + 5);
    expect(reused).toBeLessThan(10);
  });
});

describe('memory store options', () => {
  it('names a bad option', () => {
    expect(() => createMemoryStore({ sweepPerInsert: 0 })).toThrow(
      'sweepPerInsert: expected a positive integer, got 0',
    );
    expect(() => createMemoryStore({ clock: {} as never })).toThrow('clock: expected a clock');
  });
});
