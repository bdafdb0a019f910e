import { InvalidOptionError } from '../errors.js';
import { type Duration, type Scheduler, toMilliseconds } from '../time.js';
import { CallFailedError } from './errors.js';
import { type Backlog, type BacklogEntry, createBacklog } from './queue-core.js';
import type { Call, Next, Reply, Stage } from './stage.js';

/**
 * The queue stage: holds calls until the pacer can take them, one lane per budget so a slow budget never blocks
 * another. Per lane at most `maxAsking` calls are asking the pacer at once; the next one goes in as soon as the pacer
 * admits one (`call.notes.onAdmitted`) or the call settles. Calls that cannot be served in time fail at once with a
 * `CallFailedError` saying why and when to try again: the queue is bounded and never hangs.
 */

export interface QueueOptions {
  /** Most calls waiting in one lane (default 1000). 0 means a call either goes straight in or fails. */
  maxDepth?: number;
  /**
   * The longest a call may wait from the moment it enters the queue (default "30s"). It is the call's deadline when
   * the caller gave none or a later one; the queue writes it to `call.deadlineAtEpochMs`, so the pacer fails the call
   * at once when its budget cannot serve it in time, and every retry attempt stays within it.
   */
  timeout?: Duration;
  /** Calls of one lane asking the pacer at the same time (default 1). */
  maxAsking?: number;
}

export interface QueueDependencies {
  scheduler: Scheduler;
  upstream: string;
  /** The lane a call waits in: one per budget (the pacer knows which). Defaults to one lane per upstream. */
  laneOf?: (call: Call) => string;
}

export interface LaneStats {
  lane: string;
  /** Calls waiting in the lane. */
  depth: number;
  /** Calls of the lane inside the pacer, not yet admitted. */
  asking: number;
}

export interface QueueStats {
  /** Calls waiting, over every lane. */
  queued: number;
  asking: number;
  /** Lanes with calls waiting or asking (idle lanes are forgotten). */
  lanes: LaneStats[];
}

export type QueueStage = Stage & { stats(): QueueStats };

interface ResolvedQueueOptions {
  maxDepth: number;
  timeoutMs: number;
  maxAsking: number;
}

interface QueuedCall extends BacklogEntry {
  readonly call: Call;
  readonly next: Next;
  readonly lane: Lane;
  readonly enqueuedAtEpochMs: number;
  resolve: (reply: Reply) => void;
  reject: (error: unknown) => void;
  onAbort: (() => void) | undefined;
}

interface Lane {
  readonly key: string;
  asking: number;
  backlog: Backlog<QueuedCall> | undefined;
  cancelTimer: (() => void) | undefined;
  timerAtEpochMs: number;
  pumpScheduled: boolean;
  readonly pumpTask: () => void;
  /** Smoothed time between hand-offs while calls were waiting: how fast the lane drains, for Retry-After. */
  handOffIntervalMs: number | undefined;
  lastHandOffAtEpochMs: number | undefined;
}

const DEFAULT_MAX_DEPTH = 1000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_ASKING = 1;
const LANE_SWEEP_MINIMUM = 1024;
/** Weight of the newest hand-off interval in the smoothed estimate. */
const INTERVAL_SMOOTHING = 0.2;

export function resolveQueueOptions(options: QueueOptions = {}): ResolvedQueueOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('queue', `expected an object of options, got ${JSON.stringify(options)}`);
  }
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 0) {
    throw new InvalidOptionError(
      'queue.maxDepth',
      `expected a whole number of calls, 0 or more, got ${JSON.stringify(options.maxDepth)}`,
    );
  }
  const maxAsking = options.maxAsking ?? DEFAULT_MAX_ASKING;
  if (!Number.isSafeInteger(maxAsking) || maxAsking < 1) {
    throw new InvalidOptionError(
      'queue.maxAsking',
      `expected a whole number of calls, 1 or more, got ${JSON.stringify(options.maxAsking)}`,
    );
  }
  const timeoutMs =
    options.timeout === undefined ? DEFAULT_TIMEOUT_MS : toMilliseconds(options.timeout, 'queue.timeout');
  return { maxDepth, timeoutMs, maxAsking };
}

