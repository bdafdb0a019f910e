import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { normalizeUpstreamOptions } from '../../src/config/upstream.js';
import { upstreamOptionsSchema } from '../../src/config/upstream-schema.js';
import { PRESET_NAMES, PRESETS } from '../../src/presets/index.js';
import { problemAt, problemsOf } from './support.js';

const documentation = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

describe.each(PRESET_NAMES)('preset %s', (name) => {
  const preset = PRESETS[name];

  it('is valid upstream options input, with sources', () => {
    const result = upstreamOptionsSchema.safeParse(preset.options);
    expect(result.error?.issues ?? []).toEqual([]);
    expect(preset.name).toBe(name);
    expect(preset.sources.length).toBeGreaterThan(0);
  });

  it('normalises with nothing else but a URL, its limits naming routed buckets', () => {
    const options = normalizeUpstreamOptions({ url: 'https://shop.example.com', preset: name }, `upstreams.${name}`);
    expect(options.preset).toBe(name);
    expect(options.dialect).toBe(name);
    const buckets = new Set(options.routes.map((route) => route.bucket));
    for (const limit of options.limits) if (limit.bucket !== null) expect(buckets).toContain(limit.bucket);
  });

  it('is documented with its values and sources', () => {
    expect(documentation).toContain(`### \`${name}\``);
    for (const source of preset.sources) expect(documentation).toContain(source.split(' ')[0]);
  });
});

describe('preset values', () => {
  const of = (name: (typeof PRESET_NAMES)[number]) =>
    normalizeUpstreamOptions({ url: 'https://x.example', preset: name }, name);

  it('github: 5000/h core per credential, search 30/min, code search 10/min, GraphQL points, 100 concurrent', () => {
    const github = of('github');
    expect(
      github.limits.map((limit) => [
        limit.name,
        limit.limit,
        'windowMs' in limit ? limit.windowMs : null,
        limit.unit,
        limit.scope,
      ]),
    ).toEqual([
      ['core', 5000, 3_600_000, 'requests', 'credential'],
      ['search', 30, 60_000, 'requests', 'credential'],
      ['code_search', 10, 60_000, 'requests', 'credential'],
      ['graphql', 5000, 3_600_000, 'points', 'credential'],
    ]);
    expect(github.concurrency).toBe(100);
    expect(github.cache.enabled).toBe(true);
  });

  it('openai and anthropic leave limits to the headers but cost tokens on generation routes', () => {
    for (const name of ['openai', 'anthropic'] as const) {
      const options = of(name);
      expect(options.limits).toEqual([]);
      expect(options.routes.every((route) => (route.cost.tokens ?? 0) > 0)).toBe(true);
    }
    expect(of('anthropic').retry.retryOn).toContain(529);
    expect(of('anthropic').headers.default['anthropic-version']).toBe('2023-06-01');
  });

  it('discord: 50/s global and major parameters; shopify: a 40-deep bucket leaking 2/s; stripe: 100/s with idempotency keys', () => {
    expect(of('discord').limits[0]).toMatchObject({ name: 'global', limit: 50, windowMs: 1000, bucket: null });
    expect(of('discord').majorParameters).toContain('/webhooks/{id}/{token}');
    expect(of('shopify').limits[0]).toMatchObject({ algorithm: 'leaky-bucket', limit: 2, windowMs: 1000, burst: 40 });
    expect(of('stripe').limits.map((limit) => [limit.name, limit.limit])).toEqual([
      ['read', 100],
      ['write', 100],
      ['search', 20],
    ]);
    expect(of('stripe').retry.idempotencyKey).toBe(true);
    expect(of('twilio').concurrency).toBe(100);
    expect(of('slack').limits.find((limit) => limit.name === 'users.list')).toMatchObject({
      limit: 20,
      windowMs: 60_000,
    });
  });
});

describe('an unknown preset', () => {
  it('is an error listing the known ones', () => {
    const problems = problemsOf(() => parseConfig('upstreams:\n  a: { url: "https://a.example", preset: gitlab }\n'));
    expect(problemAt(problems, 'upstreams.a.preset').message).toBe(
      `expected one of ${PRESET_NAMES.map((name) => `"${name}"`).join(', ')}, got "gitlab" (did you mean "github"?)`,
    );
  });
});
