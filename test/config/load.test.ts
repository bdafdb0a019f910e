import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, normalizeConfig, parseConfig } from '../../src/config/load.js';
import { UPSTREAM_DEFAULTS } from '../../src/config/upstream.js';
import { problemAt, problemsOf } from './support.js';

const examples = new URL('../../examples/', import.meta.url);
const temporary = mkdtempSync(join(tmpdir(), 'sluice-config-'));
afterAll(() => rmSync(temporary, { recursive: true, force: true }));

describe('the examples load', () => {
  it('the minimal example from DESIGN.md gives defaults for everything else', () => {
    const config = loadConfig(new URL('sluice.yaml', examples).pathname);
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.admin).toEqual({ host: '127.0.0.1', port: 8081, token: null });
    expect(config.store).toEqual({ kind: 'memory' });
    expect(config.callerKeyHeader).toBe('x-sluice-key');
    expect(config.forwardedHeaders).toBe(false);
    expect(config.shutdown).toEqual({ graceMs: 10_000 });
    expect(config.logging).toEqual({ level: 'info' });
    expect(Object.keys(config.tenants)).toEqual([]);
    expect(config.inbound).toEqual({ headers: 'draft-10', rules: [] });
    const github = config.upstreams.github;
    expect(github?.url).toBe('https://api.github.com');
    expect(github?.endpoints).toEqual([{ url: 'https://api.github.com', weight: 1 }]);
    expect(github?.dialect).toBe('github');
    expect(github?.preset).toBeNull();
    expect(github?.retry).toEqual(UPSTREAM_DEFAULTS.retry);
    expect(github?.breaker).toEqual(UPSTREAM_DEFAULTS.breaker);
    expect(github?.timeouts).toEqual({ connectMs: 5000, headersMs: 30_000, bodyMs: 30_000 });
    expect(github?.limits).toEqual([]);
    expect(github?.routes).toEqual([]);
  });

  it('the full example loads, with its durations in whole milliseconds and its references kept, not read', () => {
    const file = new URL('sluice.full.yaml', examples).pathname;
    const config = loadConfig(file);
    expect(Object.keys(config.upstreams)).toEqual(['github', 'openai', 'eu-api', 'twilio', 'discord']);
    expect(config.store).toEqual({
      kind: 'redis',
      url: 'redis://127.0.0.1:6379',
      keyPrefix: 'sluice:',
      username: null,
      password: null,
    });
    expect(config.admin.token).toEqual({ env: 'SLUICE_ADMIN_TOKEN', configPath: 'admin.token' });
    expect(config.tenants['team-b']?.keys[1]).toEqual({
      file: join(new URL('.', examples).pathname, 'secrets/team-b-second-key'),
      configPath: 'tenants.team-b.keys[1]',
    });
    const [perKey, perIp] = config.inbound.rules;
    expect(perKey).toEqual({
      name: 'per-key',
      by: 'key',
      upstreams: ['github', 'openai'],
      limits: [{ algorithm: 'sliding-window', name: 'per-key', limit: 100, windowMs: 60_000 }],
      plans: { pro: [{ algorithm: 'token-bucket', name: 'per-key-pro', limit: 1000, windowMs: 60_000, burst: 200 }] },
    });
    expect(perIp?.name).toBe('ip');
    expect(perIp?.limits).toEqual([
      { algorithm: 'fixed-window', name: 'ip', limit: 600, windowMs: 60_000 },
      { algorithm: 'concurrency', name: 'ip-2', limit: 20, leaseMs: 120_000 },
    ]);
    const github = config.upstreams.github;
    expect(github?.retry.maxElapsedMs).toBe(60_000);
    expect(github?.queue).toEqual({ maxDepth: 1000, timeoutMs: 30_000, reserve: { share: 0.1, minPriority: 1 } });
    expect(github?.credentials['team-a']).toEqual({
      placement: 'header',
      header: 'authorization',
      prefix: 'Bearer ',
      value: { env: 'GITHUB_TOKEN_TEAM_A', configPath: 'upstreams.github.credentials.team-a.value' },
    });
    expect(config.upstreams['eu-api']?.balance).toBe('least-loaded');
    expect(config.upstreams['eu-api']?.endpoints).toEqual([
      { url: 'https://eu-1.api.example.com', weight: 3 },
      { url: 'https://eu-2.api.example.com', weight: 1 },
    ]);
    expect(config.upstreams['eu-api']?.credentials.default).toMatchObject({ placement: 'query', query: 'api_key' });
    expect(config.upstreams.twilio?.credentials.default).toEqual({
      placement: 'basic',
      username: { env: 'TWILIO_ACCOUNT_SID', configPath: 'upstreams.twilio.credentials.default.username' },
      password: { env: 'TWILIO_AUTH_TOKEN', configPath: 'upstreams.twilio.credentials.default.value' },
    });
  });

  it('the JSON example loads, $schema key included', () => {
    const config = loadConfig(new URL('sluice.json', examples).pathname);
    expect(config.upstreams.stripe?.url).toBe('https://api.stripe.com');
    expect(config.upstreams.stripe?.retry.idempotencyKey).toBe(true);
  });

  it('JSON text parses as JSON, and the same configuration as YAML gives the same result', () => {
    const json = '{"upstreams": {"api": {"url": "https://api.example.com/v1/", "retry": {"maxDelay": "2s"}}}}';
    const yaml = 'upstreams:\n  api: { url: "https://api.example.com/v1/", retry: { maxDelay: 2s } }\n';
    const fromJson = parseConfig(json, { format: 'json' });
    expect(fromJson).toEqual(parseConfig(yaml));
    expect(fromJson.upstreams.api?.url).toBe('https://api.example.com/v1');
    expect(fromJson.upstreams.api?.retry.maxDelayMs).toBe(2000);
  });

  it('a configuration object validates like text (for embedded defaults)', () => {
    const config = normalizeConfig({ upstreams: { api: { url: 'https://api.example.com', retry: { attempts: 5 } } } });
    expect(config.upstreams.api?.retry.attempts).toBe(5);
    expect(
      problemAt(
        problemsOf(() => normalizeConfig({ upstreams: { api: {} } })),
        'upstreams.api.url',
      ).line,
    ).toBe(undefined);
  });
});

