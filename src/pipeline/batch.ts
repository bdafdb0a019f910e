/**
 * The batch stage: single-item GETs on a configured batch route (GET /users/{id}) are collected for up to
 * `maxWaitMs` and sent as one upstream call (GET /users?ids=1,2,3, or a JSON POST), which costs one unit of budget;
 * its reply is split back to each caller by the configured key. An item missing from the reply is a 404 for its
 * caller alone. Calls are batched only with calls of the same tenant, headers and query.
 */
import type { Scheduler } from '../time.js';
import {
  type BatchRoute,
  batchRequest,
  type CompiledBatchRoute,
  compileBatchRoute,
  matchBatchRoute,
  splitBatchReply,
} from './batch-split.js';
import { bytesStream, discardBody, readWholeBody } from './cache-body.js';
import { DEFAULT_COALESCE_IGNORED_HEADERS, headerSignature } from './coalesce.js';
import { CallFailedError } from './errors.js';
import type { Call, CallHeaders, Next, Reply, ReplyHeaders, Stage } from './stage.js';

export interface BatchDependencies {
  upstream: string;
  scheduler: Scheduler;
}

interface Member {
  rawId: string;
  call: Call;
  resolve(reply: Reply): void;
  reject(error: unknown): void;
  gone: boolean;
  cleanup: (() => void) | null;
}

interface Group {
  key: string;
  route: CompiledBatchRoute;
  batchPath: string;
  members: Member[];
  ids: Set<string>;
  cancelTimer: (() => void) | null;
  sent: boolean;
  controller: AbortController;
}

/** A call that asks for its own validators or cache semantics is sent alone (a batch reply cannot answer 304). */
const SENT_ALONE_IF_PRESENT = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'range'];
/** Headers that describe the batch reply's body as a whole, not any one item of it. */
const WHOLE_BODY_HEADERS = new Set([
  'content-length',
  'content-encoding',
  'content-range',
  'content-location',
  'etag',
  'last-modified',
  'transfer-encoding',
]);

function itemHeaders(headers: ReplyHeaders, length: number): ReplyHeaders {
  const result: ReplyHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!WHOLE_BODY_HEADERS.has(name)) result[name] = Array.isArray(value) ? [...value] : value;
  }
  result['content-type'] ??= 'application/json';
  result['content-length'] = String(length);
  return result;
}

function missingItem(upstream: string, route: CompiledBatchRoute, rawId: string): Reply {
  const body = Buffer.from(
    JSON.stringify({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: `the batch reply of ${upstream} for ${route.match} has no item with ${route.itemName} ${JSON.stringify(rawId)}`,
    }),
  );
  // A missing item may only be missing from this batch; never let a cache keep the answer.
  return {
    status: 404,
    headers: {
      'content-type': 'application/problem+json',
      'content-length': String(body.length),
      'cache-control': 'no-store',
    },
    body: bytesStream(body),
  };
}

