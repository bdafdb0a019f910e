import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseRoutePattern } from '../../src/config/routes.js';
import { CallFailedError } from '../../src/pipeline/errors.js';
import { createPrepareStage } from '../../src/pipeline/prepare.js';
import { createRetryStage } from '../../src/pipeline/retry.js';
import type { Call, Reply } from '../../src/pipeline/stage.js';
import { TransportError } from '../../src/pipeline/transport.js';
import { createRetryBudget } from '../../src/retry/budget.js';
import { createRetryPolicy } from '../../src/retry/policy.js';
import { parseRateLimit } from '../../src/signals/parse.js';
import { createManualClock, type ManualClock } from '../../src/time.js';

const T0 = 1_700_000_000_000;

function makeCall(overrides: Partial<Call> = {}): Call {
  return {
    upstream: 'api',
    method: 'GET',
    path: '/things',
    headers: {},
    body: null,
    tenant: undefined,
    priority: 0,
    deadlineAtEpochMs: undefined,
    signal: undefined,
    cost: {},
    notes: { waitedMs: 0, attempts: 0 },
    ...overrides,
  };
}

function reply(status: number, headers: Record<string, string> = {}): Reply {
  const answer: Reply = { status, headers, body: Readable.from([Buffer.from('x')]) };
  answer.signal = parseRateLimit({ status, headers });
  return answer;
}

function retryStage(clock: ManualClock, options: { attempts?: number; ratio?: number; idempotencyKey?: boolean } = {}) {
  return createRetryStage({
    upstream: 'api',
    policy: createRetryPolicy({ attempts: options.attempts ?? 3, baseDelay: 100, random: () => 0.5 }),
    budget: createRetryBudget({ ratio: options.ratio ?? 0.1, minRetriesPerSecond: options.ratio === 0 ? 0 : 1 }, clock),
    scheduler: clock,
    idempotencyKey: options.idempotencyKey,
  });
}

async function run(clock: ManualClock, promise: Promise<Reply>, stepMs = 50): Promise<Reply> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let step = 0; !settled && step < 10_000; step++) await clock.advanceAsync(stepMs);
  return promise;
}

describe('the retry stage', () => {
  it('retries a 429 after the stated Retry-After, for any method', async () => {
    const clock = createManualClock(T0);
    const stage = retryStage(clock);
    const sentAt: number[] = [];
    const answers = [reply(429, { 'retry-after': '2' }), reply(200)];
    const call = makeCall({ method: 'POST', body: { kind: 'bytes', bytes: Buffer.from('{}') } });
    const answer = await run(
      clock,
      stage(call, async () => {
        sentAt.push(clock.now());
        return answers.shift() as Reply;
      }),
    );
    expect(answer.status).toBe(200);
    expect(call.notes.attempts).toBe(2);
    expect((sentAt[1] as number) - (sentAt[0] as number)).toBeGreaterThanOrEqual(2000);
  });

  it('retries a GET after a 500 but not a POST without an Idempotency-Key', async () => {
    const clock = createManualClock(T0);
    const stage = retryStage(clock);
    let sends = 0;
    const failing = async () => {
      sends++;
      return reply(500);
    };
    expect((await run(clock, stage(makeCall({ method: 'GET' }), failing))).status).toBe(500);
    expect(sends).toBe(3);
    sends = 0;
    expect((await run(clock, stage(makeCall({ method: 'POST' }), failing))).status).toBe(500);
    expect(sends).toBe(1);
    sends = 0;
    await run(clock, stage(makeCall({ method: 'POST', headers: { 'idempotency-key': 'k' } }), failing));
    expect(sends).toBe(3);
  });

  it('adds one Idempotency-Key to POSTs when asked, kept across attempts', async () => {
    const clock = createManualClock(T0);
    const stage = retryStage(clock, { idempotencyKey: true });
    const keys: string[] = [];
    const answers = [reply(502), reply(200)];
    await run(
      clock,
      stage(makeCall({ method: 'POST' }), async (call) => {
        keys.push(call.headers['idempotency-key'] as string);
        return answers.shift() as Reply;
      }),
    );
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
  });

  it('stops retrying when the retry budget is spent, so an outage cannot turn into a storm', async () => {
    const clock = createManualClock(T0);
    const stage = retryStage(clock, { ratio: 0 });
    let sends = 0;
    const answer = await run(
      clock,
      stage(makeCall(), async () => {
        sends++;
        return reply(503);
      }),
    );
    expect(answer.status).toBe(503);
    expect(sends).toBe(1);
  });

  it('retries a refused connection and reports an unreachable upstream once attempts run out', async () => {
    const clock = createManualClock(T0);
    const stage = retryStage(clock);
    let sends = 0;
    const error = await run(
      clock,
      stage(makeCall({ method: 'POST' }), async () => {
        sends++;
        throw new TransportError('connect-refused', new Error('ECONNREFUSED'));
      }),
    ).catch((caught) => caught);
    expect(sends).toBe(3);
    expect(error).toBeInstanceOf(CallFailedError);
    expect(error).toMatchObject({ reason: 'upstream-unreachable', status: 502 });
  });

  it('does not send a streamed body twice', async () => {
    const clock = createManualClock(T0);
    const stage = retryStage(clock);
    let sends = 0;
    const call = makeCall({ method: 'PUT', body: { kind: 'stream', stream: Readable.from(['big']) } });
    const answer = await run(
      clock,
      stage(call, async () => {
        sends++;
        return reply(503);
      }),
    );
    expect(answer.status).toBe(503);
    expect(sends).toBe(1);
  });

  it('passes local rejections through untouched', async () => {
    const clock = createManualClock(T0);
    const stage = retryStage(clock);
    const local = new CallFailedError('queue-full', 'api', 'full', { retryAfterMs: 500 });
    await expect(
      stage(makeCall(), async () => {
        throw local;
      }),
    ).rejects.toBe(local);
  });
});

