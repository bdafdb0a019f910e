import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createMemoryBudgetStore } from '../../src/budget/memory-store.js';
import { defaultBudgetPolicy } from '../../src/budget/types.js';
import { createBudgetKeying } from '../../src/pipeline/budget-keys.js';
import { CallFailedError } from '../../src/pipeline/errors.js';
import { createPacerStage } from '../../src/pipeline/pacer.js';
import { actualCostOf, limitModelOf, resourceHint, signalMayBeInBody } from '../../src/pipeline/signal-reading.js';
import type { Call, Reply, ReplyHeaders } from '../../src/pipeline/stage.js';
import { parseRateLimit } from '../../src/signals/parse.js';
import { createManualClock, type ManualClock } from '../../src/time.js';

const T0 = 1_700_000_000_000;

function makeCall(path = '/repos/a/b', overrides: Partial<Call> = {}): Call {
  return {
    upstream: 'gh',
    method: 'GET',
    path,
    headers: {},
    body: null,
    tenant: undefined,
    priority: 0,
    deadlineAtEpochMs: undefined,
    signal: undefined,
    cost: {},
    notes: { waitedMs: 0, attempts: 1 },
    ...overrides,
  };
}

function setup(clock: ManualClock, dialect: 'github' | 'auto' = 'github') {
  const store = createMemoryBudgetStore({ clock });
  const stage = createPacerStage({
    upstream: 'gh',
    store,
    keying: createBudgetKeying({ upstream: 'gh', dialect, resourceHint }),
    scheduler: clock,
    policy: defaultBudgetPolicy,
    readSignal: (reply, nowEpochMs) => parseRateLimit(reply, { dialect, now: nowEpochMs }),
    needsBody: (reply, call) => signalMayBeInBody(dialect, reply, call),
    modelOf: limitModelOf,
    actualCost: (reply) => actualCostOf(dialect, reply),
    passTime: true,
    subscribe: store.onChange,
  });
  return { store, stage };
}

const reply = (status: number, headers: ReplyHeaders, body = ''): Reply => ({
  status,
  headers,
  body: Readable.from([Buffer.from(body)]),
});

/** GitHub-style headers for a window of `limit` ending at `resetAtEpochMs`. */
const github = (limit: number, remaining: number, resetAtEpochMs: number): ReplyHeaders => ({
  'x-ratelimit-limit': String(limit),
  'x-ratelimit-remaining': String(remaining),
  'x-ratelimit-reset': String(Math.ceil(resetAtEpochMs / 1000)),
  'x-ratelimit-resource': 'core',
});

async function settle(clock: ManualClock, promises: Array<Promise<unknown>>, stepMs = 5, maxMs = 60_000) {
  let done = 0;
  for (const promise of promises)
    promise.then(
      () => done++,
      () => done++,
    );
  for (let elapsed = 0; done < promises.length && elapsed <= maxMs; elapsed += stepMs) await clock.advanceAsync(stepMs);
}

