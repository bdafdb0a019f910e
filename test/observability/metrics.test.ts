import { type OpenMetricsContentType, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/create-client.js';
import { InvalidOptionError } from '../../src/errors.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { CallFailedError } from '../../src/pipeline/errors.js';
import { type CallEvent, createEventBus } from '../../src/pipeline/events.js';
import { startSimulator } from '../../src/simulator/server.js';
import { createManualClock } from '../../src/time.js';
import { drive } from '../support/drive.js';
import { startLimitedUpstream } from '../support/limited-upstream.js';
import { parseExposition } from './exposition.js';

const T0 = 1_700_000_000_000;
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (opened.length) await opened.pop()?.close();
});

async function simulated(limits: { limit: number; window: string }, client: object = {}) {
  const clock = createManualClock(T0);
  const simulator = await startSimulator({ profile: 'github', limits, clock });
  const sluice = createClient({ baseUrl: simulator.url, name: 'github', dialect: 'github', clock, ...client });
  opened.push(simulator, sluice);
  return { clock, simulator, client: sluice };
}

async function limited(options: { limit: number; windowMs: number }, client: object = {}) {
  const clock = createManualClock(T0);
  const upstream = await startLimitedUpstream({ clock, ...options });
  const sluice = createClient({ baseUrl: upstream.url, name: 'api', dialect: 'github', clock, ...client });
  opened.push(upstream, sluice);
  return { clock, upstream, client: sluice };
}

const scrape = async (metrics: { text(): Promise<string> }) => parseExposition(await metrics.text());

