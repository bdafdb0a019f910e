import { type Browser, chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/create-client.js';
import { DASHBOARD_HTML } from '../../src/dashboard/page.js';
import { createAdminServer } from '../../src/gateway/admin.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { startSimulator } from '../../src/simulator/server.js';
import { createManualClock } from '../../src/time.js';
import { drive } from '../support/drive.js';

const T0 = 1_700_000_000_000;
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (opened.length) await opened.pop()?.close();
});

describe('the dashboard page', () => {
  it('is one self-contained document: no external script, style, image or font', () => {
    expect(DASHBOARD_HTML).not.toMatch(/\b(src|href)\s*=/i);
    expect(DASHBOARD_HTML).not.toMatch(/https?:\/\//);
    expect(DASHBOARD_HTML).not.toMatch(/@import|url\(/);
  });

  it('renders each upstream and its budgets’ numbers from a real pipeline, and updates them', async () => {
    const clock = createManualClock(T0);
    const simulator = await startSimulator({ profile: 'github', limits: { limit: 50, window: '60s' }, clock });
    const client = createClient({ baseUrl: simulator.url, name: 'github', dialect: 'github', clock, tenant: 'acme' });
    const metrics = createMetrics({ clock });
    metrics.watch(client.pipeline);
    const admin = await createAdminServer({ pipelines: new Map([['github', client.pipeline]]), metrics, clock });
    opened.push(simulator, client, admin);
    for (let index = 0; index < 3; index++) await drive(clock, client.fetch(`/repos/sluice/${index}`));

    const page = await browser.newPage();
    const problems: string[] = [];
    const requested: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('request', (request) => requested.push(request.url()));
    try {
      const response = await page.goto(`${admin.url}/`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toMatch(/script-src 'sha256-/);

      const section = page.locator('section[data-upstream="github"]');
      const core = section.locator('tr[data-budget="acme|resource:core|core"]');
      await expect.poll(() => core.locator('[data-field="remaining"]').textContent(), { timeout: 10_000 }).toBe('47');
      expect(await core.locator('[data-field="limit"]').textContent()).toBe('50');
      expect(await section.locator('h2 .name').textContent()).toBe('github');
      expect(await section.locator('[data-field="breaker"]').textContent()).toBe('breaker closed');
      expect(await section.locator('[data-stat="queue"]').textContent()).toBe('0');
      expect(await core.locator('[data-field="reset"]').textContent()).toMatch(/^\d+(\.\d)? s$/);
      expect(await section.locator('[data-stat="calls-per-second"]').textContent()).toMatch(/^\d+(\.\d+)?$/);

      // More calls: the page shows the new numbers without a reload.
      await drive(clock, client.fetch('/repos/sluice/3'));
      await drive(clock, client.fetch('/repos/sluice/4'));
      await expect.poll(() => core.locator('[data-field="remaining"]').textContent(), { timeout: 10_000 }).toBe('45');
      await expect
        .poll(() => section.locator('[data-stat="upstream-rejections"]').textContent(), { timeout: 10_000 })
        .toBe('0');

      // It talked to its own listener only, and the Content-Security-Policy let its script run without complaint.
      expect(requested.every((url) => url.startsWith(admin.url))).toBe(true);
      expect(requested.some((url) => url.endsWith('/budgets'))).toBe(true);
      expect(requested.some((url) => url.endsWith('/stats'))).toBe(true);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('says when the admin listener cannot be reached, and recovers by itself', async () => {
    const metrics = createMetrics();
    const admin = await createAdminServer({ pipelines: new Map(), metrics });
    const page = await browser.newPage();
    try {
      await page.goto(`${admin.url}/`);
      await expect
        .poll(() => page.locator('#upstreams').textContent(), { timeout: 10_000 })
        .toBe('No upstream is configured.');
      await page.route('**/budgets', (route) => route.fulfill({ status: 503, body: 'down' }));
      await expect
        .poll(() => page.locator('#status').textContent(), { timeout: 10_000 })
        .toMatch(/cannot reach the admin listener \(budgets answered 503\)/);
      await page.unroute('**/budgets');
      await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/^updated /);
    } finally {
      await page.close();
      await admin.close();
    }
  }, 60_000);
});
