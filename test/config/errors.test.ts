import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/problems.js';
import { minimalYaml, problemAt, problemsOf } from './support.js';

const upstreamProblems = (lines: string) => problemsOf(() => parseConfig(minimalYaml(lines)));
const topProblems = (lines: string) => problemsOf(() => parseConfig(minimalYaml('', lines)));

describe('bad upstream options are reported at their path', () => {
  it.each([
    // wrong types
    ['retry: { attempts: "3" }', 'upstreams.github.retry.attempts', 'expected a positive integer, got "3"'],
    ['retry: 3', 'upstreams.github.retry', 'expected a mapping of options, got 3'],
    ['routes: { match: "/x" }', 'upstreams.github.routes', 'expected a list of routes, got a mapping'],
    ['cache: { enabled: "yes" }', 'upstreams.github.cache.enabled', 'expected true or false, got "yes"'],
    ['concurrency: 2.5', 'upstreams.github.concurrency', 'expected a positive integer, got 2.5'],
    // zero and negative numbers
    ['retry: { attempts: 0 }', 'upstreams.github.retry.attempts', 'expected a positive integer, got 0'],
    ['queue: { maxDepth: -1 }', 'upstreams.github.queue.maxDepth', 'expected a positive integer, got -1'],
    ['maxRequestBytes: 0', 'upstreams.github.maxRequestBytes', 'expected a positive integer, got 0'],
    ['pacing: { safetyMargin: 1 }', 'upstreams.github.pacing.safetyMargin', 'expected a number with 0 ≤ x < 1, got 1'],
    [
      'breaker: { failureRatio: 0 }',
      'upstreams.github.breaker.failureRatio',
      'expected a number with 0 < x ≤ 1, got 0',
    ],
    ['retry: { factor: 0.5 }', 'upstreams.github.retry.factor', 'expected a number ≥ 1, got 0.5'],
    [
      'retry: { retryOn: [429, 700] }',
      'upstreams.github.retry.retryOn[1]',
      'expected an HTTP status from 100 to 599, got 700',
    ],
    // durations
    [
      'timeouts: { connect: soon }',
      'upstreams.github.timeouts.connect',
      'expected a duration such as 500 (milliseconds), "250ms", "1.5s", "1m" or "1h30m", got "soon"',
    ],
    ['timeouts: { connect: 0 }', 'upstreams.github.timeouts.connect', 'expected a positive duration, got 0'],
    ['timeouts: { connect: 0s }', 'upstreams.github.timeouts.connect', 'expected a positive duration, got "0s"'],
    ['retry: { baseDelay: -5 }', 'upstreams.github.retry.baseDelay', 'expected a non-negative duration, got -5'],
    ['retry: { maxDelay: 1e3ms }', 'upstreams.github.retry.maxDelay', 'got "1e3ms"'],
    [
      'limits: [{ algorithm: fixed-window, limit: 5, window: 5 minutes }]',
      'upstreams.github.limits[0].window',
      'got "5 minutes"',
    ],
    // limit policies
    [
      'limits: [{ algorithm: token_bucket, limit: 5, window: 1s }]',
      'upstreams.github.limits[0].algorithm',
      'got "token_bucket" (did you mean "token-bucket"?)',
    ],
    [
      'limits: [{ limit: 5, window: 1s }]',
      'upstreams.github.limits[0].algorithm',
      'missing (expected one of "fixed-window"',
    ],
    [
      'limits: [{ algorithm: fixed-window, limit: 5, window: 1s, burst: 9 }]',
      'upstreams.github.limits[0].burst',
      'not an option of fixed-window',
    ],
    [
      'limits: [{ algorithm: concurrency, limit: 5, window: 1s }]',
      'upstreams.github.limits[0].window',
      'not an option of concurrency',
    ],
    [
      'limits: [{ algorithm: token-bucket, limit: 0, window: 1s }]',
      'upstreams.github.limits[0].limit',
      'expected a positive integer, got 0',
    ],
    [
      'limits: [{ algorithm: token-bucket, window: 1s }]',
      'upstreams.github.limits[0].limit',
      'missing (expected a positive integer)',
    ],
    [
      'limits: [{ algorithm: token-bucket, limit: 5, window: 1s, unit: token }]',
      'upstreams.github.limits[0].unit',
      '(did you mean "tokens"?)',
    ],
    // URLs
    [
      'endpoints: [{ url: "ftp://files.example.com" }]',
      'upstreams.github.endpoints[0].url',
      'expected an http:// or https:// URL, got "ftp://files.example.com"',
    ],
    ['endpoints: [{ url: "not a url" }]', 'upstreams.github.endpoints[0].url', 'expected an absolute http(s) URL'],
    [
      'endpoints: [{ url: "https://api.example.com/?key=1" }]',
      'upstreams.github.endpoints[0].url',
      'cannot carry a query',
    ],
    // unknown keys, with suggestions
    ['retyr: { attempts: 3 }', 'upstreams.github.retyr', 'unknown option (did you mean "retry"?)'],
    ['retry: { base_delay: 1s }', 'upstreams.github.retry.base_delay', 'unknown option (did you mean "baseDelay"?)'],
    [
      'timeouts: { read: 1s }',
      'upstreams.github.timeouts.read',
      'unknown option (expected one of "connect", "headers", "body")',
    ],
    [
      'routes: [{ match: "/x", buckt: x }]',
      'upstreams.github.routes[0].buckt',
      'unknown option (did you mean "bucket"?)',
    ],
    // enums
    [
      'preset: githb',
      'upstreams.github.preset',
      'expected one of "github", "openai", "anthropic", "discord", "shopify", "stripe", "slack", "twilio", got "githb" (did you mean "github"?)',
    ],
    [
      'preset: nosuch',
      'upstreams.github.preset',
      'expected one of "github", "openai", "anthropic", "discord", "shopify", "stripe", "slack", "twilio", got "nosuch"',
    ],
    ['dialect: gitlab', 'upstreams.github.dialect', 'got "gitlab" (did you mean "github"?)'],
    ['dialect: 7', 'upstreams.github.dialect', 'expected one of "auto", "ietf", "github"'],
    ['balance: random', 'upstreams.github.balance', 'expected one of "weighted", "least-loaded", got "random"'],
    // routes and templates
    [
      'routes: [{ match: "GET search", bucket: s }]',
      'upstreams.github.routes[0].match',
      'expected a route such as "GET /search/*"',
    ],
    [
      'routes: [{ match: "/a/**/b", bucket: s }]',
      'upstreams.github.routes[0].match',
      '"**" may only end a route pattern',
    ],
    ['majorParameters: ["/channels"]', 'upstreams.github.majorParameters[0]', 'with a placeholder'],
    [
      'majorParameters: ["/channels/{id"]',
      'upstreams.github.majorParameters[0]',
      'a placeholder must fill a whole segment',
    ],
    // headers
    [
      'headers: { set: { "bad header": x } }',
      'upstreams.github.headers.set["bad header"]',
      'expected an HTTP header name such as "x-api-key", got "bad header"',
    ],
    ['headers: { remove: [cookie, 5] }', 'upstreams.github.headers.remove[1]', 'expected an HTTP header name'],
    ['headers: { set: { host: example.com } }', 'upstreams.github.headers.set.host', 'belongs to the connection'],
    [
      'headers: { default: { x-a: "1", X-A: "2" } }',
      'upstreams.github.headers.default.X-A',
      'the same header as "x-a"',
    ],
    // relations
    [
      'endpoints: [{ url: "https://a.example.com" }]',
      'upstreams.github.endpoints',
      'set either url or endpoints, not both',
    ],
    ['balance: weighted', 'upstreams.github.balance', 'applies only with endpoints'],
    ['routes: [{ match: "/x" }]', 'upstreams.github.routes[0]', 'set bucket or cost'],
    [
      'routes: [{ match: "GET /x", bucket: a }, { match: "get /x", bucket: b }]',
      'upstreams.github.routes[1].match',
      'never used: routes[0] matches the same calls first',
    ],
    [
      'limits: [{ algorithm: fixed-window, limit: 5, window: 1s, bucket: serch }]\nroutes: [{ match: "/search/*", bucket: search }]',
      'upstreams.github.limits[0].bucket',
      'no route sends calls to bucket "serch" (did you mean "search"?)',
    ],
    [
      'limits: [{ name: a, algorithm: fixed-window, limit: 5, window: 1s }, { name: a, algorithm: fixed-window, limit: 9, window: 1m }]',
      'upstreams.github.limits[1].name',
      'already used by limits[0]',
    ],
    [
      'limits: [{ algorithm: concurrency, limit: 5, unit: requests }]',
      'upstreams.github.limits[0].unit',
      'a concurrency limit counts calls in flight',
    ],
    [
      'retry: { baseDelay: 2s, maxDelay: 1s }',
      'upstreams.github.retry.baseDelay',
      'is longer than retry.maxDelay ("1s")',
    ],
    [
      'credentials: { default: { header: x-key, query: key, value: { env: K } } }',
      'upstreams.github.credentials.default.query',
      'set either header or query, not both',
    ],
    [
      'credentials: { default: { query: key, prefix: "Bearer ", value: { env: K } } }',
      'upstreams.github.credentials.default.prefix',
      'applies only to a header',
    ],
    [
      'credentials: { default: { username: ac1, header: x, value: { env: K } } }',
      'upstreams.github.credentials.default.header',
      'not used with username',
    ],
    [
      'credentials: { team-x: { value: { env: K } } }',
      'upstreams.github.credentials.team-x',
      'no tenant "team-x" (no tenants are defined): name this credential "default"',
    ],
    [
      'credentials: { Team: { value: { env: K } } }',
      'upstreams.github.credentials.Team',
      'got "Team" (did you mean "team"?)',
    ],
  ])('%s → %s', (lines, path, message) => {
    const messages = upstreamProblems(lines)
      .filter((problem) => problem.path === path)
      .map((problem) => problem.message);
    expect(
      messages.some((text) => text.includes(message)),
      `${message} among ${JSON.stringify(messages)}`,
    ).toBe(true);
  });
});