describe('the prepare stage', () => {
  const route = (match: string, cost: Record<string, number>) => ({
    match,
    ...parseRoutePattern(match),
    bucket: null,
    cost,
  });

  it('applies the route’s cost, the configured headers and the tenant’s own credential', async () => {
    const stage = createPrepareStage({
      upstream: 'llm',
      routes: [route('POST /v1/chat/completions', { tokens: 1000 })],
      headers: { set: { accept: 'application/json' }, default: { 'x-version': '1' }, remove: ['cookie'] },
      userAgent: 'acme/1.0',
      credentials: new Map([
        ['team-a', { placement: 'header' as const, header: 'authorization', value: 'Bearer a' }],
        ['default', { placement: 'query' as const, query: 'key', value: 'shared' }],
      ]),
    });
    let seen: Call | undefined;
    const capture = async (call: Call) => {
      seen = call;
      return reply(200);
    };
    await stage(
      makeCall({
        method: 'POST',
        path: '/v1/chat/completions',
        tenant: 'team-a',
        headers: { cookie: 'c', 'x-version': '2' },
      }),
      capture,
    );
    expect(seen?.cost).toEqual({ tokens: 1000 });
    expect(seen?.headers).toMatchObject({
      accept: 'application/json',
      'x-version': '2',
      'user-agent': 'acme/1.0',
      authorization: 'Bearer a',
    });
    expect(seen?.headers.cookie).toBeUndefined();
    expect(seen?.notes.credential).toBe('team-a');

    await stage(makeCall({ path: '/other?key=mine', tenant: 'team-b' }), capture);
    expect(seen?.path).toBe('/other?key=shared');
    expect(seen?.notes.credential).toBe('default');
  });

  it('refuses a tenant without a credential when there is no default one', async () => {
    const stage = createPrepareStage({
      upstream: 'api',
      credentials: new Map([
        ['team-a', { placement: 'header' as const, header: 'authorization', value: 'secret-value-123' }],
      ]),
    });
    const error = await stage(makeCall({ tenant: 'team-b' }), async () => reply(200)).catch((caught) => caught);
    expect(error).toMatchObject({ reason: 'no-credential', status: 403 });
    expect(error.message).not.toContain('secret-value-123');
  });
});
