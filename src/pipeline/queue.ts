import { InvalidOptionError } from '../errors.js';
import { type Duration, type Scheduler, toMilliseconds } from '../time.js';
import { CallFailedError } from './errors.js';
import {
  addToBacklog,
  type Backlog,
  type BacklogEntry,
  createBacklog,
  displaceableIn,
  earliestDeadlineIn,
  placesHeldIn,
  removeFromBacklog,
  takeNextFromBacklog,
} from './queue-core.js';
import type { Call, Next, Reply, Stage } from './stage.js';

/**
 * The queue stage: holds calls until the pacer can take them, one lane per budget so a slow budget never blocks
 * another. Per lane at most `maxAsking` calls are asking the pacer at once; the next one goes in as soon as the pacer
 * admits one (`call.notes.onAdmitted`) or the call settles. Calls that cannot be served in time fail at once with a
 * `CallFailedError` saying why and when to try again: the queue is bounded and never hangs.
 *
 * The stage is a thin closure over plain state; the work is done by module functions shared by every queue and
 * lane, which keeps V8's call sites monomorphic (one closure set per instance made the allow path several times
 * slower as soon as a second upstream had its own queue).
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

interface QueueState extends ResolvedQueueOptions {
  readonly scheduler: Scheduler;
  readonly upstream: string;
  readonly laneOf: (call: Call) => string;
  readonly lanes: Map<string, Lane>;
  /**
   * Idle lanes are kept (creating and deleting a Map entry per call churns memory on the allow path) and swept
   * when their number reaches this, which doubles with what survives: O(1) amortized, and bounded.
   */
  sweepAtLaneCount: number;
}

interface QueuedCall extends BacklogEntry {
  readonly call: Call;
  readonly next: Next;
  readonly lane: Lane;
  readonly enqueuedAtEpochMs: number;
  resolve: (reply: Reply | Promise<Reply>) => void;
  reject: (error: unknown) => void;
  onAbort: (() => void) | undefined;
}

/** One call's turn at asking the pacer. */
interface AskingTurn {
  readonly lane: Lane;
  readonly call: Call;
  released: boolean;
  onAdmitted: (() => void) | undefined;
}

interface Lane {
  readonly queue: QueueState;
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
  const state: QueueState = {
    ...resolveQueueOptions(options),
    scheduler: dependencies.scheduler,
    upstream: dependencies.upstream,
    laneOf: dependencies.laneOf ?? laneOfUpstream,
    lanes: new Map(),
    sweepAtLaneCount: LANE_SWEEP_MINIMUM,
  };
  return Object.assign((call: Call, next: Next) => sendThroughQueue(state, call, next), {
    stats: () => queueStats(state),
  });
}

const laneOfUpstream = (call: Call) => call.upstream;

function sendThroughQueue(queue: QueueState, call: Call, next: Next): Promise<Reply> {
  try {
    const now = queue.scheduler.now();
    if (call.signal?.aborted) {
      return Promise.reject(
        new CallFailedError(
          'aborted',
          queue.upstream,
          `The caller aborted the call to ${queue.upstream} before it was queued.`,
          { cause: call.signal.reason },
        ),
      );
    }
    const callerDeadline = call.deadlineAtEpochMs;
    const deadlineAtEpochMs =
      callerDeadline === undefined || Number.isNaN(callerDeadline)
        ? now + queue.timeoutMs
        : Math.min(callerDeadline, now + queue.timeoutMs);
    call.deadlineAtEpochMs = deadlineAtEpochMs;
    if (deadlineAtEpochMs <= now) {
      return Promise.reject(
        new CallFailedError(
          'deadline',
          queue.upstream,
          `The call to ${queue.upstream} arrived ${now - deadlineAtEpochMs} ms after its deadline; ` +
            'send it with a later one.',
          { retryAfterMs: 0 },
        ),
      );
    }
    const key = queue.laneOf(call);
    const lane = queue.lanes.get(key) ?? createLane(queue, key);
    // The fast path: nothing of the lane waits and a place to ask is free, so the call goes straight in.
    if (lane.asking < queue.maxAsking && depthOf(lane) === 0) return ask(lane, call, next);
    return enqueue(lane, call, next, now, deadlineAtEpochMs);
  } catch (error) {
    return Promise.reject(error);
  }
}

