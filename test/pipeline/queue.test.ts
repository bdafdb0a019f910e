import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { CallFailedError } from '../../src/pipeline/errors.js';
import { createQueueStage, type QueueOptions } from '../../src/pipeline/queue.js';
import type { Call, Next, Reply } from '../../src/pipeline/stage.js';
import { createManualClock, type ManualClock } from '../../src/time.js';

const START = 1_000_000;

function makeCall(overrides: Partial<Call> = {}): Call {
  return {
    upstream: 'github',
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

function reply(status = 200): Reply {
  return { status, headers: {}, body: null };
}

/** Lets promise callbacks and queued microtasks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A stand-in for the pacer: records every call that asks it and lets the test admit it (as the pacer does once the
 * budget has room) and answer it.
 */
function createPacer() {
  const asked: Call[] = [];
  const answers = new Map<Call, { resolve: (reply: Reply) => void; reject: (error: unknown) => void }>();
  const next: Next = (call) =>
    new Promise<Reply>((resolve, reject) => {
      asked.push(call);
      answers.set(call, { resolve, reject });
    });
  const control = (call: Call | undefined) => {
    if (!call) throw new Error('no such call asked the pacer');
    return answers.get(call) as { resolve: (reply: Reply) => void; reject: (error: unknown) => void };
  };
  return {
    next,
    asked,
    admit: (call: Call | undefined) => call?.notes.onAdmitted?.(),
    answer: (call: Call | undefined, status = 200) => control(call).resolve(reply(status)),
    fail: (call: Call | undefined, error: unknown) => control(call).reject(error),
    names: () => asked.map((call) => call.path),
  };
}

function setup(
  options: QueueOptions = {},
  laneOf?: (call: Call) => string,
  clock: ManualClock = createManualClock(START),
) {
  const queue = createQueueStage(options, { scheduler: clock, upstream: 'github', ...(laneOf ? { laneOf } : {}) });
  const pacer = createPacer();
  const send = (call: Call) => queue(call, pacer.next);
  return { queue, pacer, clock, send };
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

describe('queue: the fast path', () => {
  it('sends a call straight to the pacer when nothing of its lane is asking, in the same tick', async () => {
    const { pacer, send } = setup();
    const call = makeCall({ path: '/a' });
    const result = send(call);
    expect(pacer.asked).toEqual([call]);
    pacer.answer(call, 201);
    expect((await result).status).toBe(201);
    expect(call.notes.waitedMs).toBe(0);
  });

  it('returns the pacer promise itself, adding no extra tick', () => {
    const { queue } = setup();
    const answer = Promise.resolve(reply());
    expect(queue(makeCall(), () => answer)).toBe(answer);
  });
});

describe('queue: hand-off between calls of a lane', () => {
  it('lets the next call ask once the pacer admits the one asking', async () => {
    const { pacer, send } = setup();
    const first = makeCall({ path: '/1' });
    const second = makeCall({ path: '/2' });
    send(first);
    const secondResult = send(second);
    await settle();
    expect(pacer.names()).toEqual(['/1']);
    pacer.admit(first);
    await settle();
    expect(pacer.names()).toEqual(['/1', '/2']);
    // The first call is still on its way upstream: both are in flight now.
    pacer.answer(second);
    pacer.answer(first);
    expect((await secondResult).status).toBe(200);
  });

  it('lets the next call ask when the asking call settles without being admitted', async () => {
    const { pacer, send } = setup();
    const first = makeCall({ path: '/1' });
    const firstResult = send(first);
    send(makeCall({ path: '/2' }));
    pacer.fail(first, new CallFailedError('deadline', 'github', 'no room before the deadline', { retryAfterMs: 5 }));
    const error = await rejectionOf(firstResult);
    expect(error.reason).toBe('deadline');
    await settle();
    expect(pacer.names()).toEqual(['/1', '/2']);
  });

  it('treats onAdmitted as idempotent and forgets it once used', async () => {
    const { pacer, send } = setup();
    const first = makeCall({ path: '/1' });
    send(first);
    send(makeCall({ path: '/2' }));
    send(makeCall({ path: '/3' }));
    const onAdmitted = first.notes.onAdmitted;
    onAdmitted?.();
    onAdmitted?.();
    await settle();
    expect(pacer.names()).toEqual(['/1', '/2']);
    expect(first.notes.onAdmitted).toBeUndefined();
    pacer.answer(first);
    await settle();
    expect(pacer.names()).toEqual(['/1', '/2']);
  });

  it('lets maxAsking calls of a lane ask at once', async () => {
    const { pacer, send } = setup({ maxAsking: 3 });
    for (let index = 1; index <= 5; index++) send(makeCall({ path: `/${index}` }));
    await settle();
    expect(pacer.names()).toEqual(['/1', '/2', '/3']);
    pacer.admit(pacer.asked[1]);
    await settle();
    expect(pacer.names()).toEqual(['/1', '/2', '/3', '/4']);
  });

  it('never nests into the pacer when it admits synchronously, even with a large backlog', async () => {
    const clock = createManualClock(START);
    const queue = createQueueStage({ maxDepth: 20_000 }, { scheduler: clock, upstream: 'github' });
    let gateOpen = false;
    let openGate: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    let depth = 0;
    let deepest = 0;
    let served = 0;
    // Admits at once (inside the call to next), then answers later, like a pacer with budget to spare.
    const next: Next = async (call) => {
      depth++;
      deepest = Math.max(deepest, depth);
      if (!gateOpen) await gate;
      call.notes.onAdmitted?.();
      depth--;
      served++;
      await Promise.resolve();
      return reply();
    };
    const results = [];
    for (let index = 0; index < 10_000; index++) results.push(queue(makeCall(), next));
    gateOpen = true;
    openGate();
    await Promise.all(results);
    expect(served).toBe(10_000);
    expect(deepest).toBe(1);
  });

  it('turns a synchronous throw of next into a rejection and frees the lane', async () => {
    const { queue, pacer } = setup();
    const boom = new Error('boom');
    await expect(
      queue(makeCall(), () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(queue.stats().lanes).toEqual([]);
    queue(makeCall({ path: '/after' }), pacer.next);
    expect(pacer.names()).toEqual(['/after']);
  });
});

describe('queue: order', () => {
  it('serves higher priority first, round-robin over tenants within a priority, FIFO within a tenant', async () => {
    const { pacer, send } = setup();
    const blocker = makeCall({ path: '/blocker' });
    send(blocker);
    const plan: Array<[string, string | undefined, number]> = [
      ['a1', 'a', 0],
      ['a2', 'a', 0],
      ['a3', 'a', 0],
      ['b1', 'b', 0],
      ['b2', 'b', 0],
      ['n1', undefined, 0],
      ['low', 'a', -1],
      ['urgent1', 'b', 5],
      ['urgent2', 'a', 5],
      ['high', 'c', 1],
    ];
    for (const [path, tenant, priority] of plan) send(makeCall({ path, tenant, priority }));
    for (let index = 0; index <= plan.length; index++) {
      pacer.admit(pacer.asked[index]);
      await settle();
    }
    expect(pacer.names()).toEqual([
      '/blocker',
      'urgent1',
      'urgent2',
      'high',
      'a1',
      'b1',
      'n1',
      'a2',
      'b2',
      'a3',
      'low',
    ]);
  });

  it('does not let one heavy tenant starve the others', async () => {
    const { pacer, send } = setup({ maxDepth: 10_000 });
    send(makeCall({ path: '/blocker' }));
    for (let index = 0; index < 1000; index++) send(makeCall({ path: `heavy${index}`, tenant: 'heavy' }));
    for (let index = 0; index < 3; index++) send(makeCall({ path: `light${index}`, tenant: 'light' }));
    for (let index = 0; index < 6; index++) {
      pacer.admit(pacer.asked[index]);
      await settle();
    }
    expect(pacer.names()).toEqual(['/blocker', 'heavy0', 'light0', 'heavy1', 'light1', 'heavy2', 'light2']);
  });

  it('serves a tenant that arrives late after every tenant already waiting has had one turn', async () => {
    const { pacer, send } = setup();
    send(makeCall({ path: '/blocker' }));
    for (const tenant of ['a', 'b', 'c']) {
      for (let index = 0; index < 3; index++) send(makeCall({ path: `${tenant}${index}`, tenant }));
    }
    pacer.admit(pacer.asked[0]);
    await settle();
    pacer.admit(pacer.asked[1]); // a0 is served; d arrives when b, c and a are waiting for their next turn
    send(makeCall({ path: 'd0', tenant: 'd' }));
    await settle();
    for (let index = 2; index < 6; index++) {
      pacer.admit(pacer.asked[index]);
      await settle();
    }
    expect(pacer.names()).toEqual(['/blocker', 'a0', 'b0', 'c0', 'a1', 'd0', 'b1']);
  });
});

describe('queue: lanes', () => {
  it('keeps lanes independent: a blocked lane never holds up another', async () => {
    const { queue, pacer, send } = setup({}, (call) => call.path.split('/')[1] ?? '');
    send(makeCall({ path: '/slow/1' }));
    send(makeCall({ path: '/slow/2' }));
    send(makeCall({ path: '/slow/3' }));
    const fast = makeCall({ path: '/fast/1' });
    const fastResult = send(fast);
    expect(pacer.names()).toEqual(['/slow/1', '/fast/1']);
    pacer.answer(fast);
    expect((await fastResult).status).toBe(200);
    expect(queue.stats()).toEqual({ queued: 2, asking: 1, lanes: [{ lane: 'slow', depth: 2, asking: 1 }] });
  });

  it('reports depth per lane and forgets idle lanes', async () => {
    const { queue, pacer, send } = setup({}, (call) => call.path);
    send(makeCall({ path: 'x' }));
    send(makeCall({ path: 'x' }));
    send(makeCall({ path: 'x' }));
    send(makeCall({ path: 'y' }));
    expect(queue.stats()).toEqual({
      queued: 2,
      asking: 2,
      lanes: [
        { lane: 'x', depth: 2, asking: 1 },
        { lane: 'y', depth: 0, asking: 1 },
      ],
    });
    for (let index = 0; index < 4; index++) {
      pacer.answer(pacer.asked[index]);
      await settle();
    }
    expect(queue.stats()).toEqual({ queued: 0, asking: 0, lanes: [] });
  });
  it('keeps a busy lane, and its order, while thousands of idle lanes come and go', async () => {
    const { queue, pacer, send } = setup({}, (call) => call.path.split('/')[1] ?? '');
    send(makeCall({ path: '/busy/1' }));
    send(makeCall({ path: '/busy/2' }));
    for (let index = 0; index < 5000; index++) {
      const call = makeCall({ path: `/idle${index}/x` });
      send(call);
      pacer.answer(call);
    }
    await settle();
    expect(queue.stats().lanes).toEqual([{ lane: 'busy', depth: 1, asking: 1 }]);
    pacer.admit(pacer.asked[0]);
    await settle();
    expect(pacer.asked.at(-1)?.path).toBe('/busy/2');
  });
});

describe('queue: bounds', () => {
  it('fails a call at once with queue-full and a Retry-After when the lane is full', async () => {
    const { clock, pacer, send } = setup({ maxDepth: 2, timeout: '10s' });
    send(makeCall({ path: '/asking' }));
    send(makeCall({ path: '/1' }));
    clock.advance(1000);
    send(makeCall({ path: '/2' }));
    const error = await rejectionOf(send(makeCall({ path: '/3' })));
    expect(error.reason).toBe('queue-full');
    expect(error.status).toBe(429);
    expect(error.upstream).toBe('github');
    // Nothing measured yet: a place frees at the latest when the oldest waiting call expires, 9 s from now.
    expect(error.retryAfterMs).toBe(9000);
    expect(error.message).toMatch(/limit of 2 waiting calls \(queue\.maxDepth\)/);
    expect(pacer.names()).toEqual(['/asking']);
  });

  it('estimates Retry-After from how fast the lane hands calls on', async () => {
    const { clock, pacer, send } = setup({ maxDepth: 3 });
    send(makeCall());
    for (let index = 0; index < 3; index++) send(makeCall());
    for (let index = 0; index < 3; index++) {
      clock.advance(200);
      pacer.admit(pacer.asked[index]);
      await settle();
      send(makeCall());
    }
    const error = await rejectionOf(send(makeCall()));
    expect(error.retryAfterMs).toBe(200);
  });

  it('lets a light tenant take the newest place of the heaviest tenant when the lane is full', async () => {
    const { queue, pacer, send } = setup({ maxDepth: 3 });
    send(makeCall({ path: '/asking', tenant: 'heavy' }));
    const heavy = [0, 1, 2].map((index) => send(makeCall({ path: `heavy${index}`, tenant: 'heavy' })));
    const light = send(makeCall({ path: 'light0', tenant: 'light' }));
    const displaced = await rejectionOf(heavy[2] as Promise<Reply>);
    expect(displaced.reason).toBe('queue-full');
    expect(displaced.message).toMatch(/your tenant held 3 of its 3 places/);
    expect(queue.stats().queued).toBe(3);
    // Heavy holds 2 places and light 1: a second light call would only swap who is ahead, so it is refused.
    const second = await rejectionOf(send(makeCall({ path: 'light1', tenant: 'light' })));
    expect(second.reason).toBe('queue-full');
    expect(second.message).toMatch(/holds its limit of 3 waiting calls/);
    for (let index = 0; index < 3; index++) {
      pacer.admit(pacer.asked[index]);
      await settle();
    }
    expect(pacer.names()).toEqual(['/asking', 'heavy0', 'light0', 'heavy1']);
    pacer.answer(pacer.asked[2]);
    expect((await light).status).toBe(200);
  });

  it('never displaces a call of higher priority than the newcomer', async () => {
    const { send } = setup({ maxDepth: 2 });
    send(makeCall({ tenant: 'heavy' }));
    send(makeCall({ tenant: 'heavy', priority: 3 }));
    send(makeCall({ tenant: 'heavy', priority: 3 }));
    const error = await rejectionOf(send(makeCall({ tenant: 'light', priority: 1 })));
    expect(error.reason).toBe('queue-full');
  });

  it('with maxDepth 0 either sends a call on at once or fails it', async () => {
    const { pacer, send } = setup({ maxDepth: 0 });
    send(makeCall({ path: '/1' }));
    const error = await rejectionOf(send(makeCall({ path: '/2' })));
    expect(error.reason).toBe('queue-full');
    expect(pacer.names()).toEqual(['/1']);
  });
});

describe('queue: deadlines', () => {
  it('fails a call with deadline when its timeout passes while queued, with one timer per lane', async () => {
    const { queue, clock, pacer, send } = setup({ timeout: '5s' });
    send(makeCall({ path: '/asking' }));
    const waiting = makeCall({ path: '/waiting' });
    const waitingResult = rejectionOf(send(waiting));
    clock.advance(1000);
    const later = send(makeCall({ path: '/later' }));
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(3999);
    await settle();
    expect(queue.stats().queued).toBe(2);
    clock.advance(1);
    const error = await waitingResult;
    expect(error.reason).toBe('deadline');
    expect(error.status).toBe(429);
    expect(error.message).toMatch(/reached its deadline after waiting 5000 ms in the queue/);
    // Nothing was handed on while it waited: the lane is stalled, likely for as long again.
    expect(error.retryAfterMs).toBe(5000);
    expect(waiting.notes.waitedMs).toBe(5000);
    expect(queue.stats().queued).toBe(1);
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(1000);
    expect((await rejectionOf(later)).reason).toBe('deadline');
    expect(clock.pendingTimers()).toBe(0);
    expect(pacer.names()).toEqual(['/asking']);
  });

  it('estimates when to retry from how fast the lane drains', async () => {
    const { clock, pacer, send } = setup({ timeout: '1s' });
    send(makeCall());
    const queued = [0, 1, 2, 3].map(() => send(makeCall()));
    for (let index = 0; index < 3; index++) {
      clock.advance(100);
      pacer.admit(pacer.asked[index]);
      await settle();
    }
    clock.advance(200);
    const behind = rejectionOf(send(makeCall()));
    clock.advance(500);
    const error = await rejectionOf(queued[3] as Promise<Reply>);
    expect(error.reason).toBe('deadline');
    // One call handed on every 100 ms; the call still waiting and the next one need about 200 ms.
    expect(error.retryAfterMs).toBe(200);
    expect(error.message).toMatch(/1 call still waiting\); try again in about 200 ms/);
    clock.advance(500);
    expect((await behind).reason).toBe('deadline');
  });

  it("uses the caller's deadline when it is earlier, and writes the effective deadline on the call", async () => {
    const { clock, send } = setup({ timeout: '30s' });
    const first = makeCall();
    send(first);
    expect(first.deadlineAtEpochMs).toBe(START + 30_000);
    const hurried = makeCall({ deadlineAtEpochMs: START + 250 });
    const result = rejectionOf(send(hurried));
    const patient = makeCall({ deadlineAtEpochMs: START + 60_000 });
    send(patient).catch(() => {});
    expect(hurried.deadlineAtEpochMs).toBe(START + 250);
    expect(patient.deadlineAtEpochMs).toBe(START + 30_000);
    clock.advance(250);
    expect((await result).reason).toBe('deadline');
  });

  it('fails at once a call that arrives past its deadline', async () => {
    const { pacer, send } = setup();
    const error = await rejectionOf(send(makeCall({ deadlineAtEpochMs: START - 10 })));
    expect(error.reason).toBe('deadline');
    expect(error.message).toMatch(/arrived 10 ms after its deadline/);
    expect(pacer.asked).toEqual([]);
  });

  it('does not send on a call whose deadline passed before its turn came, even if the timer is late', async () => {
    const clock = createManualClock(START);
    // A scheduler whose timers never fire: the deadline is caught when the call reaches the head of the queue.
    const lateTimers = { now: () => clock.now(), setTimer: () => () => {} };
    const queue = createQueueStage({ timeout: '1s' }, { scheduler: lateTimers, upstream: 'github' });
    const pacer = createPacer();
    queue(makeCall({ path: '/asking' }), pacer.next);
    const result = rejectionOf(queue(makeCall({ path: '/expired' }), pacer.next));
    clock.advance(2000);
    pacer.admit(pacer.asked[0]);
    expect((await result).reason).toBe('deadline');
    expect(pacer.names()).toEqual(['/asking']);
  });

  it('records the time each call waited', async () => {
    const { clock, pacer, send } = setup();
    send(makeCall());
    const waiting = makeCall({ notes: { waitedMs: 40, attempts: 1 } });
    send(waiting);
    clock.advance(700);
    pacer.admit(pacer.asked[0]);
    await settle();
    expect(waiting.notes.waitedMs).toBe(740);
  });
});

describe('queue: abort', () => {
  it('takes an aborted call out of the queue at once', async () => {
    const { queue, clock, pacer, send } = setup();
    send(makeCall({ path: '/asking' }));
    const controller = new AbortController();
    const aborted = makeCall({ path: '/aborted', signal: controller.signal });
    const result = rejectionOf(send(aborted));
    send(makeCall({ path: '/after' }));
    clock.advance(300);
    controller.abort(new Error('user went away'));
    const error = await result;
    expect(error.reason).toBe('aborted');
    expect((error.cause as Error).message).toBe('user went away');
    expect(aborted.notes.waitedMs).toBe(300);
    expect(queue.stats().queued).toBe(1);
    pacer.admit(pacer.asked[0]);
    await settle();
    expect(pacer.names()).toEqual(['/asking', '/after']);
  });

  it('fails at once a call whose signal has already aborted', async () => {
    const { pacer, send } = setup();
    const error = await rejectionOf(send(makeCall({ signal: AbortSignal.abort() })));
    expect(error.reason).toBe('aborted');
    expect(pacer.asked).toEqual([]);
  });

  it('stops listening to the signal of a call once it leaves the queue', async () => {
    const { pacer, send } = setup();
    send(makeCall());
    const controller = new AbortController();
    const call = makeCall({ signal: controller.signal });
    const result = send(call);
    pacer.admit(pacer.asked[0]);
    await settle();
    controller.abort();
    pacer.answer(call, 204);
    expect((await result).status).toBe(204);
  });
});

describe('queue: options', () => {
  it.each([
    [{ maxDepth: -1 }, /queue\.maxDepth: expected a whole number/],
    [{ maxDepth: 1.5 }, /queue\.maxDepth/],
    [{ maxDepth: Number.POSITIVE_INFINITY }, /queue\.maxDepth/],
    [{ maxAsking: 0 }, /queue\.maxAsking: expected a whole number of calls, 1 or more/],
    [{ timeout: 'soon' }, /queue\.timeout: expected a duration/],
    [{ timeout: 0 }, /queue\.timeout: expected a positive duration/],
  ])('rejects %j', (options, message) => {
    const create = () => createQueueStage(options as QueueOptions, { scheduler: createManualClock(), upstream: 'x' });
    expect(create).toThrow(InvalidOptionError);
    expect(create).toThrow(message);
  });
});