describe('createMetrics on a real pipeline', () => {
  it('counts calls and attempts by upstream, tenant, status and outcome, and times them', async () => {
    const { clock, client } = await simulated({ limit: 10, window: '60s' }, { tenant: 'acme' });
    const metrics = createMetrics({ clock });
    metrics.watch(client.pipeline);
    for (let index = 0; index < 3; index++) {
      const response = await drive(clock, client.fetch(`/repos/sluice/${index}?page=${index}`));
      expect(response.status).toBe(200);
    }
    const exposition = await scrape(metrics);
    expect(exposition.types.get('sluice_calls_total')).toBe('counter');
    expect(exposition.types.get('sluice_call_duration_seconds')).toBe('histogram');
    expect(exposition.types.get('sluice_budget_remaining')).toBe('gauge');
    expect(
      exposition.value('sluice_calls_total', {
        upstream: 'github',
        tenant: 'acme',
        status: '200',
        outcome: 'ok',
        reason: '',
      }),
    ).toBe(3);
    expect(exposition.value('sluice_attempts_total', { upstream: 'github', status: '200', outcome: 'ok' })).toBe(3);
    expect(exposition.value('sluice_call_duration_seconds_count', { upstream: 'github', outcome: 'ok' })).toBe(3);
    expect(exposition.value('sluice_upstream_duration_seconds_count', { upstream: 'github' })).toBe(3);
    expect(exposition.value('sluice_wait_seconds_count', { upstream: 'github' })).toBe(3);
    expect(exposition.find('sluice_retries_total')).toEqual([]);
    // Paths never become labels.
    expect(exposition.samples.some((sample) => Object.values(sample.labels).some((value) => value.includes('/')))).toBe(
      false,
    );
  });

  it('reads budgets, queue and breaker as gauges when scraped', async () => {
    const { clock, client } = await simulated({ limit: 10, window: '60s' }, { tenant: 'acme' });
    const metrics = createMetrics({ clock });
    metrics.watch(client.pipeline, { maxQueueDepth: 1000 });
    for (let index = 0; index < 4; index++) await drive(clock, client.fetch(`/repos/sluice/${index}`));

    const labels = { upstream: 'github', tenant: 'acme', budget: 'resource:core', limit: 'core', unit: 'requests' };
    let exposition = await scrape(metrics);
    expect(exposition.value('sluice_budget_remaining', labels)).toBe(6);
    expect(exposition.value('sluice_budget_limit', labels)).toBe(10);
    const resetSeconds = exposition.value('sluice_budget_reset_seconds', labels) as number;
    // The window opened with the first call, at T0 or a step of the clock later, and GitHub rounds resets up.
    expect(resetSeconds).toBeGreaterThanOrEqual((T0 + 60_000 - clock.now()) / 1000);
    expect(resetSeconds).toBeLessThanOrEqual((T0 + 61_000 - clock.now()) / 1000);
    expect(exposition.value('sluice_budget_in_flight', { budget: 'resource:core', unit: 'requests' })).toBe(0);
    expect(exposition.value('sluice_budget_cool_down_seconds', { budget: 'resource:core' })).toBe(0);
    expect(exposition.value('sluice_budget_store_up', { upstream: 'github' })).toBe(1);
    expect(exposition.value('sluice_queue_depth', { upstream: 'github' })).toBe(0);
    expect(exposition.value('sluice_queue_max_depth', { upstream: 'github' })).toBe(1000);
    expect(exposition.value('sluice_breaker_state', { upstream: 'github', state: 'closed' })).toBe(1);
    expect(exposition.value('sluice_breaker_state', { upstream: 'github', state: 'open' })).toBe(0);

    // Gauges are read on every scrape: two more calls show at once.
    await drive(clock, client.fetch('/repos/sluice/4'));
    await drive(clock, client.fetch('/repos/sluice/5'));
    exposition = await scrape(metrics);
    expect(exposition.value('sluice_budget_remaining', labels)).toBe(4);
    // ... and a window past its reset is shown whole again, without a call to learn it.
    clock.advance(61_000);
    exposition = await scrape(metrics);
    expect(exposition.value('sluice_budget_remaining', labels)).toBe(10);
  });

  it('counts the upstream’s rate-limit rejections and the retries they cause', async () => {
    const { clock, upstream, client } = await limited({ limit: 100, windowMs: 60_000 });
    const metrics = createMetrics({ clock });
    metrics.watch(client.pipeline);
    upstream.script.push({ status: 429, headers: { 'retry-after': '2' }, body: '{}' });
    const response = await drive(clock, client.fetch('/items'));
    expect(response.status).toBe(200);
    const exposition = await scrape(metrics);
    expect(exposition.value('sluice_rejections_total', { upstream: 'api', by: 'upstream' })).toBe(1);
    expect(exposition.value('sluice_retries_total', { upstream: 'api' })).toBe(1);
    expect(exposition.value('sluice_attempts_total', { upstream: 'api', status: '429' })).toBe(1);
    expect(exposition.value('sluice_attempts_total', { upstream: 'api', status: '200' })).toBe(1);
    expect(exposition.value('sluice_calls_total', { upstream: 'api', status: '200', outcome: 'ok' })).toBe(1);
    // The call waited the stated 2 s before its retry.
    expect(exposition.value('sluice_call_duration_seconds_sum', { upstream: 'api' })).toBeGreaterThanOrEqual(2);
  });

  it('counts calls Sluice answered itself, by reason', async () => {
    const { clock, client } = await limited({ limit: 1, windowMs: 3_600_000 });
    const metrics = createMetrics({ clock });
    metrics.watch(client.pipeline);
    await drive(clock, client.fetch('/first'));
    const late = await drive(clock, client.fetch('/second', { sluice: { deadlineMs: 5000 } })).catch((e) => e);
    expect(late).toBeInstanceOf(CallFailedError);
    expect(late.reason).toBe('deadline');

    const exposition = await scrape(metrics);
    expect(exposition.value('sluice_rejections_total', { upstream: 'api', by: 'sluice', reason: 'deadline' })).toBe(1);
    expect(
      exposition.value('sluice_calls_total', {
        upstream: 'api',
        status: '429',
        outcome: 'rejected-locally',
        reason: 'deadline',
      }),
    ).toBe(1);
    // A local rejection never reached the upstream: one attempt in all, and no rejection by the upstream.
    expect(exposition.find('sluice_attempts_total').reduce((sum, sample) => sum + sample.value, 0)).toBe(1);
    expect(exposition.find('sluice_rejections_total', { by: 'upstream' })).toEqual([]);
  });

  it('shows the breaker opening on 5xx, and the calls it refuses', async () => {
    const { clock, upstream, client } = await limited(
      { limit: 100, windowMs: 60_000 },
      { retry: { attempts: 1 }, breaker: { consecutiveFailures: 2, openFor: '30s' } },
    );
    const metrics = createMetrics({ clock });
    metrics.watch(client.pipeline);
    upstream.script.push({ status: 500 }, { status: 500 });
    expect((await drive(clock, client.fetch('/a'))).status).toBe(500);
    expect((await drive(clock, client.fetch('/b'))).status).toBe(500);
    const refused = await drive(clock, client.fetch('/c')).catch((e) => e);
    expect(refused.reason).toBe('circuit-open');
    let exposition = await scrape(metrics);
    expect(exposition.value('sluice_breaker_state', { upstream: 'api', state: 'open' })).toBe(1);
    expect(exposition.value('sluice_breaker_state', { upstream: 'api', state: 'closed' })).toBe(0);
    expect(exposition.value('sluice_attempts_total', { upstream: 'api', status: '500' })).toBe(2);
    expect(exposition.value('sluice_calls_total', { upstream: 'api', status: '500', outcome: 'ok' })).toBe(2);
    expect(exposition.value('sluice_rejections_total', { upstream: 'api', by: 'sluice', reason: 'circuit-open' })).toBe(
      1,
    );

    clock.advance(30_000);
    exposition = await scrape(metrics);
    expect(exposition.value('sluice_breaker_state', { upstream: 'api', state: 'half-open' })).toBe(1);
  });

  it('keeps the scrape answering when a pipeline’s budgets cannot be read', async () => {
    const { clock, client } = await simulated({ limit: 10, window: '60s' });
    const metrics = createMetrics({ clock });
    const broken = Object.assign(Object.create(null), {
      upstream: 'broken',
      events: createEventBus(),
      budgets: () => Promise.reject(new Error('the store did not answer')),
      queue: () => ({ queued: 2, asking: 1, lanes: [{ lane: 'broken|-', depth: 2, asking: 1 }] }),
      breakerState: () => 'closed',
    });
    metrics.watch(client.pipeline);
    metrics.watch(broken);
    await drive(clock, client.fetch('/repos/a'));
    const exposition = await scrape(metrics);
    expect(exposition.value('sluice_budget_store_up', { upstream: 'broken' })).toBe(0);
    expect(exposition.value('sluice_budget_store_up', { upstream: 'github' })).toBe(1);
    expect(exposition.value('sluice_queue_depth', { upstream: 'broken' })).toBe(2);
    expect(exposition.value('sluice_queue_deepest_lane', { upstream: 'broken' })).toBe(2);
    expect(exposition.find('sluice_budget_remaining', { upstream: 'github' })).toHaveLength(1);
  });

  it('stops counting and forgets the gauges of a pipeline it no longer watches', async () => {
    const { clock, client } = await simulated({ limit: 10, window: '60s' });
    const metrics = createMetrics({ clock });
    const unwatch = metrics.watch(client.pipeline);
    expect(metrics.watch(client.pipeline)).toBe(unwatch);
    await drive(clock, client.fetch('/repos/a'));
    unwatch();
    await drive(clock, client.fetch('/repos/b'));
    const exposition = await scrape(metrics);
    expect(exposition.value('sluice_calls_total', { upstream: 'github' })).toBe(1);
    expect(exposition.find('sluice_budget_remaining')).toEqual([]);
    expect(exposition.find('sluice_queue_depth')).toEqual([]);
    expect(metrics.stats().upstreams).toEqual([]);
  });
});

