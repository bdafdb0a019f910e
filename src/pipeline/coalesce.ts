/**
 * The coalescing stage: identical safe calls in flight at the same time (same method, path and query, tenant and
 * headers) share one upstream call, and so one unit of budget. Every caller gets its own copy of the reply.
 *
 * The shared call belongs to no single caller: one caller aborting (or reaching its deadline) leaves the others
 * waiting, and only when every caller has gone is the shared call aborted.
 */
import { InvalidOptionError } from '../errors.js';
import type { Scheduler } from '../time.js';
import { bytesStream, discardBody, readWholeBody } from './cache-body.js';
import { CallFailedError, isCallFailed } from './errors.js';
import type { Call, CallHeaders, Next, Reply, ReplyHeaders, Stage } from './stage.js';

export interface CoalesceOptions {
  /** Request headers that do not make two calls different (tracing ids). Replaces the default list. */
  ignoreHeaders?: readonly string[];
  /**
   * Replies up to this size are copied to every caller; with a larger one, the first caller gets it as a stream and
   * the others send their own calls. Default 1 MiB.
   */
  maxBodyBytes?: number;
}

export interface CoalesceDependencies {
  upstream: string;
  scheduler: Scheduler;
}

/** Headers that identify a request for tracing only; they differ on every call and change nothing upstream. */
export const DEFAULT_COALESCE_IGNORED_HEADERS: readonly string[] = [
  'traceparent',
  'tracestate',
  'baggage',
  'sentry-trace',
  'x-request-id',
  'x-correlation-id',
  'x-amzn-trace-id',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'b3',
];

interface Member {
  call: Call;
  leader: boolean;
  resolve(reply: Reply): void;
  reject(error: unknown): void;
  cleanup: (() => void) | null;
}

interface Flight {
  key: string;
  /** The call sent upstream on behalf of every member. */
  call: Call;
  controller: AbortController;
  members: Set<Member>;
  /** The shared call has answered (or failed): leaving no longer aborts it. */
  landed: boolean;
}

const collapsedCalls = new WeakSet<Call>();

/** Whether this call was answered by another identical call's upstream request (RFC 9211 "collapsed"). */
export function isCollapsed(call: Call): boolean {
  return collapsedCalls.has(call);
}

/** The request headers that can change a reply (all but `ignored`), in one text: equal texts, same request. */
export function headerSignature(headers: CallHeaders, ignored: ReadonlySet<string>): string {
  const names = Object.keys(headers)
    .filter((name) => !ignored.has(name))
    .sort();
  let signature = '';
  for (const name of names) signature += `${name}:${headers[name]}\n`;
  return signature;
}

function copyHeaders(headers: ReplyHeaders): ReplyHeaders {
  const copy: ReplyHeaders = {};
  for (const [name, value] of Object.entries(headers)) copy[name] = Array.isArray(value) ? [...value] : value;
  return copy;
}

