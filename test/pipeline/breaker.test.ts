import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import {
  type BreakerOptions,
  type BreakerStateChange,
  createBreakerStage,
  resolveBreakerPolicy,
} from '../../src/pipeline/breaker.js';
import {
  type BreakerPolicy,
  initialBreakerState,
  rollWindow,
  settleCall,
  windowTotals,
} from '../../src/pipeline/breaker-core.js';
import { CallFailedError } from '../../src/pipeline/errors.js';
import type { Call, Next, Reply, ReplyHeaders } from '../../src/pipeline/stage.js';
import type { RateLimitSignal } from '../../src/signals/types.js';
import { createManualClock } from '../../src/time.js';

const START = 1_700_000_000_000;

function makeCall(overrides: Partial<Call> = {}): Call {
  return {
    upstream: 'api',
    method: 'GET',
    path: '/',
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

function signalOf(overrides: Partial<RateLimitSignal>): RateLimitSignal {
  return {
    dialect: 'generic',
    limited: false,
    retryable: null,
    retryAfterMs: null,
    limit: null,
    remaining: null,
    resetAtEpochMs: null,
    resetAfterMs: null,
    limits: [],
    ...overrides,
  };
}

/** A tiny upstream: answers each call with the status (and headers, signal) it is given. */
const answer =
  (status: number, headers: ReplyHeaders = {}, signal?: RateLimitSignal): Next =>
  async () => ({ status, headers, body: null, ...(signal ? { signal } : {}) });

const fail =
  (error: unknown): Next =>
  async () => {
    throw error;
  };

function setup(options: BreakerOptions = {}, readSignal?: (reply: Reply) => RateLimitSignal | null) {
  const clock = createManualClock(START);
  const changes: BreakerStateChange[] = [];
  const breaker = createBreakerStage(
    { onStateChange: (change) => changes.push(change), ...options },
    { scheduler: clock, upstream: 'api', ...(readSignal ? { readSignal } : {}) },
  );
  const send = (next: Next, call: Call = makeCall()) => breaker(call, next);
  /** Sends and swallows the outcome: for calls whose only purpose is to feed the breaker. */
  const feed = async (next: Next, times = 1) => {
    for (let index = 0; index < times; index++) await send(next).catch(() => undefined);
  };
  return { breaker, clock, changes, send, feed };
}

async function rejectionOf(promise: Promise<unknown>): Promise<CallFailedError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CallFailedError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('breaker: opening', () => {
  it('opens after consecutiveFailures failures in a row and then fails calls at once', async () => {
    const { breaker, clock, changes, send, feed } = setup();
    await feed(answer(500), 4);
    expect(breaker.state()).toBe('closed');
    await feed(answer(502));
    expect(breaker.state()).toBe('open');
    expect(changes).toEqual([{ upstream: 'api', from: 'closed', to: 'open', atEpochMs: START, openForMs: 10_000 }]);
    clock.advance(2500);
    let reached = false;
    const error = await rejectionOf(
      send(async () => {
        reached = true;
        return { status: 200, headers: {}, body: null };
      }),
    );
    expect(reached).toBe(false);
    expect(error.reason).toBe('circuit-open');
    expect(error.status).toBe(503);
    expect(error.retryAfterMs).toBe(7500);
    expect(error.message).toMatch(/circuit breaker for api is open/);
  });

  it('starts counting again after a success', async () => {
    const { breaker, feed } = setup();
    await feed(answer(503), 4);
    await feed(answer(200));
    await feed(answer(504), 4);
    expect(breaker.state()).toBe('closed');
    await feed(answer(504));
    expect(breaker.state()).toBe('open');
  });

  it('opens on the failure ratio over the window once minimumCalls were made', async () => {
    const { breaker, feed } = setup({ consecutiveFailures: 100, minimumCalls: 10, failureRatio: 0.5 });
    for (let index = 0; index < 4; index++) {
      await feed(answer(200));
      await feed(answer(500));
    }
    await feed(answer(200));
    // 4 failures of 9 calls: below the ratio, and below minimumCalls anyway.
    expect(breaker.state()).toBe('closed');
    await feed(answer(500));
    expect(breaker.state()).toBe('open');
  });

  it('forgets calls older than the window', async () => {
    const { breaker, clock, feed } = setup({ consecutiveFailures: 100, minimumCalls: 10, window: '10s' });
    await feed(answer(500), 6);
    clock.advance(10_000);
    await feed(answer(200), 3);
    await feed(answer(500));
    // Had the first six failures still counted: 7 of 10 calls failed, which would open the breaker.
    expect(breaker.state()).toBe('closed');
    await feed(answer(500), 6);
    expect(breaker.state()).toBe('open');
  });

  it('keeps a call in the window for at least nine tenths of it', () => {
    const policy: BreakerPolicy = resolveBreakerPolicy({ window: '10s' });
    let state = initialBreakerState(0, policy);
    state = settleCall(state, { generation: 0, outcome: 'failure' }, 999, policy);
    if (state.name !== 'closed') throw new Error('expected closed');
    expect(windowTotals(rollWindow(state.window, 9_999, policy))).toEqual({ calls: 1, failures: 1 });
    expect(windowTotals(rollWindow(state.window, 10_000, policy))).toEqual({ calls: 0, failures: 0 });
  });

  it.each([
    ['a thrown transport error', fail(new Error('ECONNRESET'))],
    ['an upstream timeout', fail(new CallFailedError('upstream-timeout', 'api', 'no answer in 30 s'))],
  ])('counts %s as a failure', async (_name, next) => {
    const { breaker, feed } = setup({ consecutiveFailures: 3 });
    await feed(next, 3);
    expect(breaker.state()).toBe('open');
  });
});

describe('breaker: rate-limit rejections are not failures', () => {
  it('never opens on 429s', async () => {
    const { breaker, feed } = setup({ consecutiveFailures: 2, minimumCalls: 2 });
    await feed(answer(429, { 'retry-after': '30' }), 50);
    expect(breaker.state()).toBe('closed');
  });

  it('never opens on a 503 whose signal says limited', async () => {
    const { breaker, feed } = setup({ consecutiveFailures: 2, minimumCalls: 2 });
    await feed(answer(503, {}, signalOf({ limited: true, retryAfterMs: 1000 })), 20);
    expect(breaker.state()).toBe('closed');
  });

  it('asks readSignal about a 5xx that carries no signal yet', async () => {
    const read: Reply[] = [];
    const readSignal = (reply: Reply) => {
      read.push(reply);
      return reply.headers['x-amz-error-code'] === 'SlowDown' ? signalOf({ dialect: 'aws', limited: true }) : null;
    };
    const { breaker, feed } = setup({ consecutiveFailures: 2 }, readSignal);
    await feed(answer(200), 3);
    expect(read).toEqual([]);
    await feed(answer(503, { 'x-amz-error-code': 'SlowDown' }), 10);
    expect(breaker.state()).toBe('closed');
    await feed(answer(503), 2);
    expect(breaker.state()).toBe('open');
  });

  it('treats a signal reader that throws as saying nothing', async () => {
    const { breaker, send, feed } = setup({ consecutiveFailures: 2 }, () => {
      throw new Error('reader bug');
    });
    expect((await send(answer(503, { 'retry-after': '30' }))).status).toBe(503);
    await feed(answer(503, { 'retry-after': '30' }));
    expect(breaker.state()).toBe('open');
  });

  it("does not count the caller's own deadline or abort", async () => {
    const { breaker, feed, send } = setup({ consecutiveFailures: 2 });
    await feed(fail(new CallFailedError('deadline', 'api', 'too late')), 5);
    await feed(fail(new CallFailedError('aborted', 'api', 'gone')), 5);
    const controller = new AbortController();
    controller.abort();
    for (let index = 0; index < 5; index++) {
      await send(
        fail(new DOMException('This operation was aborted', 'AbortError')),
        makeCall({ signal: controller.signal }),
      ).catch(() => undefined);
    }
    expect(breaker.state()).toBe('closed');
  });
});

describe('breaker: half-open', () => {
  it('half-opens on time, lets one probe through, and closes when it succeeds', async () => {
    const { breaker, clock, changes, send, feed } = setup();
    await feed(answer(500), 5);
    clock.advance(9_999);
    expect(breaker.state()).toBe('open');
    clock.advance(1);
    expect(breaker.state()).toBe('half-open');
    expect(changes.map((change) => `${change.from}>${change.to}@${change.atEpochMs - START}`)).toEqual([
      'closed>open@0',
      'open>half-open@10000',
    ]);
    let finishProbe: (reply: Reply) => void = () => {};
    const probe = send(
      () =>
        new Promise<Reply>((resolve) => {
          finishProbe = resolve;
        }),
    );
    const second = await rejectionOf(send(answer(200)));
    expect(second.reason).toBe('circuit-open');
    expect(second.retryAfterMs).toBe(1000);
    expect(second.message).toMatch(/probing/);
    finishProbe({ status: 200, headers: {}, body: null });
    await probe;
    expect(breaker.state()).toBe('closed');
    expect((await send(answer(201))).status).toBe(201);
    expect(changes.at(-1)).toMatchObject({ from: 'half-open', to: 'closed' });
  });

  it('re-opens when the probe fails', async () => {
    const { breaker, clock, feed, send } = setup({ openFor: '2s' });
    await feed(answer(500), 5);
    clock.advance(2000);
    await feed(answer(500));
    expect(breaker.state()).toBe('open');
    const error = await rejectionOf(send(answer(200)));
    expect(error.retryAfterMs).toBe(2000);
  });

  it('needs every probe to succeed when it lets several through', async () => {
    const { breaker, clock, feed } = setup({ halfOpenProbes: 2 });
    await feed(answer(500), 5);
    clock.advance(10_000);
    await feed(answer(200));
    expect(breaker.state()).toBe('half-open');
    await feed(answer(200));
    expect(breaker.state()).toBe('closed');
  });

  it('frees the place of a probe whose caller gave up', async () => {
    const { breaker, clock, feed } = setup();
    await feed(answer(500), 5);
    clock.advance(10_000);
    await feed(fail(new CallFailedError('aborted', 'api', 'gone')));
    expect(breaker.state()).toBe('half-open');
    await feed(answer(200));
    expect(breaker.state()).toBe('closed');
  });

  it('ignores calls that started before the breaker opened when they end later', async () => {
    const { breaker, clock, send, feed } = setup();
    let finishSlow: (error: unknown) => void = () => {};
    const slow = send(
      () =>
        new Promise<Reply>((_resolve, reject) => {
          finishSlow = reject;
        }),
    ).catch(() => undefined);
    await feed(answer(500), 5);
    clock.advance(10_000);
    let finishProbe: (reply: Reply) => void = () => {};
    const probe = send(
      () =>
        new Promise<Reply>((resolve) => {
          finishProbe = resolve;
        }),
    );
    finishSlow(new Error('ECONNRESET'));
    await slow;
    expect(breaker.state()).toBe('half-open');
    finishProbe({ status: 200, headers: {}, body: null });
    await probe;
    expect(breaker.state()).toBe('closed');
  });
});

describe("breaker: the upstream's Retry-After", () => {
  it('stays open as long as a 503 Retry-After asks, from the header', async () => {
    const { breaker, clock, changes, feed } = setup();
    await feed(answer(503, { 'retry-after': '60' }), 5);
    expect(changes.at(-1)?.openForMs).toBe(60_000);
    clock.advance(59_999);
    expect(breaker.state()).toBe('open');
    clock.advance(1);
    expect(breaker.state()).toBe('half-open');
  });

  it('uses the signal when the reply has one, and an earlier failure that asked for longer', async () => {
    const { changes, feed } = setup();
    await feed(answer(503, {}, signalOf({ retryAfterMs: 45_000 })));
    await feed(answer(500), 4);
    expect(changes.at(-1)?.openForMs).toBe(45_000);
  });

  it('never shortens openFor, and caps the wait at maxOpenFor', async () => {
    const short = setup();
    await short.feed(answer(503, { 'retry-after': '1' }), 5);
    expect(short.changes.at(-1)?.openForMs).toBe(10_000);
    const long = setup({ maxOpenFor: '2m' });
    await long.feed(answer(503, { 'retry-after': '86400' }), 5);
    expect(long.changes.at(-1)?.openForMs).toBe(120_000);
  });

  it('reads an HTTP-date Retry-After', async () => {
    const { changes, feed } = setup();
    await feed(answer(503, { 'retry-after': new Date(START + 30_000).toUTCString() }), 5);
    expect(changes.at(-1)?.openForMs).toBe(30_000);
  });
});

describe('breaker: options and callbacks', () => {
  it('keeps calls working when onStateChange throws', async () => {
    const clock = createManualClock(START);
    const breaker = createBreakerStage(
      {
        consecutiveFailures: 1,
        onStateChange: () => {
          throw new Error('metrics are down');
        },
      },
      { scheduler: clock, upstream: 'api' },
    );
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      await expect(breaker(makeCall(), answer(500))).resolves.toMatchObject({ status: 500 });
      clock.advance(10_000);
      await expect(breaker(makeCall(), answer(200))).resolves.toMatchObject({ status: 200 });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(breaker.state()).toBe('closed');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/onStateChange for api threw \(reported once\): metrics are down/);
  });

  it.each([
    [{ consecutiveFailures: 0 }, /breaker\.consecutiveFailures: expected a whole number, 1 or more/],
    [{ failureRatio: 0 }, /breaker\.failureRatio: expected a share above 0 and at most 1/],
    [{ failureRatio: 1.5 }, /breaker\.failureRatio/],
    [{ window: 'a while' }, /breaker\.window: expected a duration/],
    [{ minimumCalls: 2.5 }, /breaker\.minimumCalls/],
    [{ openFor: -1 }, /breaker\.openFor/],
    [{ openFor: '1m', maxOpenFor: '30s' }, /breaker\.maxOpenFor: expected at least breaker\.openFor \(60000 ms\)/],
    [{ halfOpenProbes: 0 }, /breaker\.halfOpenProbes/],
    [{ onStateChange: 'log' }, /breaker\.onStateChange: expected a function/],
  ])('rejects %j', (options, message) => {
    const create = () =>
      createBreakerStage(options as BreakerOptions, { scheduler: createManualClock(), upstream: 'api' });
    expect(create).toThrow(InvalidOptionError);
    expect(create).toThrow(message);
  });
});