function event(overrides: Partial<CallEvent>): CallEvent {
  return {
    kind: 'call',
    upstream: 'api',
    tenant: undefined,
    method: 'GET',
    path: '/items',
    status: 200,
    outcome: 'ok',
    durationMs: 10,
    waitedMs: 0,
    attempts: 1,
    ...overrides,
  };
}

describe('createMetrics labels', () => {
  it('labels configured tenants by name and every other tenant as "other"', async () => {
    const metrics = createMetrics({ tenants: ['acme', 'globex'] });
    for (const tenant of ['acme', 'globex', 'sk-live-caller-key-1', 'caller-key-2', undefined]) {
      metrics.listener(event({ tenant }));
    }
    const exposition = await scrape(metrics);
    const tenants = exposition.find('sluice_calls_total').map((sample) => [sample.labels.tenant, sample.value]);
    expect(Object.fromEntries(tenants)).toEqual({ acme: 1, globex: 1, other: 2, '': 1 });
  });

  it('keeps the names of the default credential and of budgets every credential shares', async () => {
    const metrics = createMetrics({ tenants: ['acme'] });
    for (const tenant of ['default', '*']) metrics.listener(event({ tenant }));
    const exposition = await scrape(metrics);
    expect(exposition.find('sluice_calls_total').map((sample) => sample.labels.tenant)).toEqual(['default', '*']);
  });

  it('bounds tenants it was not told of to the first maxTenants seen', async () => {
    const metrics = createMetrics({ maxTenants: 2 });
    for (let index = 0; index < 50; index++) metrics.listener(event({ tenant: `tenant-${index}` }));
    const exposition = await scrape(metrics);
    expect(exposition.find('sluice_calls_total')).toHaveLength(3);
    expect(exposition.value('sluice_calls_total', { tenant: 'other' })).toBe(48);
  });

  it('folds statuses that are not HTTP statuses into "other"', async () => {
    const metrics = createMetrics();
    metrics.listener(event({ kind: 'attempt', status: 0, outcome: 'error' }));
    metrics.listener(event({ kind: 'attempt', status: 1234, outcome: 'ok' }));
    const exposition = await scrape(metrics);
    expect(exposition.find('sluice_attempts_total', { status: 'other' }).map((sample) => sample.value)).toEqual([1, 1]);
  });

  it('counts a limited signal as the upstream’s rejection whatever the status (GitHub’s 403)', async () => {
    const metrics = createMetrics();
    const signal = {
      dialect: 'github' as const,
      limited: true,
      retryable: true,
      retryAfterMs: 1000,
      limit: 60,
      remaining: 0,
      resetAtEpochMs: null,
      resetAfterMs: 1000,
      limits: [],
    };
    metrics.listener(event({ kind: 'attempt', status: 403, signal }));
    metrics.listener(event({ kind: 'attempt', status: 403 }));
    const exposition = await scrape(metrics);
    expect(exposition.value('sluice_rejections_total', { by: 'upstream' })).toBe(1);
  });
});

