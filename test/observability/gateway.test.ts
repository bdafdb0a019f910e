import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/config/load.js';
import { startGateway } from '../../src/gateway/server.js';
import type { BudgetsView } from '../../src/observability/budget-view.js';
import { startSimulator } from '../../src/simulator/server.js';
import { createManualClock } from '../../src/time.js';
import { drive } from '../support/drive.js';
import { parseExposition } from './exposition.js';

const T0 = 1_700_000_000_000;
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()?.();
});

const ENV = {
  TEAM_A_KEY: 'gateway-key-of-team-a',
  TEAM_B_KEY: 'gateway-key-of-team-b',
  GITHUB_TOKEN_A: 'upstream-token-of-team-a',
  GITHUB_TOKEN_B: 'upstream-token-of-team-b',
  OPENAI_TOKEN: 'openai-token-shared',
};

/** The whole gateway as `sluice start` runs it: every upstream's pipeline publishing on one event bus. */
async function gatewayWithObservability() {
  const clock = createManualClock(T0);
  const github = await startSimulator({ profile: 'github', limits: { limit: 100, window: '60s' }, clock });
  const openai = await startSimulator({ profile: 'openai', clock });
  closers.push(
    () => github.close(),
    () => openai.close(),
  );
  const config = normalizeConfig({
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    tenants: { 'team-a': { keys: [{ env: 'TEAM_A_KEY' }] }, 'team-b': { keys: [{ env: 'TEAM_B_KEY' }] } },
    upstreams: {
      github: {
        url: github.url,
        dialect: 'github',
        credentials: {
          'team-a': { header: 'authorization', prefix: 'Bearer ', value: { env: 'GITHUB_TOKEN_A' } },
          // A query parameter whose name says nothing: only the configured list and the secrets hide it.
          'team-b': { query: 'access', value: { env: 'GITHUB_TOKEN_B' } },
        },
      },
      openai: { url: openai.url, dialect: 'openai', credentials: { default: { value: { env: 'OPENAI_TOKEN' } } } },
    },
  });

  const chunks: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _encoding, callback) {
        chunks.push(String(chunk));
        callback();
      },
    }),
  );
  // The gateway wires the call logger (its credentials' query names and every secret it resolved), the metrics and
  // the admin listener itself.
  const gateway = await startGateway({ config, env: ENV, clock, logger });
  closers.push(() => gateway.close(100));
  const admin = { url: gateway.adminUrl as string };
  const metrics = gateway.metrics;
  return { clock, gateway, admin, metrics, logText: () => chunks.join('') };
}

describe('observability of a running gateway', () => {
  it('counts each call once though every pipeline shares one bus, and keeps every secret out of logs and views', async () => {
    const { clock, gateway, admin, logText } = await gatewayWithObservability();
    const send = (path: string, key: string, init: RequestInit = {}) =>
      drive(
        clock,
        fetch(`${gateway.url}${path}`, { ...init, headers: { 'x-sluice-key': key, ...init.headers } }).then(
          async (response) => ({ status: response.status, body: await response.text() }),
        ),
      );
    expect((await send('/github/repos/a', ENV.TEAM_A_KEY)).status).toBe(200);
    expect((await send('/github/repos/b?page=2', ENV.TEAM_B_KEY)).status).toBe(200);
    expect((await send('/github/repos/c', ENV.TEAM_B_KEY)).status).toBe(200);
    const completion = await send('/openai/v1/chat/completions', ENV.TEAM_A_KEY, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', max_tokens: 50 }),
    });
    expect(completion.status).toBe(200);

    const metricsText = await (await fetch(`${admin.url}/metrics`)).text();
    const exposition = parseExposition(metricsText);
    expect(exposition.value('sluice_calls_total', { upstream: 'github', tenant: 'team-a', status: '200' })).toBe(1);
    expect(exposition.value('sluice_calls_total', { upstream: 'github', tenant: 'team-b', status: '200' })).toBe(2);
    expect(exposition.value('sluice_calls_total', { upstream: 'openai', tenant: 'team-a', status: '200' })).toBe(1);
    expect(exposition.find('sluice_attempts_total').reduce((sum, sample) => sum + sample.value, 0)).toBe(4);
    // Budgets are kept per credential: the tenants' own on GitHub, the default one on OpenAI. (The simulator counts
    // every caller against one limit: team-b's last reply said 100 - 3.)
    expect(exposition.value('sluice_budget_remaining', { upstream: 'github', tenant: 'team-b', limit: 'core' })).toBe(
      97,
    );
    expect(
      exposition.find('sluice_budget_remaining', { upstream: 'openai', tenant: 'default' }).length,
    ).toBeGreaterThan(0);

    const budgetsText = await (await fetch(`${admin.url}/budgets`)).text();
    const budgets = JSON.parse(budgetsText) as BudgetsView;
    expect(budgets.upstreams.map((upstream) => upstream.upstream)).toEqual(['github', 'openai']);
    expect(budgets.upstreams[0]?.budgets.map((budget) => `${budget.tenant} ${budget.budget}`)).toEqual([
      'team-a credential',
      'team-a resource:core',
      'team-b credential',
      'team-b resource:core',
    ]);

    const lines = logText()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(4);
    expect(lines.map((line) => line.path)).toContain('/repos/b?page=2&access=***');
    for (const [name, secret] of Object.entries(ENV)) {
      for (const [where, text] of [
        ['the log', logText()],
        ['/metrics', metricsText],
        ['/budgets', budgetsText],
      ]) {
        expect(text, `${name} appears in ${where}`).not.toContain(secret);
      }
    }
  });
});
