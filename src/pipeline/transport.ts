/**
 * The end of the pipeline: one attempt over undici. The same transport serves the client (over its own Agent, or
 * over the dispatcher an interceptor wraps) and the gateway (over a keep-alive pool per upstream).
 */
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import type { TransportFailure } from '../retry/policy.js';
import { CallFailedError } from './errors.js';
import type { Call, Next, ReplyHeaders } from './stage.js';

export interface TransportOptions {
  upstream: string;
  /** The upstream's base URL: origin plus an optional base path that every call's path is appended to. */
  baseUrl: string;
  dispatcher: Pick<Dispatcher, 'request'>;
  /** Time to wait for the reply's headers, and between body chunks. */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

/** An attempt failed before any reply; `failure` says whether the upstream may have acted on it. */
export class TransportError extends Error {
  readonly failure: TransportFailure;
  constructor(failure: TransportFailure, cause: unknown) {
    super(`${failure}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'TransportError';
    this.failure = failure;
  }
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Says how an undici error failed. Only failures to connect are known to leave the request unsent; a reset on an
 * open connection may come after the upstream read it, so it is treated as an unknown outcome.
 */
export function classifyTransportError(error: unknown): TransportFailure | null {
  const code = (error as { code?: string } | null)?.code ?? '';
  const causeCode = ((error as { cause?: { code?: string } } | null)?.cause?.code as string | undefined) ?? '';
  if (NOT_SENT_CODES.has(code) || NOT_SENT_CODES.has(causeCode)) return 'connect-refused';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || causeCode === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout-before-send';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timeout-after-send';
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_CLOSED') {
    return 'reset-after-send';
  }
  const name = (error as { name?: string } | null)?.name;
  if (
    code.startsWith('HPE_') ||
    name === 'HTTPParserError' ||
    code === 'UND_ERR_INFO' ||
    code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH'
  ) {
    return 'protocol';
  }
  return null;
}

/** Turns a transport failure that will not be retried into the error the caller sees. */
export function failureToCallError(upstream: string, error: TransportError): CallFailedError {
  switch (error.failure) {
    case 'timeout-after-send':
    case 'timeout-before-send':
      return new CallFailedError(
        'upstream-timeout',
        upstream,
        `${upstream} did not answer in time (${error.message})`,
        {
          cause: error,
        },
      );
    case 'protocol':
      return new CallFailedError(
        'upstream-protocol',
        upstream,
        `${upstream} answered with a malformed reply (${error.message})`,
        {
          cause: error,
        },
      );
    default:
      return new CallFailedError(
        'upstream-unreachable',
        upstream,
        `${upstream} could not be reached (${error.message})`,
        {
          cause: error,
        },
      );
  }
}

export function createAgent(options: { connectTimeoutMs?: number; connections?: number } = {}): Agent {
  return new Agent({
    connect: { timeout: options.connectTimeoutMs ?? 10_000 },
    keepAliveTimeout: 10_000,
    connections: options.connections ?? null,
  });
}

export function createTransport(options: TransportOptions): Next {
  const base = new URL(options.baseUrl);
  const origin = base.origin;
  const basePath = base.pathname.replace(/\/+$/, '');
  return async function transport(call: Call) {
    const body =
      call.body === null
        ? null
        : call.body.kind === 'bytes'
          ? Buffer.from(call.body.bytes)
          : (call.body.stream as Readable);
    try {
      const response = await options.dispatcher.request({
        origin,
        path: basePath + call.path,
        method: call.method as Dispatcher.HttpMethod,
        headers: call.headers,
        body,
        signal: call.signal,
        headersTimeout: options.headersTimeoutMs,
        bodyTimeout: options.bodyTimeoutMs,
      });
      return {
        status: response.statusCode,
        headers: response.headers as ReplyHeaders,
        body: response.body as unknown as Readable,
      };
    } catch (error) {
      if (call.signal?.aborted) {
        throw new CallFailedError('aborted', options.upstream, `the call to ${options.upstream} was aborted`, {
          cause: error,
        });
      }
      const failure = classifyTransportError(error);
      if (failure === null) throw error;
      throw new TransportError(failure, error);
    }
  };
}