function createLane(queue: QueueState, key: string): Lane {
  if (queue.lanes.size >= queue.sweepAtLaneCount) sweepIdleLanes(queue);
  const lane: Lane = {
    queue,
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
  queue.lanes.set(key, lane);
  return lane;
}

function sweepIdleLanes(queue: QueueState): void {
  for (const lane of queue.lanes.values()) {
    if (lane.asking === 0 && depthOf(lane) === 0) queue.lanes.delete(lane.key);
  }
  queue.sweepAtLaneCount = Math.max(LANE_SWEEP_MINIMUM, 2 * queue.lanes.size);
}

function depthOf(lane: Lane): number {
  return lane.backlog?.size ?? 0;
}

/** Cancels the lane's timer once nothing waits in it (a pending timer would keep the process awake). */
function tidy(lane: Lane): void {
  if (lane.cancelTimer && depthOf(lane) === 0) {
    lane.cancelTimer();
    lane.cancelTimer = undefined;
  }
}

function ask(lane: Lane, call: Call, next: Next): Promise<Reply> {
  lane.asking++;
  const turn: AskingTurn = { lane, call, released: false, onAdmitted: undefined };
  // The callbacks are written inline, not bound to names: dev loaders (tsx, esbuild keepNames) would otherwise
  // rename every one of them as it is created, which costs more than the rest of the allow path.
  call.notes.onAdmitted = turn.onAdmitted = () => release(turn, true);
  let reply: Promise<Reply>;
  try {
    reply = next(call);
  } catch (error) {
    release(turn, false);
    return Promise.reject(error);
  }
  reply.then(
    () => release(turn, false),
    () => release(turn, false),
  );
  return reply;
}

/**
 * Ends a call's turn at asking, once. `later`: the pacer admitted it and may still be busy with it, so the next call
 * is let in on a fresh microtask; otherwise the reply settled, nothing else is on the stack, and it goes in at once.
 */
function release(turn: AskingTurn, later: boolean): void {
  if (turn.released) return;
  turn.released = true;
  const notes = turn.call.notes;
  if (notes.onAdmitted === turn.onAdmitted) notes.onAdmitted = undefined;
  const lane = turn.lane;
  lane.asking--;
  if (depthOf(lane) === 0) {
    lane.lastHandOffAtEpochMs = undefined;
    tidy(lane);
    return;
  }
  if (lane.pumpScheduled) return;
  if (!later) {
    pump(lane);
    return;
  }
  lane.pumpScheduled = true;
  queueMicrotask(lane.pumpTask);
}

/** Lets waiting calls in while the lane has places to ask. */
function pump(lane: Lane): void {
  // Still "scheduled" while the loop runs: a call admitted synchronously inside `next` frees its place and the
  // loop itself picks up the next one, without nesting into the pacer.
  lane.pumpScheduled = true;
  const backlog = lane.backlog;
  const maxAsking = lane.queue.maxAsking;
  // One reading of the clock per hand-off: calls let in by the same pump are let in at the same moment.
  const now = lane.queue.scheduler.now();
  while (backlog && lane.asking < maxAsking) {
    const entry = takeNextFromBacklog(backlog);
    if (!entry) break;
    stopWatching(entry);
    entry.call.notes.waitedMs += now - entry.enqueuedAtEpochMs;
    // Timers fire late under load: a call whose deadline passed is not sent on.
    if (entry.deadlineAtEpochMs <= now) {
      entry.reject(deadlineError(entry, now));
      continue;
    }
    noteHandOff(lane, now);
    entry.resolve(ask(lane, entry.call, entry.next));
  }
  lane.pumpScheduled = false;
  tidy(lane);
}

/** Folds the time since the previous hand-off into the lane's drain-rate estimate. */
function noteHandOff(lane: Lane, now: number): void {
  if (lane.lastHandOffAtEpochMs !== undefined) {
    const sample = now - lane.lastHandOffAtEpochMs;
    lane.handOffIntervalMs =
      lane.handOffIntervalMs === undefined
        ? sample
        : lane.handOffIntervalMs + INTERVAL_SMOOTHING * (sample - lane.handOffIntervalMs);
  }
  lane.lastHandOffAtEpochMs = now;
}

function stopWatching(entry: QueuedCall): void {
  if (entry.onAbort) {
    entry.call.signal?.removeEventListener('abort', entry.onAbort);
    entry.onAbort = undefined;
  }
}

function enqueue(lane: Lane, call: Call, next: Next, now: number, deadlineAtEpochMs: number): Promise<Reply> {
  const queue = lane.queue;
  if (!lane.backlog) lane.backlog = createBacklog<QueuedCall>();
  const backlog = lane.backlog;
  const priority = Number.isFinite(call.priority) ? call.priority : 0;
  if (backlog.size >= queue.maxDepth) {
    const displaced = displaceableIn(backlog, call.tenant, priority);
    if (!displaced) {
      return Promise.reject(
        queueFullError(
          lane,
          now,
          `The queue for ${queue.upstream} (lane "${lane.key}") holds its limit of ${queue.maxDepth} waiting calls ` +
            '(queue.maxDepth).',
        ),
      );
    }
    removeFromBacklog(backlog, displaced);
    stopWatching(displaced);
    displaced.call.notes.waitedMs += now - displaced.enqueuedAtEpochMs;
    displaced.reject(
      queueFullError(
        lane,
        now,
        `The queue for ${queue.upstream} (lane "${lane.key}") is full and your tenant held ` +
          `${placesHeldIn(backlog, displaced.tenant) + 1} of its ${queue.maxDepth} places, more than any other: ` +
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
  const promise = new Promise<Reply>(captureSettlers);
  entry.resolve = capturedResolve;
  entry.reject = capturedReject;
  // Let go of them, so the module does not keep the last call's promise (and its reply) alive.
  capturedResolve = noop;
  capturedReject = noop;
  addToBacklog(backlog, entry);
  if (call.signal) {
    entry.onAbort = () => abandon(entry);
    call.signal.addEventListener('abort', entry.onAbort, { once: true });
  }
  if (!lane.cancelTimer || deadlineAtEpochMs < lane.timerAtEpochMs) armTimer(lane);
  return promise;
}

/** The caller aborted a call while it waited: it leaves the queue at once. */
function abandon(entry: QueuedCall): void {
  entry.onAbort = undefined;
  const lane = entry.lane;
  if (lane.backlog) removeFromBacklog(lane.backlog, entry);
  const upstream = lane.queue.upstream;
  const waitedMs = lane.queue.scheduler.now() - entry.enqueuedAtEpochMs;
  entry.call.notes.waitedMs += waitedMs;
  entry.reject(
    new CallFailedError(
      'aborted',
      upstream,
      `The caller aborted the call to ${upstream} after it waited ${waitedMs} ms in the queue.`,
      { cause: entry.call.signal?.reason },
    ),
  );
  tidy(lane);
}

/** Keeps one timer per lane, due at its earliest deadline. */
function armTimer(lane: Lane): void {
  const earliest = lane.backlog ? earliestDeadlineIn(lane.backlog) : undefined;
  if (!earliest) return;
  if (lane.cancelTimer && lane.timerAtEpochMs <= earliest.deadlineAtEpochMs) return;
  lane.cancelTimer?.();
  const scheduler = lane.queue.scheduler;
  lane.timerAtEpochMs = earliest.deadlineAtEpochMs;
  lane.cancelTimer = scheduler.setTimer(() => expire(lane), earliest.deadlineAtEpochMs - scheduler.now());
}

function expire(lane: Lane): void {
  lane.cancelTimer = undefined;
  const backlog = lane.backlog;
  if (!backlog) return;
  const now = lane.queue.scheduler.now();
  for (let entry = earliestDeadlineIn(backlog); entry; entry = earliestDeadlineIn(backlog)) {
    if (entry.deadlineAtEpochMs > now) break;
    removeFromBacklog(backlog, entry);
    stopWatching(entry);
    entry.call.notes.waitedMs += now - entry.enqueuedAtEpochMs;
    entry.reject(deadlineError(entry, now));
  }
  armTimer(lane);
  tidy(lane);
}

function deadlineError(entry: QueuedCall, now: number): CallFailedError {
  const lane = entry.lane;
  const upstream = lane.queue.upstream;
  const waitedMs = now - entry.enqueuedAtEpochMs;
  const depth = depthOf(lane);
  // How long the calls still waiting will take, at the pace the lane has been draining. A lane that has not handed
  // a call on while this one waited is stalled (its budget is paused): it is not likely to move sooner than that.
  const retryAfterMs = Math.max(
    1,
    Math.ceil(lane.handOffIntervalMs === undefined ? waitedMs : lane.handOffIntervalMs * (depth + 1)),
  );
  return new CallFailedError(
    'deadline',
    upstream,
    `The call to ${upstream} reached its deadline after waiting ${waitedMs} ms in the queue (lane "${lane.key}", ` +
      `${depth} ${depth === 1 ? 'call' : 'calls'} still waiting); try again in about ${retryAfterMs} ms, allow a later deadline ` +
      '(x-sluice-deadline-ms, queue.timeout) or send fewer calls.',
    { retryAfterMs },
  );
}

function queueFullError(lane: Lane, now: number, message: string): CallFailedError {
  // A place frees up when the lane hands the next call on, or at the latest when the earliest deadline passes.
  const earliest = lane.backlog ? earliestDeadlineIn(lane.backlog) : undefined;
  const untilExpiryMs = earliest ? earliest.deadlineAtEpochMs - now : lane.queue.timeoutMs;
  const retryAfterMs = Math.max(1, Math.ceil(Math.min(untilExpiryMs, lane.handOffIntervalMs ?? untilExpiryMs)));
  return new CallFailedError('queue-full', lane.queue.upstream, `${message} Try again in ${retryAfterMs} ms.`, {
    retryAfterMs,
  });
}

function queueStats(queue: QueueState): QueueStats {
  const lanes: LaneStats[] = [];
  let queued = 0;
  let asking = 0;
  for (const lane of queue.lanes.values()) {
    const depth = depthOf(lane);
    if (depth === 0 && lane.asking === 0) continue;
    queued += depth;
    asking += lane.asking;
    lanes.push({ lane: lane.key, depth, asking: lane.asking });
  }
  return { queued, asking, lanes };
}

const noop = () => {};

// One executor for every queued call's promise (instead of a closure each): the Promise constructor calls it
// synchronously, so the settlers are read back right after.
let capturedResolve: (reply: Reply | Promise<Reply>) => void = noop;
let capturedReject: (error: unknown) => void = noop;
const captureSettlers = (resolve: (reply: Reply | Promise<Reply>) => void, reject: (error: unknown) => void) => {
  capturedResolve = resolve;
  capturedReject = reject;
};
