/**
 * Between undici's dispatch API and the pipeline: a dispatch (options + handler) becomes a `Call`, and the
 * pipeline's `Reply` is played back into the handler (undici 7 handler API, with pause/resume/abort).
 */
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { takeCallerHeaders } from '../pipeline/caller-headers.js';
import { addDiagnostics } from '../pipeline/diagnostics.js';
import type { Call, CallBody, CallHeaders, CallNotes, Reply } from '../pipeline/stage.js';

export function headersFromDispatch(headers: Dispatcher.DispatchOptions['headers']): CallHeaders {
  const result: CallHeaders = {};
  const add = (name: string, value: unknown) => {
    if (value === undefined || value === null) return;
    const key = name.toLowerCase();
    const text = Array.isArray(value) ? value.join(', ') : String(value);
    result[key] = key in result ? `${result[key]}, ${text}` : text;
  };
  if (!headers) return result;
  if (Array.isArray(headers)) {
    // Either [name, value, name, value...] or [[name, value], ...].
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as unknown as Array<[string, string]>) add(pair[0], pair[1]);
    } else {
      for (let index = 0; index + 1 < headers.length; index += 2) add(String(headers[index]), headers[index + 1]);
    }
    return result;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [name, value] of headers as Iterable<[string, string]>) add(name, value);
    return result;
  }
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) add(name, value);
  return result;
}

export function bodyFromDispatch(given: Dispatcher.DispatchOptions['body'], maxReplayBytes: number): CallBody | null {
  const body = given as unknown;
  if (body === null || body === undefined) return null;
  if (typeof body === 'string') return { kind: 'bytes', bytes: Buffer.from(body) };
  if (body instanceof Uint8Array) {
    return body.byteLength <= maxReplayBytes
      ? { kind: 'bytes', bytes: body }
      : { kind: 'stream', stream: Readable.from([body]), length: body.byteLength };
  }
  if (body instanceof Readable) return { kind: 'stream', stream: body };
  if (typeof (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    return { kind: 'stream', stream: Readable.from(body as AsyncIterable<Uint8Array>) };
  }
  if (typeof (body as Iterable<Uint8Array>)[Symbol.iterator] === 'function') {
    return { kind: 'stream', stream: Readable.from(body as Iterable<Uint8Array>) };
  }
  throw new TypeError(`unsupported request body of type ${typeof body}`);
}

type Handler = Dispatcher.DispatchHandler;

/** A controller for the handler: abort stops the call, pause/resume apply backpressure to the reply body. */
function createController(onAbort: (reason: Error) => void) {
  let body: Readable | null = null;
  const controller = {
    aborted: false,
    paused: false,
    reason: null as Error | null,
    abort(reason?: Error) {
      if (controller.aborted) return;
      controller.aborted = true;
      controller.reason = reason ?? new Error('aborted');
      body?.destroy(controller.reason);
      onAbort(controller.reason);
    },
    pause() {
      controller.paused = true;
      body?.pause();
    },
    resume() {
      controller.paused = false;
      body?.resume();
    },
    attach(readable: Readable | null) {
      body = readable;
    },
  };
  return controller;
}

/** Plays a pipeline run (a promise of a reply, and the call's notes) into an undici handler. */
export function playReply(
  handler: Handler,
  run: (signal: AbortSignal) => Promise<{ reply: Reply; notes: CallNotes }>,
): void {
  const abortController = new AbortController();
  const controller = createController((reason) => abortController.abort(reason));
  const dispatchController = controller as unknown as Dispatcher.DispatchController;
  handler.onRequestStart?.(dispatchController, {});
  const fail = (error: unknown) => {
    if (controller.aborted && error === controller.reason) return;
    handler.onResponseError?.(dispatchController, error instanceof Error ? error : new Error(String(error)));
  };
  run(abortController.signal).then(({ reply, notes }) => {
    if (controller.aborted) {
      reply.body?.destroy();
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(reply.headers)) if (value !== undefined) headers[name] = value;
    addDiagnostics(headers, notes);
    handler.onResponseStart?.(dispatchController, reply.status, headers, '');
    const body = reply.body;
    if (!body) {
      handler.onResponseEnd?.(dispatchController, {});
      return;
    }
    controller.attach(body);
    if (controller.paused) body.pause();
    body.on('data', (chunk: Buffer) => handler.onResponseData?.(dispatchController, chunk));
    body.once('end', () => handler.onResponseEnd?.(dispatchController, {}));
    body.once('error', fail);
  }, fail);
}

/** The call a dispatch describes. */
export function callFromDispatch(
  options: Dispatcher.DispatchOptions,
  upstream: string,
  path: string,
  maxReplayBytes: number,
  signal: AbortSignal,
  nowEpochMs: number,
): Call {
  const headers = headersFromDispatch(options.headers);
  const caller = takeCallerHeaders(headers, nowEpochMs);
  return {
    upstream,
    method: (options.method ?? 'GET').toUpperCase(),
    path,
    headers,
    body: bodyFromDispatch(options.body, maxReplayBytes),
    tenant: undefined,
    priority: caller.priority,
    deadlineAtEpochMs: caller.deadlineAtEpochMs,
    signal,
    cost: caller.cost,
    notes: { waitedMs: 0, attempts: 0 },
  };
}