describe('createMetrics histograms', () => {
  it('exports cumulative buckets in seconds, with +Inf, sum and count, as a histogram', async () => {
    const metrics = createMetrics();
    for (const durationMs of [3, 30, 30, 700, 90_000]) metrics.listener(event({ durationMs }));
    const exposition = await scrape(metrics);
    expect(exposition.types.get('sluice_call_duration_seconds')).toBe('histogram');
    const buckets = exposition
      .find('sluice_call_duration_seconds_bucket', { upstream: 'api', outcome: 'ok' })
      .map((sample) => [sample.labels.le, sample.value]);
    expect(Object.fromEntries(buckets)).toEqual({
      '0.005': 1,
      '0.01': 1,
      '0.025': 1,
      '0.05': 3,
      '0.1': 3,
      '0.25': 3,
      '0.5': 3,
      '1': 4,
      '2.5': 4,
      '5': 4,
      '10': 4,
      '30': 4,
      '60': 4,
      '+Inf': 5,
    });
    expect(exposition.value('sluice_call_duration_seconds_sum', { upstream: 'api' })).toBe(90.763);
    expect(exposition.value('sluice_call_duration_seconds_count', { upstream: 'api' })).toBe(5);
    // A duration exactly on a bound falls in that bound's bucket (le is "less than or equal").
    metrics.listener(event({ upstream: 'edge', durationMs: 50 }));
    expect((await scrape(metrics)).value('sluice_call_duration_seconds_bucket', { upstream: 'edge', le: '0.05' })).toBe(
      1,
    );
  });

  it('answers the registry’s JSON and reset like prom-client’s own metrics', async () => {
    const metrics = createMetrics();
    metrics.listener(event({ durationMs: 20 }));
    const json = await metrics.registry.getMetricsAsJSON();
    const histogram = json.find((metric) => metric.name === 'sluice_call_duration_seconds');
    expect(histogram?.type).toBe('histogram');
    expect(histogram?.values).toContainEqual({
      labels: { upstream: 'api', outcome: 'ok' },
      value: 1,
      metricName: 'sluice_call_duration_seconds_count',
    });
    metrics.registry.resetMetrics();
    const exposition = await scrape(metrics);
    expect(exposition.find('sluice_call_duration_seconds_count')).toEqual([]);
    expect(exposition.find('sluice_calls_total')).toEqual([]);
  });

  it('speaks OpenMetrics when the registry does', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const metrics = createMetrics({ registry });
    metrics.listener(event({}));
    const text = await metrics.text();
    expect(text).toContain('# TYPE sluice_calls counter');
    expect(text).toContain('sluice_calls_total{upstream="api",tenant="",status="200",outcome="ok",reason=""} 1');
    expect(text).not.toContain('_total_total');
    expect(text).toContain('sluice_call_duration_seconds_count{upstream="api",outcome="ok"} 1');
    expect(text.endsWith('# EOF\n')).toBe(true);
  });
});