describe('the pacer stage', () => {
  it('spreads what the provider says is left over the time to its reset', async () => {
    const clock = createManualClock(T0);
    const { stage } = setup(clock);
    const sentAt: number[] = [];
    let remaining = 10;
    const next = async () => {
      sentAt.push(clock.now());
      remaining--;
      return reply(200, github(10, remaining, T0 + 1000));
    };
    const calls = Array.from({ length: 10 }, () => stage(makeCall(), next));
    await settle(clock, calls);
    await Promise.all(calls);
    expect(sentAt).toHaveLength(10);
    // Not a burst: after the first reply, 9 left over about a second, one slot each.
    const gaps = sentAt.slice(2).map((at, index) => at - (sentAt[index + 1] as number));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(80);
    expect((sentAt.at(-1) as number) - T0).toBeLessThanOrEqual(1000);
  });

  it('sends one call first to learn the limits, then the rest', async () => {
    const clock = createManualClock(T0);
    const { stage } = setup(clock, 'auto');
    let inFlight = 0;
    let most = 0;
    const next = async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await clock.advanceAsync(0);
      inFlight--;
      return reply(200, {});
    };
    const first = stage(makeCall('/x'), next);
    const second = stage(makeCall('/x'), next);
    await settle(clock, [first, second]);
    await Promise.all([first, second]);
    expect(most).toBe(1);
  });

  it('fails at once with a typed error and a retry time when the budget cannot serve the call by its deadline', async () => {
    const clock = createManualClock(T0);
    const { stage } = setup(clock);
    await settle(clock, [stage(makeCall(), async () => reply(200, github(5, 0, T0 + 3_600_000)))]);
    let sent = false;
    const error = await stage(makeCall('/repos/a/c', { deadlineAtEpochMs: clock.now() + 10_000 }), async () => {
      sent = true;
      return reply(200, {});
    }).catch((caught) => caught);
    expect(error).toBeInstanceOf(CallFailedError);
    expect(error).toMatchObject({ reason: 'deadline', status: 429 });
    expect(error.retryAfterMs).toBeGreaterThan(3_500_000);
    expect(sent).toBe(false);
  });

  it('pauses every caller of the budget after a 429 until the stated time', async () => {
    const clock = createManualClock(T0);
    const { stage } = setup(clock);
    await settle(clock, [
      stage(makeCall(), async () => reply(429, { 'retry-after': '30', ...github(100, 50, T0 + 60_000) })),
    ]);
    const sentAt: number[] = [];
    const later = stage(makeCall('/repos/a/d'), async () => {
      sentAt.push(clock.now());
      return reply(200, github(100, 49, T0 + 60_000));
    });
    await settle(clock, [later], 100);
    await later;
    expect(sentAt[0]).toBeGreaterThanOrEqual(T0 + 30_000);
  });

  it('stops waiting when the caller aborts', async () => {
    const clock = createManualClock(T0);
    const { stage } = setup(clock);
    await settle(clock, [stage(makeCall(), async () => reply(200, github(5, 0, T0 + 60_000)))]);
    const controller = new AbortController();
    const waiting = stage(makeCall('/repos/a/e', { signal: controller.signal }), async () => reply(200, {})).catch(
      (caught) => caught,
    );
    await clock.advanceAsync(100);
    controller.abort();
    expect(await waiting).toMatchObject({ reason: 'aborted' });
  });

  it('gives the reservation back when the attempt fails without a reply', async () => {
    const clock = createManualClock(T0);
    const { stage, store } = setup(clock);
    await expect(stage(makeCall(), async () => Promise.reject(new Error('reset')))).rejects.toThrow('reset');
    const budgets = await store.snapshot();
    for (const budget of Object.values(budgets)) expect(budget.inFlight.requests ?? 0).toBe(0);
  });

  it('reads signals from error bodies and hands the body on intact', async () => {
    const clock = createManualClock(T0);
    const { stage } = setup(clock, 'auto');
    const body = JSON.stringify({
      error: {
        code: 429,
        status: 'RESOURCE_EXHAUSTED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }],
      },
    });
    const answered = await stage(makeCall('/v1/models'), async () =>
      reply(429, { 'content-type': 'application/json' }, body),
    );
    expect(answered.signal?.limited).toBe(true);
    expect(answered.signal?.retryAfterMs).toBe(7000);
    const chunks: Buffer[] = [];
    for await (const chunk of answered.body as Readable) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe(body);
  });

  it('fails at once on a spend cap instead of waiting for a time nobody stated', async () => {
    const clock = createManualClock(T0);
    const { stage } = setup(clock, 'auto');
    const spendCap = JSON.stringify({
      type: 'error',
      error: {
        type: 'rate_limit_error',
        message: 'usage limits',
        details: { error_code: 'enforced_spend_limit_reached' },
      },
    });
    await stage(makeCall('/v1/messages'), async () =>
      reply(
        429,
        { 'content-type': 'application/json', 'request-id': 'req_1', 'anthropic-ratelimit-requests-limit': '50' },
        spendCap,
      ),
    );
    const error = await stage(makeCall('/v1/messages'), async () => reply(200, {})).catch((caught) => caught);
    expect(error).toMatchObject({ reason: 'quota-exhausted' });
  });
});