describe('secrets must be references', () => {
  it.each([
    ['credentials: { default: { value: ghp_abcdefghijklmnop } }', 'upstreams.github.credentials.default.value'],
    ['credentials: { default: { value: 12345678 } }', 'upstreams.github.credentials.default.value'],
  ])('a plain value is refused without being echoed: %s', (lines, path) => {
    const problem = problemAt(upstreamProblems(lines), path);
    expect(problem.message).toBe(
      'a secret must not be written into the configuration: use a reference, { env: NAME } (an environment variable) or { file: PATH } (a file holding the secret)',
    );
    expect(JSON.stringify(upstreamProblems(lines))).not.toMatch(/ghp_abcdefghijklmnop|12345678/);
  });

  it.each([
    ['{ env: A, file: b }', 'expected either env or file, not both'],
    [
      '{ envv: GITHUB_TOKEN }',
      'expected a secret reference, { env: NAME } (an environment variable) or { file: PATH } (a file holding the secret) (did you mean "env"?)',
    ],
    ['{ env: "1BAD" }', 'expected the name of an environment variable'],
    ['{ file: "" }', 'expected the path of a file holding the secret'],
  ])('a malformed reference %s is explained', (reference, message) => {
    const problems = upstreamProblems(`credentials: { default: { value: ${reference} } }`);
    const messages = problems.filter((problem) =>
      problem.path.startsWith('upstreams.github.credentials.default.value'),
    );
    expect(messages.map((problem) => problem.message).join('\n')).toContain(message);
  });

  it('gateway keys and the admin token are references too, never echoed', () => {
    const problems = topProblems('tenants: { team-a: { keys: "k-123-secret" } }\nadmin: { token: s3cr3t-token }');
    expect(problemAt(problems, 'tenants.team-a.keys').message).toContain(
      'a key must not be written into the configuration',
    );
    expect(problemAt(problems, 'admin.token').message).toContain('a secret must not be written into the configuration');
    expect(JSON.stringify(problems)).not.toMatch(/k-123-secret|s3cr3t-token/);
  });

  it('credential headers under headers.set are refused: they would put a secret in the file', () => {
    const problems = upstreamProblems('headers: { set: { Authorization: "Bearer ghp_zzz" } }');
    expect(problemAt(problems, 'upstreams.github.headers.set.Authorization').message).toBe(
      'carries a credential: give it under credentials, as { env: NAME } or { file: PATH }',
    );
    expect(JSON.stringify(problems)).not.toContain('ghp_zzz');
  });

  it('a URL with credentials in it is refused and shown redacted', () => {
    const problems = upstreamProblems('endpoints: [{ url: "https://me:hunter2@api.example.com" }]');
    const problem = problemAt(problems, 'upstreams.github.endpoints[0].url');
    expect(problem.message).toContain('must not contain credentials (https://***@api.example.com)');
    expect(JSON.stringify(problems)).not.toContain('hunter2');
  });
});