describe('createMetrics options', () => {
  it('registers in the registry given, once', () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    expect(metrics.registry).toBe(registry);
    expect(registry.getSingleMetric('sluice_calls_total')).toBeDefined();
    expect(() => createMetrics({ registry })).toThrow(InvalidOptionError);
    expect(() => createMetrics({ registry })).toThrow(/use one createMetrics per registry/);
  });

  it('refuses what is not a registry, a pipeline or a bound', async () => {
    expect(() => createMetrics({ registry: {} as Registry })).toThrow(/registry: expected a prom-client Registry/);
    expect(() => createMetrics({ tenants: 'acme' as unknown as string[] })).toThrow(/tenants: expected an array/);
    expect(() => createMetrics({ maxTenants: -1 })).toThrow(/maxTenants/);
    const metrics = createMetrics();
    expect(() => metrics.watch({} as never)).toThrow(/pipeline: expected a pipeline/);
    const { client } = await simulated({ limit: 10, window: '60s' });
    expect(() => metrics.watch(client.pipeline, { maxQueueDepth: -3 })).toThrow(/maxQueueDepth/);
    metrics.watch(client.pipeline);
    const twin = createClient({ baseUrl: 'http://127.0.0.1:9', name: 'github' });
    opened.push(twin);
    expect(() => metrics.watch(twin.pipeline)).toThrow(/another pipeline named "github"/);
  });
});

describe('metrics.stats', () => {
  it('summarizes the last minute per upstream: calls per second, rejections, latency percentiles', async () => {
    const clock = createManualClock(T0);
    const metrics = createMetrics({ clock });
    // 100 calls over 10 s: 1..100 ms; 3 answered by Sluice; 100 attempts, 4 rejected by the upstream, 4 retries.
    for (let index = 1; index <= 100; index++) {
      clock.advance(100);
      metrics.listener(event({ durationMs: index }));
      metrics.listener(
        event({ kind: 'attempt', durationMs: 5, status: index <= 4 ? 429 : 200, attempts: index <= 4 ? 2 : 1 }),
      );
    }
    for (let index = 0; index < 3; index++) {
      metrics.listener(event({ status: 429, outcome: 'rejected-locally', reason: 'queue-full', durationMs: 0 }));
    }
    const [stats] = metrics.stats().upstreams;
    expect(stats).toMatchObject({
      upstream: 'api',
      // From the first event (T0 + 100 ms) to now (T0 + 10 s).
      windowMs: 9_900,
      calls: 103,
      callsPerSecond: 10.4,
      failedCalls: 3,
      localRejections: 3,
      attempts: 100,
      upstreamRejections: 4,
      retries: 4,
      upstreamLatency: { p50Ms: 5, p99Ms: 5 },
    });
    // Within the histogram's 5%: the true p50 is 49 ms (three zeros below), the p99 100 ms.
    expect(stats?.callLatency.p50Ms).toBeGreaterThanOrEqual(46);
    expect(stats?.callLatency.p50Ms).toBeLessThanOrEqual(52);
    expect(stats?.callLatency.p99Ms).toBeGreaterThanOrEqual(95);
    expect(stats?.callLatency.p99Ms).toBeLessThanOrEqual(105);

    // A minute later, the traffic has left the window.
    clock.advance(60_000);
    expect(metrics.stats().upstreams[0]).toMatchObject({
      windowMs: 60_000,
      calls: 0,
      callsPerSecond: 0,
      callLatency: { p50Ms: null, p99Ms: null },
    });
  });
});
