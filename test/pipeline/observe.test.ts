import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { createBreakerStage } from '../../src/pipeline/breaker.js';
import { CallFailedError } from '../../src/pipeline/errors.js';
import { type CallEvent, createEventBus } from '../../src/pipeline/events.js';
import { createObserveStage } from '../../src/pipeline/observe.js';
import { createQueueStage } from '../../src/pipeline/queue.js';
import { type Call, composeStages, type Next, type Reply, type Stage } from '../../src/pipeline/stage.js';
import type { RateLimitSignal } from '../../src/signals/types.js';
import { createManualClock } from '../../src/time.js';

const START = 1_700_000_000_000;

function makeCall(overrides: Partial<Call> = {}): Call {
  return {
    upstream: 'api',
    method: 'GET',
    path: '/items',
    headers: {},
    body: null,
    tenant: 'acme',
    priority: 0,
    deadlineAtEpochMs: undefined,
    signal: undefined,
    cost: {},
    notes: { waitedMs: 0, attempts: 0 },
    ...overrides,
  };
}

const SIGNAL: RateLimitSignal = {
  dialect: 'github',
  limited: false,
  retryable: null,
  retryAfterMs: null,
  limit: 5000,
  remaining: 4999,
  resetAtEpochMs: START + 3_600_000,
  resetAfterMs: 3_600_000,
  limits: [],
};

function collect() {
  const bus = createEventBus();
  const events: CallEvent[] = [];
  bus.subscribe((event) => events.push(event));
  return { bus, events };
}

/** A tiny transport: counts the attempt, takes `latencyMs` on the clock, answers with the next status given. */
function transport(clock: ReturnType<typeof createManualClock>, statuses: number[], latencyMs = 0): Next {
  return async (call) => {
    call.notes.attempts++;
    clock.advance(latencyMs);
    const status = statuses.shift() ?? 200;
    return { status, headers: {}, body: null, signal: SIGNAL };
  };
}

/** A tiny retry stage: tries once more on a 503. */
const retryOnce: Stage = async (call, next) => {
  const reply = await next(call);
  return reply.status === 503 ? next(call) : reply;
};

describe('observe', () => {
  it('costs nothing when nobody listens: the stage hands back the promise of next', () => {
    const bus = createEventBus();
    const observe = createObserveStage(bus, 'call', 'api');
    const reply = Promise.resolve<Reply>({ status: 200, headers: {}, body: null });
    expect(bus.listening).toBe(false);
    expect(observe(makeCall(), () => reply)).toBe(reply);
  });

  it('emits one event per call and one per upstream attempt', async () => {
    const clock = createManualClock(START);
    const { bus, events } = collect();
    const pipeline = composeStages(
      [createObserveStage(bus, 'call', 'api', clock), retryOnce, createObserveStage(bus, 'attempt', 'api', clock)],
      transport(clock, [503, 200], 40),
    );
    const call = makeCall({ notes: { waitedMs: 15, attempts: 0, cacheStatus: 'sluice; fwd=miss' } });
    const reply = await pipeline(call);
    expect(reply.status).toBe(200);
    expect(events).toEqual([
      {
        kind: 'attempt',
        upstream: 'api',
        tenant: 'acme',
        method: 'GET',
        path: '/items',
        status: 503,
        outcome: 'ok',
        durationMs: 40,
        waitedMs: 15,
        attempts: 1,
        signal: SIGNAL,
        cacheStatus: 'sluice; fwd=miss',
      },
      expect.objectContaining({ kind: 'attempt', status: 200, attempts: 2, durationMs: 40 }),
      expect.objectContaining({ kind: 'call', status: 200, outcome: 'ok', attempts: 2, durationMs: 80 }),
    ]);
  });

  it('sees local rejections: a full queue and an open circuit', async () => {
    const clock = createManualClock(START);
    const { bus, events } = collect();
    const queue = createQueueStage({ maxDepth: 0 }, { scheduler: clock, upstream: 'api' });
    const breaker = createBreakerStage({ consecutiveFailures: 1 }, { scheduler: clock, upstream: 'api' });
    const never: Next = () => new Promise<Reply>(() => {});
    const observed = composeStages([createObserveStage(bus, 'call', 'api', clock), queue], never);
    observed(makeCall({ path: '/first' }));
    await expect(observed(makeCall({ path: '/second' }))).rejects.toThrow(CallFailedError);
    expect(events).toEqual([
      expect.objectContaining({
        kind: 'call',
        path: '/second',
        status: 429,
        outcome: 'rejected-locally',
        reason: 'queue-full',
        attempts: 0,
        error: expect.any(CallFailedError),
      }),
    ]);

    const guarded = composeStages(
      [createObserveStage(bus, 'call', 'api', clock), breaker, createObserveStage(bus, 'attempt', 'api', clock)],
      transport(clock, [500]),
    );
    await guarded(makeCall());
    await expect(guarded(makeCall())).rejects.toMatchObject({ reason: 'circuit-open' });
    expect(events.slice(1).map((event) => `${event.kind} ${event.status} ${event.outcome} ${event.reason}`)).toEqual([
      'attempt 500 ok undefined',
      'call 500 ok undefined',
      'call 503 rejected-locally circuit-open',
    ]);
  });

  it('reports failed exchanges with the upstream as errors', async () => {
    const clock = createManualClock(START);
    const { bus, events } = collect();
    const observe = createObserveStage(bus, 'attempt', 'api', clock);
    const timeout = new CallFailedError('upstream-timeout', 'api', 'no answer in 30 s');
    await expect(
      observe(makeCall(), async () => {
        throw timeout;
      }),
    ).rejects.toBe(timeout);
    const reset = new Error('ECONNRESET');
    await expect(
      observe(makeCall(), () => {
        throw reset;
      }),
    ).rejects.toBe(reset);
    expect(events).toEqual([
      expect.objectContaining({ status: 504, outcome: 'error', reason: 'upstream-timeout', error: timeout }),
      expect.objectContaining({ status: 502, outcome: 'error', error: reset }),
    ]);
    expect(events[1]).not.toHaveProperty('reason');
  });
});

