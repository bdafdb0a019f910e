import { describe, expect, it } from 'vitest';
import { parseRoutePattern } from '../../src/config/routes.js';
import { createBudgetKeying } from '../../src/pipeline/budget-keys.js';
import { configuredBudgets } from '../../src/pipeline/configured-limits.js';
import { resourceHint } from '../../src/pipeline/signal-reading.js';
import type { Call } from '../../src/pipeline/stage.js';
import { signalOf } from '../budget/signal-builder.js';

const call = (method: string, path: string, tenant?: string, credential?: string): Call => ({
  upstream: 'api',
  method,
  path,
  headers: {},
  body: null,
  tenant,
  priority: 0,
  deadlineAtEpochMs: undefined,
  signal: undefined,
  cost: {},
  notes: { waitedMs: 0, attempts: 0, ...(credential ? { credential } : {}) },
});

describe('budget keys', () => {
  it('keep one budget per credential, and the default credential’s budget for tenants that share it', () => {
    const keying = createBudgetKeying({ upstream: 'api' });
    expect(keying.keysFor(call('GET', '/x', 'team-a', 'team-a')).map((key) => key.key)).toEqual(['api|team-a']);
    expect(keying.keysFor(call('GET', '/x', 'team-b', 'default')).map((key) => key.key)).toEqual(['api|default']);
    expect(keying.keysFor(call('GET', '/x')).map((key) => key.key)).toEqual(['api|-']);
  });

  it('key GitHub calls by resource before any reply, by path', () => {
    const keying = createBudgetKeying({ upstream: 'gh', dialect: 'github', resourceHint });
    expect(keying.laneOf(call('GET', '/repos/a/b'))).toBe('gh|-|resource:core');
    expect(keying.laneOf(call('GET', '/search/issues?q=x'))).toBe('gh|-|resource:search');
    expect(keying.laneOf(call('POST', '/graphql'))).toBe('gh|-|resource:graphql');
  });

  it('learn Discord buckets from replies and keep them apart per major parameter, hashing webhook tokens', () => {
    const keying = createBudgetKeying({ upstream: 'discord' });
    const first = call('POST', '/channels/111/messages');
    expect(keying.keyOfSignal(first, signalOf({ bucket: 'abcd' }))).toBe('discord|-|bucket:abcd:/channels/111');
    expect(keying.laneOf(call('POST', '/channels/222/messages'))).toBe('discord|-|bucket:abcd:/channels/222');
    const webhook = call('POST', '/webhooks/123/s3cr3t-t0ken-value');
    const key = keying.keyOfSignal(webhook, signalOf({ bucket: 'hook' }));
    expect(key).toMatch(/^discord\|-\|bucket:hook:#[A-Za-z0-9_-]{16}$/);
    expect(key).not.toContain('s3cr3t');
    // A global limit pauses the whole credential, not one route.
    expect(keying.keyOfSignal(first, signalOf({ bucket: 'abcd', scope: 'global' }))).toBe('discord|-');
  });

  it('add configured route buckets and an upstream-wide budget when limits say so', () => {
    const configured = configuredBudgets(
      [
        {
          algorithm: 'fixed-window',
          name: 'shared',
          limit: 100,
          windowMs: 1000,
          unit: 'requests',
          scope: 'upstream',
          bucket: null,
        },
        {
          algorithm: 'token-bucket',
          name: 'search',
          limit: 30,
          windowMs: 60_000,
          burst: 30,
          unit: 'requests',
          scope: 'credential',
          bucket: 'search',
        },
      ],
      5,
    );
    const keying = createBudgetKeying({
      upstream: 'api',
      configured,
      routes: [{ match: 'GET /search/*', ...parseRoutePattern('GET /search/*'), bucket: 'search', cost: {} }],
    });
    const keys = keying.keysFor(call('GET', '/search/code'));
    expect(keys.map((key) => key.key)).toEqual(['api|*', 'api|-', 'api|-|route:search']);
    expect(keys[0]?.configured?.map((limit) => limit.name)).toEqual(['shared']);
    expect(keys[1]?.configured?.map((limit) => limit.model)).toEqual(['concurrency']);
    expect(keys[2]?.configured?.map((limit) => limit.name)).toEqual(['search']);
  });
});