describe('records of the normalised config have no prototype', () => {
  it('a name from a request cannot reach Object.prototype', () => {
    const config = parseConfig('upstreams:\n  api: { url: "https://api.example.com" }\n');
    expect(config.upstreams.toString).toBeUndefined();
    expect(config.upstreams.constructor).toBeUndefined();
    expect(config.tenants.hasOwnProperty).toBeUndefined();
  });

  it('a __proto__ key is an unknown option, not a prototype change', () => {
    const problems = problemsOf(() =>
      parseConfig('__proto__: { polluted: 1 }\nupstreams:\n  a: { url: "https://a.example" }\n'),
    );
    expect(problemAt(problems, '__proto__').message).toContain('unknown option');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('syntax errors say where', () => {
  it('YAML: line and column of the error', () => {
    const problems = problemsOf(() => parseConfig('upstreams:\n  api: { url: https://x.example\n  other: 1\n'));
    expect(problems.length).toBeGreaterThan(0);
    const first = problems[0];
    expect(first?.path).toBe('');
    expect(first?.message).toMatch(/^YAML: /);
    expect(first?.line).toBeGreaterThanOrEqual(2);
    expect(first?.column).toBeGreaterThanOrEqual(1);
  });

  it('YAML: a key given twice is an error at the second', () => {
    const problems = problemsOf(() =>
      parseConfig('upstreams:\n  a: { url: "https://a.example" }\n  a: { url: "https://b.example" }\n'),
    );
    expect(problems).toEqual([{ path: '', message: 'YAML: Map keys must be unique', line: 3, column: 3 }]);
  });

  it('YAML: a bad indentation is reported with its line', () => {
    const problems = problemsOf(() => parseConfig('upstreams:\n  a:\n    url: https://a.example\n   retry: 1\n'));
    expect(problems[0]?.line).toBe(4);
  });

  it('JSON: line and column of the error, and what was expected', () => {
    const text = '{\n  "upstreams": {\n    "api": { "url": "https://a.example", }\n  }\n}\n';
    expect(problemsOf(() => parseConfig(text, { format: 'json' }))).toEqual([
      { path: '', message: 'JSON: unexpected "}", expected a key in double quotes', line: 3, column: 42 },
    ]);
    expect(problemsOf(() => parseConfig('{"a": 1', { format: 'json' }))).toEqual([
      { path: '', message: 'JSON: unexpected the end of the file, expected "," or "}"', line: 1, column: 8 },
    ]);
    expect(problemsOf(() => parseConfig("{'a': 1}", { format: 'json' }))[0]?.message).toBe(
      `JSON: unexpected "'", expected a key in double quotes`,
    );
  });

  it('JSON: a key given twice is an error (JSON.parse would keep the last silently)', () => {
    const text = '{"upstreams": {"a": {"url": "https://a.example"}, "a": {"url": "https://b.example"}}}';
    const problems = problemsOf(() => parseConfig(text, { format: 'json' }));
    expect(problems[0]?.message).toBe('JSON: the same key twice in one object (only the last would count)');
    expect(problems[0]?.line).toBe(1);
  });

  it('JSON: validation problems are located too', () => {
    const text =
      '{\n  "upstreams": {\n    "api": {\n      "url": "https://a.example",\n      "retry": { "attempts": 0 }\n    }\n  }\n}\n';
    expect(problemsOf(() => parseConfig(text, { format: 'json' }))).toEqual([
      {
        path: 'upstreams.api.retry.attempts',
        message: 'expected a positive integer, got 0',
        line: 5,
        column: 30,
      },
    ]);
  });
});

describe('loadConfig', () => {
  it('reads .json as JSON and resolves relative secret files from the file’s directory', () => {
    const file = join(temporary, 'gateway.json');
    writeFileSync(
      file,
      JSON.stringify({
        upstreams: { api: { url: 'https://a.example', credentials: { default: { value: { file: 'keys/api' } } } } },
      }),
    );
    const config = loadConfig(file);
    expect(config.upstreams.api?.credentials.default).toMatchObject({ value: { file: join(temporary, 'keys/api') } });
  });

  it('names the file in its error', () => {
    const file = join(temporary, 'broken.yaml');
    writeFileSync(file, 'upstreams:\n  api: { url: ftp://a.example }\n');
    try {
      loadConfig(file);
      expect.fail('expected a ConfigError');
    } catch (error) {
      expect((error as Error).message).toContain(`Invalid configuration in ${file} (1 problem):`);
    }
  });

  it('a missing file is a ConfigError that says so', () => {
    const problems = problemsOf(() => loadConfig(join(temporary, 'nope.yaml')));
    expect(problems).toEqual([{ path: '', message: 'cannot read the file: no such file' }]);
    expect(problemsOf(() => loadConfig(temporary))[0]?.message).toBe('cannot read the file: it is a directory');
  });
});