describe('bad top-level options are reported at their path', () => {
  it.each([
    [
      'listen: { port: 70000 }',
      'listen.port',
      'expected a port number from 0 to 65535 (0 picks a free port), got 70000',
    ],
    ['listen: { prot: 80 }', 'listen.prot', 'unknown option (did you mean "port"?)'],
    ['admin: { port: 8080 }', 'admin.port', 'the same port as listen.port (8080)'],
    ['store: redis', 'store', 'expected "memory" or { redis: { url: redis://127.0.0.1:6379 } }, got "redis"'],
    ['store: { redis: { url: "http://cache:6379" } }', 'store.redis.url', 'expected a redis:// or rediss:// URL'],
    [
      'store: { redis: { url: "redis://:pw@cache:6379" } }',
      'store.redis.url',
      'must not contain a password (redis://***@cache:6379): use store.redis.password',
    ],
    ['store: { redis: {} }', 'store.redis.url', 'missing (expected a Redis URL'],
    ['store: { memory: true }', 'store', 'expected "memory" or { redis:'],
    ['callerKeyHeader: "x key"', 'callerKeyHeader', 'expected an HTTP header name'],
    ['forwardedHeaders: yes', 'forwardedHeaders', 'expected true or false, got "yes"'],
    ['shutdown: { grace: forever }', 'shutdown.grace', 'got "forever"'],
    [
      'logging: { level: verbose }',
      'logging.level',
      'expected one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "verbose"',
    ],
    ['tenants: { Team-A: { keys: [{ env: A }] } }', 'tenants.Team-A', 'got "Team-A" (did you mean "team-a"?)'],
    ['tenants: { a: { keys: [] } }', 'tenants.a.keys', 'expected at least one key'],
    [
      'tenants: { a: { keys: [{ env: K }] }, b: { keys: [{ env: K }] } }',
      'tenants.b.keys[0]',
      'the same key as tenants.a.keys[0]',
    ],
    ['tenants: { default: { keys: [{ env: K }] } }', 'tenants.default', '"default" is reserved'],
    ['inbound: { headers: draft-11 }', 'inbound.headers', '(did you mean "draft-10"?)'],
    [
      'inbound: { rules: [{ by: keys, limits: [{ algorithm: fixed-window, limit: 1, window: 1s }] }] }',
      'inbound.rules[0].by',
      '(did you mean "key"?)',
    ],
    ['inbound: { rules: [{ by: key }] }', 'inbound.rules[0].limits', 'a rule needs limits, plans, or both'],
    [
      'inbound: { rules: [{ upstreams: [githb], limits: [{ algorithm: fixed-window, limit: 1, window: 1s }] }] }',
      'inbound.rules[0].upstreams[0]',
      'no upstream "githb" (did you mean "github"?)',
    ],
    [
      'inbound: { rules: [{ by: tenant, limits: [{ algorithm: fixed-window, limit: 1, window: 1s }] }] }',
      'inbound.rules[0].by',
      'by: tenant needs tenants',
    ],
    [
      'tenants: { a: { keys: [{ env: K }], plan: pro } }\ninbound: { rules: [{ plans: { prp: [{ algorithm: fixed-window, limit: 1, window: 1s }] } }] }',
      'inbound.rules[0].plans.prp',
      'no tenant has plan "prp" (did you mean "pro"?)',
    ],
    [
      'inbound: { rules: [{ name: a, limits: [{ algorithm: fixed-window, limit: 1, window: 1s }] }, { name: a, limits: [{ algorithm: fixed-window, limit: 1, window: 1s }] }] }',
      'inbound.rules[1].name',
      'already used by inbound.rules[0]',
    ],
    [
      'inbound: { rules: [{ name: Per-Key, limits: [{ algorithm: fixed-window, limit: 1, window: 1s }] }] }',
      'inbound.rules[0].name',
      'starting with a letter',
    ],
    ['upstream: {}', 'upstream', 'unknown option (did you mean "upstreams"?)'],
  ])('%s → %s', (lines, path, message) => {
    expect(problemAt(topProblems(lines), path).message).toContain(message);
  });

  it('an upstream name must be a URL path segment', () => {
    const problems = problemsOf(() => parseConfig('upstreams:\n  GitHub: { url: https://api.github.com }\n'));
    expect(problemAt(problems, 'upstreams.GitHub').message).toContain('(did you mean "github"?)');
  });

  it('an upstream needs url or endpoints, unless its preset has a url', () => {
    const problems = problemsOf(() =>
      parseConfig('upstreams:\n  a: { dialect: github }\n  shop: { preset: shopify }\n'),
    );
    expect(problemAt(problems, 'upstreams.a.url').message).toBe(
      "missing: set url (the upstream's base URL) or endpoints",
    );
    expect(problemAt(problems, 'upstreams.shop.url').message).toContain('(preset "shopify" has no URL of its own)');
    expect(() => parseConfig('upstreams:\n  gh: { preset: github }\n')).not.toThrow();
  });

  it('upstreams are required, and at least one', () => {
    expect(
      problemAt(
        problemsOf(() => parseConfig('listen: { port: 1 }\n')),
        'upstreams',
      ).message,
    ).toBe('missing (expected a mapping of upstreams by name)');
    expect(
      problemAt(
        problemsOf(() => parseConfig('upstreams: {}\n')),
        'upstreams',
      ).message,
    ).toContain('define at least one upstream');
    expect(
      problemAt(
        problemsOf(() => parseConfig('')),
        '(top level)',
      ).message,
    ).toContain('the configuration is empty');
    expect(
      problemAt(
        problemsOf(() => parseConfig('- a\n- b\n')),
        '(top level)',
      ).message,
    ).toBe('expected a mapping of options with at least upstreams, got a list');
  });
});

