import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import {
  createSimulatedProfile,
  isSimulatorProfile,
  SIMULATOR_PROFILE_DESCRIPTIONS,
} from '../../src/simulator/profile.js';
import { type SimulatorOptions, startSimulator } from '../../src/simulator/server.js';
import { SIMULATOR_PROFILES } from '../../src/simulator/types.js';
import { simulate } from './support.js';

describe('simulator server', () => {
  it('serves the report and a reset on admin routes that are neither limited nor counted', async () => {
    const { call, clock, simulator } = await simulate({ profile: 'none', limits: { limit: 2 } });
    for (let index = 0; index < 3; index++) await call('/a');
    const report = await call('/_sim/report');
    expect(report.status).toBe(200);
    expect(report.json()).toEqual(simulator.report());
    expect(report.json()).toMatchObject({ profile: 'none', accepted: 2, rejected: 1, total: 3, capacity: 2 });

    expect((await call('/_sim/reset', { method: 'POST' })).json()).toEqual({ reset: true });
    expect(simulator.report()).toMatchObject({
      accepted: 0,
      rejected: 0,
      total: 0,
      capacity: 0,
      startedAtEpochMs: null,
    });
    // the limit state is fresh too: a full window right away, and the run starts at the next request
    clock.advance(10);
    expect((await call('/a')).status).toBe(200);
    expect((await call('/a')).status).toBe(200);
    expect(simulator.report()).toMatchObject({ accepted: 2, startedAtEpochMs: 1_700_000_000_260 });
  });

  it('answers wrong methods and unknown admin routes clearly', async () => {
    const { call, simulator } = await simulate({ profile: 'none' });
    expect((await call('/_sim/reset')).status).toBe(405);
    const wrong = await call('/_sim/report', { method: 'POST' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('GET, HEAD');
    expect((await call('/_sim/nothing')).status).toBe(404);
    expect(simulator.report().total).toBe(0);
  });

  it('reports zeros before any request', async () => {
    for (const profile of SIMULATOR_PROFILES) {
      const { simulator } = await simulate({ profile });
      expect(simulator.report()).toEqual({
        profile,
        accepted: 0,
        rejected: 0,
        total: 0,
        capacity: 0,
        utilization: 0,
        waste: 0,
        startedAtEpochMs: null,
        durationMs: 0,
      });
    }
  });

  it('dates responses by its clock and keeps connections alive', async () => {
    const { call, clock } = await simulate({ profile: 'github' }, Date.UTC(2030, 0, 1, 12, 0, 0));
    clock.advance(3_000);
    const reply = await call('/a');
    expect(reply.headers.date).toBe('Tue, 01 Jan 2030 12:00:03 GMT');
    expect(reply.headers.connection).toBe('keep-alive');
  });

  it('refuses bodies over 1 MiB without counting them', async () => {
    const { call, simulator } = await simulate({ profile: 'openai' });
    const reply = await call('/v1/x', { method: 'POST', body: 'x'.repeat(1024 * 1024 + 1) });
    expect(reply.status).toBe(413);
    expect(simulator.report().total).toBe(0);
  });

  it('survives malformed HTTP without crashing', async () => {
    const { simulator, call } = await simulate({ profile: 'none' });
    const { hostname, port } = new URL(simulator.url);
    await new Promise<void>((resolve) => {
      const bad = request({ host: hostname, port, path: '/a', headers: { 'content-length': 'nope' } });
      bad.on('error', () => resolve());
      bad.on('response', (response) => {
        response.resume();
        response.on('end', resolve);
      });
      bad.end();
    });
    expect((await call('/a')).status).toBe(200);
  });

  it('delays responses by latencyMs, deciding on arrival', async () => {
    const simulator = await startSimulator({ profile: 'none', latencyMs: 5 });
    try {
      const response = await fetch(`${simulator.url}/a`);
      expect(response.status).toBe(200);
      await response.text();
      expect(simulator.report().accepted).toBe(1);
    } finally {
      await simulator.close();
    }
  });

  it.each([
    [{ profile: 'stripe' }, 'profile'],
    [{ profile: 'github', port: 70_000 }, 'port'],
    [{ profile: 'github', host: '' }, 'host'],
    [{ profile: 'github', latencyMs: -1 }, 'latencyMs'],
    [{ profile: 'github', clock: {} }, 'clock'],
    [{ profile: 'github', limits: 5 }, 'limits'],
    [{ profile: 'github', limits: { limit: 0 } }, 'limits.limit'],
    [{ profile: 'github', limits: { window: 'soon' } }, 'limits.window'],
    [{ profile: 'github', limits: { rejectStatus: 500 } }, 'limits.rejectStatus'],
    [{ profile: 'shopify', limits: { searchLimit: 3 } }, 'limits.searchLimit'],
    [{ profile: 'none', limits: { tokenLimit: 3 } }, 'limits.tokenLimit'],
    [{ profile: 'openai', limits: { tokenLimit: 2.5 } }, 'limits.tokenLimit'],
    [{ profile: 'discord', limits: { globalWindow: 0 } }, 'limits.globalWindow'],
  ])('rejects %j naming %s', async (options, field) => {
    const error = await startSimulator(options as unknown as SimulatorOptions).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).field).toBe(field);
  });

  it('lists its profiles for the CLI', () => {
    expect([...SIMULATOR_PROFILES]).toEqual(['github', 'openai', 'shopify', 'discord', 'ietf', 'none']);
    for (const profile of SIMULATOR_PROFILES) {
      expect(SIMULATOR_PROFILE_DESCRIPTIONS[profile]).toMatch(/\w/);
      expect(isSimulatorProfile(profile)).toBe(true);
      expect(createSimulatedProfile(profile).name).toBe(profile);
    }
    expect(isSimulatorProfile('stripe')).toBe(false);
  });
});
