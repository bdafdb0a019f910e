/**
 * Which headers cross the gateway. Hop-by-hop fields (RFC 9110 §7.6.1) belong to one connection and are never
 * forwarded, nor are the fields the `Connection` header names; every `x-sluice-*` field is the caller's instruction
 * to the gateway, not the upstream's business.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { CallHeaders, ReplyHeaders } from '../pipeline/stage.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

function connectionListed(connection: string | string[] | undefined): Set<string> {
  const listed = new Set<string>();
  if (!connection) return listed;
  for (const part of (Array.isArray(connection) ? connection.join(',') : connection).split(',')) {
    const name = part.trim().toLowerCase();
    if (name) listed.add(name);
  }
  return listed;
}

export interface ForwardOptions {
  /** The header that carries the caller's gateway key (never forwarded). */
  callerKeyHeader: string;
  /** Fields that never leave the gateway besides hop-by-hop ones (the caller's credentials, say). */
  drop?: ReadonlySet<string>;
}

/** The request headers to send upstream: lower-case names, repeated ones joined. */
export function requestHeadersToForward(incoming: IncomingHttpHeaders, options: ForwardOptions): CallHeaders {
  const listed = connectionListed(incoming.connection);
  const result: CallHeaders = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name) || listed.has(name) || name === 'host' || name === options.callerKeyHeader) continue;
    if (name.startsWith('x-sluice-') || options.drop?.has(name)) continue;
    result[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return result;
}

/** The reply headers to send back to the caller. */
export function replyHeadersToReturn(headers: ReplyHeaders): Record<string, string | string[]> {
  const listed = connectionListed(headers.connection);
  const result: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name)) continue;
    result[name] = value;
  }
  return result;
}