describe('every problem is listed, located and in file order', () => {
  const text = [
    'listen: { port: -1 }', // 1
    'upstreams:', // 2
    '  github:', // 3
    '    url: https://api.github.com', // 4
    '    retyr: { attempts: 3 }', // 5
    '    retry:', // 6
    '      attempts: 0', // 7
    '      jitter: ful', // 8
    '    credentials:', // 9
    '      nobody: { value: { env: T } }', // 10
    '  broken:', // 11
    '    dialect: gihub', // 12
  ].join('\n');

  it('reports all of them with line and column', () => {
    const error = (() => {
      try {
        parseConfig(text, { source: 'sluice.yaml' });
      } catch (caught) {
        return caught as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe('ERR_SLUICE_CONFIG');
    expect(error.problems.map((problem) => [problem.path, problem.line, problem.column])).toEqual([
      ['listen.port', 1, 17],
      ['upstreams.github.retyr', 5, 5],
      ['upstreams.github.retry.attempts', 7, 17],
      ['upstreams.github.retry.jitter', 8, 15],
      ['upstreams.github.credentials.nobody', 10, 7],
      ['upstreams.broken.url', 11, 3],
      ['upstreams.broken.dialect', 12, 14],
    ]);
    expect(error.message).toContain('Invalid configuration in sluice.yaml (7 problems):');
    expect(error.message).toContain(
      '  upstreams.github.retry.attempts: expected a positive integer, got 0 (line 7, column 17)',
    );
  });
});