describe('event bus', () => {
  it('keeps calls going when a listener throws, and reports each broken listener once', async () => {
    const reported: unknown[] = [];
    const bus = createEventBus({ onListenerError: (error) => reported.push(error) });
    const received: string[] = [];
    bus.subscribe(() => {
      throw new Error('broken dashboard');
    });
    bus.subscribe((event) => received.push(event.path));
    const observe = createObserveStage(bus, 'call', 'api');
    for (const path of ['/a', '/b', '/c']) {
      const reply = await observe(makeCall({ path }), async () => ({ status: 200, headers: {}, body: null }));
      expect(reply.status).toBe(200);
    }
    expect(received).toEqual(['/a', '/b', '/c']);
    expect(reported).toHaveLength(1);
    expect((reported[0] as Error).message).toBe('broken dashboard');
  });

  it('survives an error reporter that throws too', () => {
    const bus = createEventBus({
      onListenerError: () => {
        throw new Error('and so does this');
      },
    });
    bus.subscribe(() => {
      throw new Error('broken');
    });
    expect(() => bus.emit({} as CallEvent)).not.toThrow();
  });

  it('stops delivering to a listener once it unsubscribes; an emit under way finishes as it began', () => {
    const bus = createEventBus();
    const seen: string[] = [];
    let stopSecond: () => void = () => {};
    const stopFirst = bus.subscribe(() => {
      seen.push('first');
      stopSecond();
    });
    stopSecond = bus.subscribe(() => seen.push('second'));
    bus.emit({} as CallEvent);
    expect(seen).toEqual(['first', 'second']);
    bus.emit({} as CallEvent);
    expect(seen).toEqual(['first', 'second', 'first']);
    stopFirst();
    stopFirst();
    expect(bus.listening).toBe(false);
  });

  it('refuses an observe stage of an unknown kind', () => {
    expect(() => createObserveStage(createEventBus(), 'request' as 'call', 'api')).toThrow(
      /kind: expected "call" or "attempt", got "request"/,
    );
  });

  it('refuses a listener that is not a function', () => {
    const bus = createEventBus();
    expect(() => bus.subscribe('log' as unknown as () => void)).toThrow(InvalidOptionError);
  });
});