export function createCoalesceStage(options: CoalesceOptions, dependencies: CoalesceDependencies): Stage {
  const { upstream, scheduler } = dependencies;
  const ignored = new Set(
    (options.ignoreHeaders ?? DEFAULT_COALESCE_IGNORED_HEADERS).map((name) => name.toLowerCase()),
  );
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 0) {
    throw new InvalidOptionError('coalesce.maxBodyBytes', `expected a non-negative integer, got ${maxBodyBytes}`);
  }
  const flights = new Map<string, Flight>();

  const keyOf = (call: Call) =>
    `${call.method} ${call.tenant === undefined ? '\u0000' : call.tenant} ${call.path}\n${headerSignature(call.headers, ignored)}`;

  function settle(member: Member): void {
    member.cleanup?.();
    member.cleanup = null;
  }

  function leave(flight: Flight, member: Member, error: CallFailedError): void {
    if (!flight.members.delete(member)) return;
    settle(member);
    member.reject(error);
    if (flight.members.size === 0 && !flight.landed) {
      if (flights.get(flight.key) === flight) flights.delete(flight.key);
      flight.controller.abort(error);
    }
  }

  function land(flight: Flight): Member[] {
    flight.landed = true;
    if (flights.get(flight.key) === flight) flights.delete(flight.key);
    return [...flight.members];
  }

  async function deliver(flight: Flight, reply: Reply, next: Next): Promise<void> {
    let members = land(flight);
    for (const member of members) {
      if (member.leader) {
        member.call.notes.attempts = flight.call.notes.attempts;
        member.call.notes.waitedMs += flight.call.notes.waitedMs;
      }
    }
    if (members.length === 0) {
      discardBody(reply);
      return;
    }
    if (members.length === 1) {
      const only = members[0] as Member;
      flight.members.clear();
      settle(only);
      only.resolve(reply);
      return;
    }
    const body = await readWholeBody(reply, maxBodyBytes);
    // Callers may have gone while the body was read.
    members = [...flight.members];
    flight.members.clear();
    if (body === null) {
      // Too large to copy: the first caller gets the stream, the others ask for themselves.
      const [first, ...others] = members;
      if (first) {
        settle(first);
        first.resolve(reply);
      } else {
        discardBody(reply);
      }
      for (const member of others) {
        settle(member);
        next(member.call).then(member.resolve, member.reject);
      }
      return;
    }
    for (const member of members) {
      settle(member);
      member.resolve({
        status: reply.status,
        headers: copyHeaders(reply.headers),
        body: bytesStream(body),
        signal: reply.signal,
      });
    }
  }

  function fail(flight: Flight, error: unknown, next: Next): void {
    const members = land(flight);
    flight.members.clear();
    for (const member of members) {
      settle(member);
      // The shared call carried its first caller's deadline: the others, who may have later ones, try again.
      if (!member.leader && isCallFailed(error) && error.reason === 'deadline') {
        coalesce(member.call, next).then(member.resolve, member.reject);
      } else {
        member.reject(error);
      }
    }
  }

  function launch(key: string, call: Call, next: Next): Flight {
    const controller = new AbortController();
    const shared: Call = {
      ...call,
      headers: { ...call.headers },
      cost: { ...call.cost },
      signal: controller.signal,
      notes: { waitedMs: 0, attempts: 0 },
    };
    const flight: Flight = { key, call: shared, controller, members: new Set(), landed: false };
    flights.set(key, flight);
    let sent: Promise<Reply>;
    try {
      sent = next(shared);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(
      (reply) => deliver(flight, reply, next).catch((error) => fail(flight, error, next)),
      (error) => fail(flight, error, next),
    );
    return flight;
  }

  function join(flight: Flight, call: Call, leader: boolean): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const member: Member = { call, leader, resolve, reject, cleanup: null };
      flight.members.add(member);
      const signal = call.signal;
      let removeAbortListener: (() => void) | null = null;
      let cancelDeadline: (() => void) | null = null;
      if (signal) {
        const onAbort = () =>
          leave(flight, member, new CallFailedError('aborted', upstream, `the call to ${upstream} was aborted`));
        if (signal.aborted) {
          onAbort();
          return;
        }
        signal.addEventListener('abort', onAbort, { once: true });
        removeAbortListener = () => signal.removeEventListener('abort', onAbort);
      }
      const deadline = call.deadlineAtEpochMs;
      const sharedDeadline = flight.call.deadlineAtEpochMs;
      if (!leader && deadline !== undefined && (sharedDeadline === undefined || deadline < sharedDeadline)) {
        // The shared call will not fail at this caller's deadline, so this caller leaves by itself.
        cancelDeadline = scheduler.setTimer(
          () =>
            leave(
              flight,
              member,
              new CallFailedError(
                'deadline',
                upstream,
                `${upstream}: the identical call this one joined did not finish before its deadline`,
                { retryAfterMs: 0 },
              ),
            ),
          deadline - scheduler.now(),
        );
      }
      if (removeAbortListener || cancelDeadline) {
        member.cleanup = () => {
          removeAbortListener?.();
          cancelDeadline?.();
        };
      }
    });
  }

  function coalesce(call: Call, next: Next): Promise<Reply> {
    if ((call.method !== 'GET' && call.method !== 'HEAD') || call.body !== null) return next(call);
    const key = keyOf(call);
    const existing = flights.get(key);
    if (existing) {
      collapsedCalls.add(call);
      return join(existing, call, false);
    }
    return join(launch(key, call, next), call, true);
  }

  return coalesce;
}