export function createBatchStage(routes: readonly BatchRoute[], dependencies: BatchDependencies): Stage {
  const { upstream, scheduler } = dependencies;
  const compiled = routes.map((route, index) => compileBatchRoute(route, index));
  const ignored: ReadonlySet<string> = new Set(DEFAULT_COALESCE_IGNORED_HEADERS);
  const groups = new Map<string, Group>();

  function settle(member: Member): void {
    member.cleanup?.();
    member.cleanup = null;
  }

  function leave(group: Group, member: Member, error: CallFailedError): void {
    if (member.gone) return;
    member.gone = true;
    settle(member);
    member.reject(error);
    if (!group.members.every((other) => other.gone)) return;
    if (group.sent) group.controller.abort(error);
    else {
      group.cancelTimer?.();
      if (groups.get(group.key) === group) groups.delete(group.key);
    }
  }

  function answer(member: Member, result: { reply: Reply } | { error: unknown }): void {
    if (member.gone) return;
    member.gone = true;
    settle(member);
    if ('reply' in result) member.resolve(result.reply);
    else member.reject(result.error);
  }

  async function split(group: Group, batchCall: Call, reply: Reply, alive: Member[], ids: string[]): Promise<void> {
    for (const member of alive) {
      member.call.notes.attempts = batchCall.notes.attempts;
      member.call.notes.waitedMs += batchCall.notes.waitedMs;
    }
    const route = group.route;
    const body = await readWholeBody(reply, route.maxBodyBytes);
    if (body === null) {
      discardBody(reply);
      const error = new CallFailedError(
        'upstream-protocol',
        upstream,
        `${upstream}: the batch reply for ${route.match} is larger than ${route.maxBodyBytes} bytes (batch[${route.index}].maxBodyBytes)`,
      );
      for (const member of alive) answer(member, { error });
      return;
    }
    if (reply.status < 200 || reply.status >= 300) {
      // The batch call failed as a whole: every caller gets the upstream's answer, as it would have alone.
      for (const member of alive) {
        answer(member, {
          reply: { status: reply.status, headers: { ...reply.headers }, body: bytesStream(body), signal: reply.signal },
        });
      }
      return;
    }
    const encoding = reply.headers['content-encoding'];
    const result =
      encoding !== undefined && encoding !== 'identity'
        ? { ok: false as const, problem: `the batch reply is encoded (${encoding}) and cannot be split` }
        : splitBatchReply(route, body.toString('utf8'), ids);
    if (!result.ok) {
      const error = new CallFailedError('upstream-protocol', upstream, `${upstream}: ${result.problem}`);
      for (const member of alive) answer(member, { error });
      return;
    }
    for (const member of alive) {
      const json = result.items.get(member.rawId);
      if (json === null || json === undefined) {
        answer(member, { reply: missingItem(upstream, route, member.rawId) });
        continue;
      }
      const bytes = Buffer.from(json);
      answer(member, {
        reply: {
          status: reply.status,
          headers: itemHeaders(reply.headers, bytes.length),
          body: bytesStream(bytes),
          signal: reply.signal,
        },
      });
    }
  }

  function dispatch(group: Group, next: Next): void {
    if (groups.get(group.key) === group) groups.delete(group.key);
    group.cancelTimer?.();
    group.cancelTimer = null;
    group.sent = true;
    const alive = group.members.filter((member) => !member.gone);
    if (alive.length === 0) return;
    const ids = [...new Set(alive.map((member) => member.rawId))];
    if (ids.length === 1) {
      // Nothing to batch with: each call goes as it came, with the reply the upstream gives it.
      for (const member of alive) {
        next(member.call).then(
          (reply) => answer(member, { reply }),
          (error: unknown) => answer(member, { error }),
        );
      }
      return;
    }
    const first = alive[0] as Member;
    const request = batchRequest(group.route, group.batchPath, ids);
    const headers: CallHeaders = { ...first.call.headers };
    delete headers['content-length'];
    // The reply must be split as JSON: ask for it unencoded.
    delete headers['accept-encoding'];
    if (request.body !== null) headers['content-type'] = 'application/json';
    const batchCall: Call = {
      upstream: first.call.upstream,
      method: group.route.method,
      path: request.path,
      headers,
      body: request.body === null ? null : { kind: 'bytes', bytes: request.body },
      tenant: first.call.tenant,
      priority: Math.max(...alive.map((member) => member.call.priority)),
      deadlineAtEpochMs: undefined,
      signal: group.controller.signal,
      cost: {},
      notes: { waitedMs: 0, attempts: 0 },
    };
    let sent: Promise<Reply>;
    try {
      sent = next(batchCall);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(
      (reply) =>
        split(group, batchCall, reply, alive, ids).catch((error: unknown) => {
          for (const member of alive) answer(member, { error });
        }),
      (error: unknown) => {
        for (const member of alive) answer(member, { error });
      },
    );
  }

  function join(group: Group, member: Member, next: Next): void {
    group.members.push(member);
    group.ids.add(member.rawId);
    const { signal, deadlineAtEpochMs } = member.call;
    let removeAbortListener: (() => void) | null = null;
    let cancelDeadline: (() => void) | null = null;
    if (signal) {
      const onAbort = () =>
        leave(group, member, new CallFailedError('aborted', upstream, `the call to ${upstream} was aborted`));
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      removeAbortListener = () => signal.removeEventListener('abort', onAbort);
    }
    if (deadlineAtEpochMs !== undefined) {
      cancelDeadline = scheduler.setTimer(
        () =>
          leave(
            group,
            member,
            new CallFailedError(
              'deadline',
              upstream,
              `${upstream}: the batch this call joined did not answer before its deadline`,
              {
                retryAfterMs: 0,
              },
            ),
          ),
        deadlineAtEpochMs - scheduler.now(),
      );
    }
    if (removeAbortListener || cancelDeadline) {
      member.cleanup = () => {
        removeAbortListener?.();
        cancelDeadline?.();
      };
    }
    if (group.ids.size >= group.route.maxBatch) dispatch(group, next);
  }

  return function batch(call: Call, next: Next): Promise<Reply> {
    if (compiled.length === 0 || call.method !== 'GET' || call.body !== null) return next(call);
    if (SENT_ALONE_IF_PRESENT.some((name) => call.headers[name] !== undefined)) return next(call);
    const match = matchBatchRoute(compiled, call.method, call.path);
    if (match === null) return next(call);
    const key = `${match.route.index}\n${match.batchPath}\n${call.tenant ?? '\u0000'}\n${headerSignature(call.headers, ignored)}`;
    let group = groups.get(key);
    if (!group) {
      const created: Group = {
        key,
        route: match.route,
        batchPath: match.batchPath,
        members: [],
        ids: new Set(),
        cancelTimer: null,
        sent: false,
        controller: new AbortController(),
      };
      created.cancelTimer = scheduler.setTimer(() => dispatch(created, next), match.route.maxWaitMs);
      groups.set(key, created);
      group = created;
    }
    const target = group;
    return new Promise<Reply>((resolve, reject) => {
      join(target, { rawId: match.rawId, call, resolve, reject, gone: false, cleanup: null }, next);
    });
  };
}
