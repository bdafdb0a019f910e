import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/create-client.js';
import { createCallLogger } from '../../src/observability/call-logger.js';
import { CallFailedError } from '../../src/pipeline/errors.js';
import { type CallEvent, createEventBus } from '../../src/pipeline/events.js';
import { TransportError } from '../../src/pipeline/transport.js';
import type { RateLimitSignal } from '../../src/signals/types.js';
import { startSimulator } from '../../src/simulator/server.js';
import { createManualClock } from '../../src/time.js';
import { drive } from '../support/drive.js';
import { startLimitedUpstream } from '../support/limited-upstream.js';

const T0 = 1_700_000_000_000;
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (opened.length) await opened.pop()?.close();
});

/** A real pino logger writing JSON lines to memory. */
function memoryLogger(level = 'info') {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger = pino({ level }, stream);
  return {
    logger,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

// Credentials a caller might send, in every place a call can carry them.
const SECRETS = {
  authorization: 'Bearer tok-authorization-6f1c2e',
  apiKeyHeader: 'hdr-api-key-91aa07',
  apiKeyQuery: 'qry-api-key-3c5d11',
  accessToken: 'qry-access-token-77e0b2',
  signature: 'qry-signature-0d9e4f',
  configured: 'qry-configured-name-5a6b7c',
  pathToken: 'Zq8xW3kP0vN6tR2yL5bM9cD1fG4hJ7sA',
  body: 'body-password-e8f9a0',
  known: 'hunter2hunter2hunter2',
};

describe('createCallLogger on a real pipeline', () => {
  it('writes one line per attempt with what happened, and no credential sent anywhere in the call', async () => {
    const clock = createManualClock(T0);
    const simulator = await startSimulator({ profile: 'github', limits: { limit: 100, window: '60s' }, clock });
    const client = createClient({ baseUrl: simulator.url, name: 'github', dialect: 'github', clock, tenant: 'acme' });
    opened.push(simulator, client);
    const { logger, text, lines } = memoryLogger();
    createCallLogger(logger, { redactQueryParameters: ['hush'], secrets: () => [SECRETS.known] }).watch(
      client.pipeline,
    );

    const query = [
      `api_key=${SECRETS.apiKeyQuery}`,
      `access_token=${encodeURIComponent(SECRETS.accessToken)}`,
      `X-Amz-Signature=${SECRETS.signature}`,
      `HUSH=${SECRETS.configured}`,
      'page=2',
    ].join('&');
    await drive(
      clock,
      client.fetch(`/repos/sluice/issues?${query}`, {
        headers: { authorization: SECRETS.authorization, 'x-api-key': SECRETS.apiKeyHeader },
      }),
    );
    await drive(
      clock,
      client.fetch(`/webhooks/123/${SECRETS.pathToken}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ password: SECRETS.body }),
      }),
    );
    await drive(clock, client.fetch(`/users/${SECRETS.known}/repos`));

    const output = text();
    for (const [where, secret] of Object.entries(SECRETS)) {
      expect(output, `the ${where} credential leaked`).not.toContain(secret);
      expect(output, `the ${where} credential leaked URL-encoded`).not.toContain(encodeURIComponent(secret));
    }
    // Nor any header name: headers are never logged.
    expect(output).not.toMatch(/authorization|x-api-key/i);

    const logged = lines();
    expect(logged).toHaveLength(3);
    expect(logged[0]).toMatchObject({
      level: 30,
      msg: 'upstream attempt',
      upstream: 'github',
      tenant: 'acme',
      method: 'GET',
      path: '/repos/sluice/issues?api_key=***&access_token=***&X-Amz-Signature=***&HUSH=***&page=2',
      status: 200,
      outcome: 'ok',
      attempt: 1,
      waitedMs: 0,
    });
    expect(typeof logged[0]?.durationMs).toBe('number');
    expect(logged[1]).toMatchObject({ method: 'POST', path: '/webhooks/123/***' });
    expect(logged[2]).toMatchObject({ path: '/users/***/repos' });
  });

  it('writes a line per attempt of a retried call, and one for a call Sluice refused itself', async () => {
    const clock = createManualClock(T0);
    const upstream = await startLimitedUpstream({ clock, limit: 1, windowMs: 3_600_000 });
    const client = createClient({ baseUrl: upstream.url, name: 'api', dialect: 'github', clock });
    opened.push(upstream, client);
    const { logger, lines } = memoryLogger();
    createCallLogger(logger).watch(client.pipeline);

    upstream.script.push({ status: 429, headers: { 'retry-after': '1' }, body: '{}' });
    expect((await drive(clock, client.fetch('/items?page=1'))).status).toBe(200);
    const refused = await drive(clock, client.fetch('/items?page=2', { sluice: { deadlineMs: 2000 } })).catch(
      (error) => error,
    );
    expect(refused).toBeInstanceOf(CallFailedError);

    const logged = lines();
    expect(logged.map((line) => [line.msg, line.status, line.attempt, line.level])).toEqual([
      ['upstream attempt', 429, 1, 40],
      ['upstream attempt', 200, 2, 30],
      ['call answered by sluice', 429, 1, 40],
    ]);
    expect(logged[2]).toMatchObject({ outcome: 'rejected-locally', reason: 'deadline', path: '/items?page=2' });
    expect(logged[2]).not.toHaveProperty('errorCode');
  });

  it('stops when told, and writes nothing below the logger’s level', async () => {
    const clock = createManualClock(T0);
    const simulator = await startSimulator({ profile: 'github', limits: { limit: 100, window: '60s' }, clock });
    const client = createClient({ baseUrl: simulator.url, name: 'github', dialect: 'github', clock });
    opened.push(simulator, client);
    const quiet = memoryLogger('warn');
    createCallLogger(quiet.logger).watch(client.pipeline);
    const loud = memoryLogger();
    const stop = createCallLogger(loud.logger).watch(client.pipeline);
    await drive(clock, client.fetch('/a'));
    stop();
    await drive(clock, client.fetch('/b'));
    expect(quiet.lines()).toEqual([]);
    expect(loud.lines().map((line) => line.path)).toEqual(['/a']);
  });

  // KNOWN GAP (pipeline, not this module): observe(attempt) emits before the pacer parses the reply's signal, so
  // attempt events of a real pipeline carry none yet. When the pipeline attaches it, this test fails: drop `.fails`.
  it('carries the parsed signal on the attempt lines of a real pipeline', async () => {
    const clock = createManualClock(T0);
    const simulator = await startSimulator({ profile: 'github', limits: { limit: 100, window: '60s' }, clock });
    const client = createClient({ baseUrl: simulator.url, name: 'github', dialect: 'github', clock });
    opened.push(simulator, client);
    const { logger, lines } = memoryLogger();
    createCallLogger(logger).watch(client.pipeline);
    await drive(clock, client.fetch('/a'));
    expect(lines()[0]?.signal).toMatchObject({ dialect: 'github', limit: 100, remaining: 99, resource: 'core' });
  });
});

function attemptEvent(overrides: Partial<CallEvent>): CallEvent {
  return {
    kind: 'attempt',
    upstream: 'openai',
    tenant: 'acme',
    method: 'POST',
    path: '/v1/chat/completions',
    status: 200,
    outcome: 'ok',
    durationMs: 420,
    waitedMs: 15,
    attempts: 1,
    ...overrides,
  };
}

const LIMITED: RateLimitSignal = {
  dialect: 'openai',
  limited: true,
  retryable: true,
  retryAfterMs: 6000,
  limit: 500,
  remaining: 0,
  resetAtEpochMs: T0 + 6000,
  resetAfterMs: 6000,
  limits: [
    {
      name: 'requests',
      unit: 'requests',
      limit: 500,
      remaining: 0,
      resetAtEpochMs: T0 + 6000,
      resetAfterMs: 6000,
      windowMs: null,
    },
    {
      name: 'tokens',
      unit: 'tokens',
      limit: 30000,
      remaining: 29000,
      resetAtEpochMs: null,
      resetAfterMs: 2000,
      windowMs: 60000,
    },
  ],
  details: { reason: 'echoes the body: sk-secret-in-body' },
};

describe('createCallLogger lines', () => {
  it('summarizes the signal: primary limit flat, every limit as one short string, no provider details', () => {
    const bus = createEventBus();
    const { logger, lines, text } = memoryLogger();
    createCallLogger(logger).watch({ events: bus });
    bus.emit(attemptEvent({ status: 429, signal: LIMITED }));
    expect(lines()).toEqual([
      expect.objectContaining({
        level: 40,
        status: 429,
        signal: {
          dialect: 'openai',
          limited: true,
          retryable: true,
          retryAfterMs: 6000,
          limit: 500,
          remaining: 0,
          resetAfterMs: 6000,
          limits: ['requests 0/500 reset 6000ms', 'tokens 29000/30000 reset 2000ms window 60000ms'],
        },
      }),
    ]);
    expect(text()).not.toContain('sk-secret-in-body');
  });

  it('keeps GitHub’s resource and Discord’s bucket and scope', () => {
    const bus = createEventBus();
    const { logger, lines } = memoryLogger();
    createCallLogger(logger).watch({ events: bus });
    const base = { ...LIMITED, limited: false, limits: [] };
    bus.emit(attemptEvent({ signal: { ...base, dialect: 'github', resource: 'search' } }));
    bus.emit(attemptEvent({ signal: { ...base, dialect: 'discord', bucket: 'abcd1234', scope: 'shared' } }));
    const [github, discord] = lines();
    expect(github?.signal).toMatchObject({ resource: 'search' });
    expect(github?.signal).not.toHaveProperty('limits');
    expect(discord?.signal).toMatchObject({ bucket: 'abcd1234', scope: 'shared' });
    expect(github?.level).toBe(30);
  });

  it('names a failed exchange by a stable code, never by its message', () => {
    const bus = createEventBus();
    const { logger, lines, text } = memoryLogger();
    createCallLogger(logger).watch({ events: bus });
    const cause = new Error('connect ECONNREFUSED for https://api.example.com/?key=abc-secret-in-message');
    bus.emit(attemptEvent({ status: 502, outcome: 'error', error: new TransportError('connect-refused', cause) }));
    bus.emit(
      attemptEvent({ status: 502, outcome: 'error', error: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }),
    );
    bus.emit(attemptEvent({ status: 502, outcome: 'error', error: { code: 'not a code: key=abc-secret' } }));
    expect(lines().map((line) => line.errorCode)).toEqual(['connect-refused', 'ECONNRESET', undefined]);
    expect(lines().every((line) => line.level === 40)).toBe(true);
    expect(text()).not.toContain('abc-secret');
  });

  it('logs an aborted call at info (the caller gave up), other refusals at warn, and ignores answered calls', () => {
    const bus = createEventBus();
    const { logger, lines } = memoryLogger();
    createCallLogger(logger).watch({ events: bus });
    bus.emit(attemptEvent({ kind: 'call', status: 200 }));
    bus.emit(attemptEvent({ kind: 'call', status: 499, outcome: 'rejected-locally', reason: 'aborted' }));
    bus.emit(attemptEvent({ kind: 'call', status: 503, outcome: 'rejected-locally', reason: 'circuit-open' }));
    bus.emit(attemptEvent({ kind: 'call', status: 502, outcome: 'error', reason: 'upstream-unreachable' }));
    expect(lines().map((line) => [line.reason, line.level])).toEqual([
      ['aborted', 30],
      ['circuit-open', 40],
    ]);
  });

  it('listens once to a bus that several pipelines share (the gateway’s), until the last stops', () => {
    const bus = createEventBus();
    const { logger, lines } = memoryLogger();
    const callLogger = createCallLogger(logger);
    const stopGithub = callLogger.watch({ events: bus });
    const stopOpenai = callLogger.watch({ events: bus });
    bus.emit(attemptEvent({ path: '/one' }));
    stopGithub();
    stopGithub();
    bus.emit(attemptEvent({ path: '/two' }));
    stopOpenai();
    bus.emit(attemptEvent({ path: '/three' }));
    expect(lines().map((line) => line.path)).toEqual(['/one', '/two']);
  });

  it('refuses what is not a logger or a list', () => {
    expect(() => createCallLogger({} as never)).toThrow(/logger: expected a pino logger/);
    const { logger } = memoryLogger();
    expect(() => createCallLogger(logger, { redactQueryParameters: 'key' as never })).toThrow(/redactQueryParameters/);
    expect(() => createCallLogger(logger, { secrets: ['x'] as never })).toThrow(/secrets: expected a function/);
    expect(() => createCallLogger(logger).watch({} as never)).toThrow(/pipeline/);
  });
});