export function createQueueStage(options: QueueOptions, dependencies: QueueDependencies): QueueStage {
  const { maxDepth, timeoutMs, maxAsking } = resolveQueueOptions(options);
  const { scheduler, upstream } = dependencies;
  const laneOf = dependencies.laneOf ?? ((call: Call) => call.upstream);
  const lanes = new Map<string, Lane>();

  // Idle lanes are kept (creating and deleting a Map entry per call churns memory on the allow path) and swept
  // when their number doubles, so a stream of ever-new lanes costs O(1) amortized and stays bounded.
  let sweepAtLaneCount = LANE_SWEEP_MINIMUM;

  const sweepIdleLanes = () => {
    for (const lane of lanes.values()) {
      if (lane.asking === 0 && depthOf(lane) === 0) lanes.delete(lane.key);
    }
    sweepAtLaneCount = Math.max(LANE_SWEEP_MINIMUM, 2 * lanes.size);
  };

  const createLane = (key: string): Lane => {
    if (lanes.size >= sweepAtLaneCount) sweepIdleLanes();
    const lane: Lane = {
      key,
      asking: 0,
      backlog: undefined,
      cancelTimer: undefined,
      timerAtEpochMs: 0,
      pumpScheduled: false,
      pumpTask: () => pump(lane),
      handOffIntervalMs: undefined,
      lastHandOffAtEpochMs: undefined,
    };
    lanes.set(key, lane);
    return lane;
  };

  const depthOf = (lane: Lane) => lane.backlog?.size ?? 0;

  /** Cancels the lane's timer once nothing waits in it (a pending timer would keep the process awake). */
  const tidy = (lane: Lane) => {
    if (lane.cancelTimer && depthOf(lane) === 0) {
      lane.cancelTimer();
      lane.cancelTimer = undefined;
    }
  };

  const ask = (lane: Lane, call: Call, next: Next): Promise<Reply> => {
    lane.asking++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (call.notes.onAdmitted === release) call.notes.onAdmitted = undefined;
      lane.asking--;
      handOff(lane);
    };
    call.notes.onAdmitted = release;
    let reply: Promise<Reply>;
    try {
      reply = next(call);
    } catch (error) {
      release();
      return Promise.reject(error);
    }
    reply.then(release, release);
    return reply;
  };

  /** A place among the askers freed up: let the next waiting call in (on a fresh microtask, never inside the pacer). */
  const handOff = (lane: Lane) => {
    if (depthOf(lane) === 0) {
      lane.lastHandOffAtEpochMs = undefined;
      tidy(lane);
      return;
    }
    const now = scheduler.now();
    if (lane.lastHandOffAtEpochMs !== undefined) {
      const sample = now - lane.lastHandOffAtEpochMs;
      lane.handOffIntervalMs =
        lane.handOffIntervalMs === undefined
          ? sample
          : lane.handOffIntervalMs + INTERVAL_SMOOTHING * (sample - lane.handOffIntervalMs);
    }
    lane.lastHandOffAtEpochMs = now;
    if (!lane.pumpScheduled) {
      lane.pumpScheduled = true;
      queueMicrotask(lane.pumpTask);
    }
  };

  const pump = (lane: Lane) => {
    // Still "scheduled" while the loop runs: a call admitted synchronously inside `next` frees its place and the
    // loop itself picks up the next one, without nesting into the pacer.
    lane.pumpScheduled = true;
    const backlog = lane.backlog;
    while (backlog && lane.asking < maxAsking) {
      const entry = backlog.shift();
      if (!entry) break;
      stopWatching(entry);
      const now = scheduler.now();
      entry.call.notes.waitedMs += now - entry.enqueuedAtEpochMs;
      // Timers fire late under load: a call whose deadline passed is not sent on.
      if (entry.deadlineAtEpochMs <= now) {
        entry.reject(deadlineError(entry, now));
        continue;
      }
      ask(lane, entry.call, entry.next).then(entry.resolve, entry.reject);
    }
    lane.pumpScheduled = false;
    tidy(lane);
  };

  const stopWatching = (entry: QueuedCall) => {
    if (entry.onAbort) {
      entry.call.signal?.removeEventListener('abort', entry.onAbort);
      entry.onAbort = undefined;
    }
  };

  const armTimer = (lane: Lane) => {
    const earliest = lane.backlog?.earliestDeadline();
    if (!earliest) return;
    if (lane.cancelTimer && lane.timerAtEpochMs <= earliest.deadlineAtEpochMs) return;
    lane.cancelTimer?.();
    lane.timerAtEpochMs = earliest.deadlineAtEpochMs;
    lane.cancelTimer = scheduler.setTimer(() => expire(lane), earliest.deadlineAtEpochMs - scheduler.now());
  };

  const expire = (lane: Lane) => {
    lane.cancelTimer = undefined;
    const backlog = lane.backlog;
    if (!backlog) return;
    const now = scheduler.now();
    for (let entry = backlog.earliestDeadline(); entry; entry = backlog.earliestDeadline()) {
      if (entry.deadlineAtEpochMs > now) break;
      backlog.remove(entry);
      stopWatching(entry);
      entry.call.notes.waitedMs += now - entry.enqueuedAtEpochMs;
      entry.reject(deadlineError(entry, now));
    }
    armTimer(lane);
    tidy(lane);
  };

  const deadlineError = (entry: QueuedCall, now: number) => {
    const lane = entry.lane;
    const waitedMs = now - entry.enqueuedAtEpochMs;
    const depth = depthOf(lane);
    // How long the calls still waiting will take, at the pace the lane has been draining.
    const retryAfterMs =
      lane.handOffIntervalMs === undefined ? null : Math.max(1, Math.ceil(lane.handOffIntervalMs * (depth + 1)));
    return new CallFailedError(
      'deadline',
      upstream,
      `The call to ${upstream} reached its deadline after waiting ${waitedMs} ms in the queue (lane "${lane.key}", ` +
        `${depth} calls still waiting)` +
        (retryAfterMs === null ? '' : `; the lane should have room in about ${retryAfterMs} ms`) +
        '. Allow a later deadline (x-sluice-deadline-ms, queue.timeout) or send fewer calls.',
      { retryAfterMs },
    );
  };

  const queueFullError = (lane: Lane, now: number, message: string) => {
    const backlog = lane.backlog;
    // A place frees up when the lane hands the next call on, or at the latest when the earliest deadline passes.
    const earliest = backlog?.earliestDeadline();
    const untilExpiryMs = earliest ? earliest.deadlineAtEpochMs - now : timeoutMs;
    const retryAfterMs = Math.max(1, Math.ceil(Math.min(untilExpiryMs, lane.handOffIntervalMs ?? untilExpiryMs)));
    return new CallFailedError('queue-full', upstream, `${message} Try again in ${retryAfterMs} ms.`, {
      retryAfterMs,
    });
  };

  const enqueue = (lane: Lane, call: Call, next: Next, now: number, deadlineAtEpochMs: number): Promise<Reply> => {
    if (!lane.backlog) lane.backlog = createBacklog<QueuedCall>();
    const backlog = lane.backlog;
    const priority = Number.isFinite(call.priority) ? call.priority : 0;
    if (backlog.size >= maxDepth) {
      const displaced = backlog.displaceableFor(call.tenant, priority);
      if (!displaced) {
        return Promise.reject(
          queueFullError(
            lane,
            now,
            `The queue for ${upstream} (lane "${lane.key}") holds its limit of ${maxDepth} waiting calls ` +
              '(queue.maxDepth).',
          ),
        );
      }
      backlog.remove(displaced);
      stopWatching(displaced);
      displaced.call.notes.waitedMs += now - displaced.enqueuedAtEpochMs;
      displaced.reject(
        queueFullError(
          lane,
          now,
          `The queue for ${upstream} (lane "${lane.key}") is full and your tenant held ` +
            `${backlog.placesHeldBy(displaced.tenant) + 1} of its ${maxDepth} places, more than any other: ` +
            'this call gave its place to a call of a tenant holding fewer.',
        ),
      );
    }
    const entry: QueuedCall = {
      tenant: call.tenant,
      priority,
      deadlineAtEpochMs,
      heapIndex: -1,
      older: undefined,
      newer: undefined,
      tenantQueue: undefined,
      call,
      next,
      lane,
      enqueuedAtEpochMs: now,
      resolve: noop,
      reject: noop,
      onAbort: undefined,
    };
    const promise = new Promise<Reply>((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    backlog.push(entry);
    const signal = call.signal;
    if (signal) {
      entry.onAbort = () => {
        entry.onAbort = undefined;
        backlog.remove(entry);
        const abortedAtEpochMs = scheduler.now();
        call.notes.waitedMs += abortedAtEpochMs - entry.enqueuedAtEpochMs;
        entry.reject(
          new CallFailedError(
            'aborted',
            upstream,
            `The caller aborted the call to ${upstream} after it waited ` +
              `${abortedAtEpochMs - entry.enqueuedAtEpochMs} ms in the queue.`,
            { cause: signal.reason },
          ),
        );
        tidy(lane);
      };
      signal.addEventListener('abort', entry.onAbort, { once: true });
    }
    if (!lane.cancelTimer || deadlineAtEpochMs < lane.timerAtEpochMs) armTimer(lane);
    return promise;
  };

  const stage = (call: Call, next: Next): Promise<Reply> => {
    try {
      const now = scheduler.now();
      if (call.signal?.aborted) {
        return Promise.reject(
          new CallFailedError('aborted', upstream, `The caller aborted the call to ${upstream} before it was queued.`, {
            cause: call.signal.reason,
          }),
        );
      }
      const callerDeadline = call.deadlineAtEpochMs;
      const deadlineAtEpochMs =
        callerDeadline === undefined || Number.isNaN(callerDeadline)
          ? now + timeoutMs
          : Math.min(callerDeadline, now + timeoutMs);
      call.deadlineAtEpochMs = deadlineAtEpochMs;
      if (deadlineAtEpochMs <= now) {
        return Promise.reject(
          new CallFailedError(
            'deadline',
            upstream,
            `The call to ${upstream} arrived ${now - deadlineAtEpochMs} ms after its deadline; send it with a later one.`,
            { retryAfterMs: 0 },
          ),
        );
      }
      const key = laneOf(call);
      const lane = lanes.get(key) ?? createLane(key);
      // The fast path: nothing of the lane waits and a place to ask is free, so the call goes straight in.
      if (lane.asking < maxAsking && depthOf(lane) === 0) return ask(lane, call, next);
      return enqueue(lane, call, next, now, deadlineAtEpochMs);
    } catch (error) {
      return Promise.reject(error);
    }
  };

  const stats = (): QueueStats => {
    const laneStats: LaneStats[] = [];
    let queued = 0;
    let asking = 0;
    for (const lane of lanes.values()) {
      const depth = depthOf(lane);
      if (depth === 0 && lane.asking === 0) continue;
      queued += depth;
      asking += lane.asking;
      laneStats.push({ lane: lane.key, depth, asking: lane.asking });
    }
    return { queued, asking, lanes: laneStats };
  };

  return Object.assign(stage, { stats });
}

const noop = () => {};
