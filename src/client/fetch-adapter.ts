/**
 * Between WHATWG fetch and the pipeline: a `Request`/`RequestInit` becomes a `Call`, a `Reply` becomes a
 * `Response`. Bodies up to `maxReplayBytes` are read whole (so a retry can send them again); larger or streaming
 * ones go through as a stream and are not retried once sent.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { addDiagnostics } from '../pipeline/diagnostics.js';
import type { Call, CallBody, CallHeaders, Cost, Reply } from '../pipeline/stage.js';

/** Per-call options, given as `init.sluice` to `client.fetch`. */
export interface CallOptions {
  /** Higher is served first (default 0). */
  priority?: number;
  /** What the call spends besides one request, e.g. `{ tokens: 1200 }` for an LLM call. */
  cost?: Cost;
  /** The tenant whose credential and budget the call uses. */
  tenant?: string;
  /** Fail instead of waiting longer than this for the budget (ms from now). */
  deadlineMs?: number;
}

export type SluiceRequestInit = RequestInit & { sluice?: CallOptions };

const STREAMING_BODY = (body: unknown): boolean =>
  typeof body === 'object' &&
  body !== null &&
  (typeof (body as ReadableStream).getReader === 'function' || Symbol.asyncIterator in body);

export function headersToObject(headers: Headers): CallHeaders {
  const result: CallHeaders = {};
  headers.forEach((value, name) => {
    result[name] = value;
  });
  return result;
}

/**
 * Resolves what was asked for against the client's base URL, as a path relative to it (with its query). A relative
 * path is appended to the base path; an absolute URL must be under the base URL (a client is bound to one
 * upstream), and dot segments may not climb out of it.
 */
export function pathUnderBase(baseUrl: URL, target: string | URL): string {
  const basePath = baseUrl.pathname.replace(/\/+$/, '');
  const isRelative = typeof target === 'string' && !/^[a-z][a-z0-9+.-]*:/i.test(target);
  const url = isRelative
    ? new URL(basePath + (target.startsWith('/') ? target : `/${target}`), baseUrl.origin)
    : new URL(target);
  if (url.origin !== baseUrl.origin || !(url.pathname === basePath || url.pathname.startsWith(`${basePath}/`))) {
    throw new TypeError(`${url.href} is not under this client's base URL ${baseUrl.href}`);
  }
  return (url.pathname.slice(basePath.length) || '/') + url.search;
}

export interface CallFromRequestOptions {
  upstream: string;
  baseUrl: URL;
  maxReplayBytes: number;
  signal?: AbortSignal;
  defaults?: { tenant?: string; priority?: number };
  now: number;
}

/** Builds the pipeline's call from fetch arguments. */
export async function callFromFetch(
  input: string | URL | Request,
  init: SluiceRequestInit | undefined,
  options: CallFromRequestOptions,
): Promise<Call> {
  const target = input instanceof Request ? input.url : input;
  const path = pathUnderBase(options.baseUrl, target);
  const absolute = new URL(options.baseUrl.pathname.replace(/\/+$/, '') + path, options.baseUrl.origin);
  const streaming = STREAMING_BODY(init?.body);
  // Building a Request validates method and headers the standard way and serialises strings, forms and blobs.
  const base = input instanceof Request ? new Request(absolute, input) : absolute;
  const request = new Request(base, streaming ? { ...init, body: null } : init);
  let body: CallBody | null = null;
  if (streaming) {
    const source = init?.body as unknown;
    const stream =
      typeof (source as ReadableStream).getReader === 'function'
        ? Readable.fromWeb(source as NodeReadableStream)
        : Readable.from(source as AsyncIterable<Uint8Array>);
    body = { kind: 'stream', stream };
  } else if (request.body !== null) {
    const bytes = new Uint8Array(await request.arrayBuffer());
    body =
      bytes.byteLength <= options.maxReplayBytes
        ? { kind: 'bytes', bytes }
        : { kind: 'stream', stream: Readable.from([bytes]), length: bytes.byteLength };
  }
  const sluice = init?.sluice ?? {};
  const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined) ?? options.signal;
  return {
    upstream: options.upstream,
    method: request.method,
    path,
    headers: headersToObject(request.headers),
    body,
    tenant: sluice.tenant ?? options.defaults?.tenant,
    priority: sluice.priority ?? options.defaults?.priority ?? 0,
    deadlineAtEpochMs: sluice.deadlineMs === undefined ? undefined : options.now + sluice.deadlineMs,
    signal: signal ?? undefined,
    cost: sluice.cost ?? {},
    notes: { waitedMs: 0, attempts: 0 },
  };
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** Turns a pipeline reply into a standard `Response` (the global one, so `instanceof Response` holds). */
export function responseFromReply(reply: Reply, call: Call): Response {
  const fields: Record<string, string | string[]> = { ...reply.headers };
  addDiagnostics(fields, call.notes);
  const headers = new Headers();
  for (const [name, value] of Object.entries(fields)) {
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else if (value !== undefined) headers.append(name, String(value));
  }
  const noBody = NULL_BODY_STATUSES.has(reply.status) || call.method === 'HEAD';
  if (noBody) reply.body?.resume();
  return new Response(noBody ? null : (reply.body as unknown as ReadableStream | null), {
    status: reply.status,
    headers,
  });
}
