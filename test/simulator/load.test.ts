import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { type LoadOptions, percentile, runLoad } from '../../src/simulator/load.js';
import { simulate } from './support.js';

/** A send that answers on the next turn of the event loop and records how many calls overlapped. */
function tracked(statusOf: (index: number) => number | Error = () => 200) {
  const state = { inFlight: 0, maxInFlight: 0, indices: [] as number[] };
  const send = async (index: number) => {
    state.indices.push(index);
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    await nextTurn();
    state.inFlight--;
    const status = statusOf(index);
    if (status instanceof Error) throw status;
    return { status };
  };
  return { state, send };
}

describe('load generator', () => {
  it('closed loop: keeps exactly `concurrency` callers busy and counts every call once', async () => {
    const { state, send } = tracked((index) => (index % 3 === 0 ? 429 : 200));
    const report = await runLoad({ send, concurrency: 4, durationMs: 50 });
    expect(state.maxInFlight).toBe(4);
    expect(report.sent).toBe(state.indices.length);
    expect([...state.indices].sort((a, b) => a - b)).toEqual(state.indices.map((_, index) => index));
    expect((report.byStatus['200'] ?? 0) + (report.byStatus['429'] ?? 0)).toBe(report.sent);
    expect(report.byStatus['429']).toBe(state.indices.filter((index) => index % 3 === 0).length);
    expect(report.errors).toBe(0);
    expect(report.durationMs).toBeGreaterThanOrEqual(50);
    expect(report.latencyMs.p99).toBeGreaterThanOrEqual(report.latencyMs.p50);
  });

  it('counts a rejected send as an error, not a status', async () => {
    const { send } = tracked((index) => (index % 2 === 0 ? new Error('ECONNRESET') : 200));
    const report = await runLoad({ send, concurrency: 2, durationMs: 200 });
    expect(report.errors + (report.byStatus['200'] ?? 0)).toBe(report.sent);
    expect(report.errors).toBeGreaterThan(0);
  });

  it('open loop: schedules exactly rate × duration arrivals, whatever the responses', async () => {
    const { state, send } = tracked();
    const report = await runLoad({ send, concurrency: 50, durationMs: 100, ratePerSecond: 400 });
    // arrivals at 0, 2.5, 5... ms: those before 100 ms
    expect(report.sent).toBe(40);
    expect(state.indices).toEqual(Array.from({ length: 40 }, (_, index) => index));
    expect(report.byStatus).toEqual({ 200: 40 });
  });

  it('open loop: never exceeds `concurrency` in flight; late arrivals wait for a slot', async () => {
    const { state, send } = tracked();
    const report = await runLoad({ send, concurrency: 1, durationMs: 30, ratePerSecond: 2000 });
    expect(state.maxInFlight).toBe(1);
    expect(report.sent).toBe(60);
  });

  it('stops starting calls when aborted', async () => {
    const controller = new AbortController();
    const { send } = tracked();
    const counting = async (index: number) => {
      if (index === 9) controller.abort();
      return send(index);
    };
    const report = await runLoad({ send: counting, concurrency: 1, durationMs: 60_000, signal: controller.signal });
    expect(report.sent).toBe(10);
  });

  it('reports progress while running', async () => {
    const seen: number[] = [];
    const { send } = tracked();
    await runLoad({
      send,
      concurrency: 1,
      durationMs: 60,
      progressIntervalMs: 10,
      onProgress: (progress) => seen.push(progress.sent),
    });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it('drives a simulator: the statuses it saw are the simulator’s counts', async () => {
    const { simulator } = await simulate({ profile: 'none', limits: { limit: 5, window: '1h' } });
    // Stopping after 20 calls instead of after a time keeps the test independent of the machine's speed.
    const stop = new AbortController();
    const report = await runLoad({
      send: async (index) => {
        if (index === 19) stop.abort();
        const response = await fetch(`${simulator.url}/a`);
        await response.arrayBuffer();
        return { status: response.status };
      },
      concurrency: 4,
      durationMs: 60_000,
      signal: stop.signal,
    });
    expect(report).toMatchObject({ sent: 20, byStatus: { 200: 5, 429: 15 }, errors: 0 });
    expect(simulator.report()).toMatchObject({ accepted: 5, rejected: 15, total: 20 });
  });

  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.99)).toBe(99);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBe(0);
  });

  it.each([
    [{ send: undefined }, 'send'],
    [{ concurrency: 0 }, 'concurrency'],
    [{ durationMs: Number.NaN }, 'durationMs'],
    [{ ratePerSecond: 0 }, 'ratePerSecond'],
  ])('rejects %j naming %s', async (override, field) => {
    const options = { send: async () => ({ status: 200 }), concurrency: 1, durationMs: 10, ...override };
    const error = await runLoad(options as unknown as LoadOptions).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).field).toBe(field);
  });
});
