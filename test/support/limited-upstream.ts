/**
 * A small rate-limited HTTP upstream for tests: a fixed window of `limit` calls that starts with the first call
 * (GitHub's model), GitHub-style headers (reset in epoch seconds), time from the test's clock. It can also be told
 * to answer the next calls with a given status and headers, to test retries.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../src/time.js';

export interface ScriptedReply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface LimitedUpstream {
  url: string;
  accepted: number;
  rejected: number;
  /** Requests as the server saw them: method, path, headers, body, and the clock's time. */
  requests: Array<{
    method: string;
    path: string;
    headers: IncomingMessage['headers'];
    body: string;
    atEpochMs: number;
  }>;
  /** The next calls get these replies instead of the limiter's (first in, first out). */
  script: ScriptedReply[];
  close(): Promise<void>;
}

export async function startLimitedUpstream(options: {
  clock: Clock;
  limit: number;
  windowMs: number;
  rejectStatus?: number;
}): Promise<LimitedUpstream> {
  let windowEndsAt = 0;
  let used = 0;
  const state: Omit<LimitedUpstream, 'url' | 'close'> = { accepted: 0, rejected: 0, requests: [], script: [] };

  const handle = (request: IncomingMessage, response: ServerResponse, body: string) => {
    const now = options.clock.now();
    state.requests.push({
      method: request.method ?? '',
      path: request.url ?? '',
      headers: request.headers,
      body,
      atEpochMs: now,
    });
    const scripted = state.script.shift();
    if (scripted) {
      response.writeHead(scripted.status, { date: new Date(now).toUTCString(), ...scripted.headers });
      response.end(scripted.body ?? '');
      return;
    }
    if (now >= windowEndsAt) {
      windowEndsAt = now + options.windowMs;
      used = 0;
    }
    const allowed = used < options.limit;
    if (allowed) used++;
    const headers = {
      'content-type': 'application/json',
      'x-ratelimit-limit': String(options.limit),
      'x-ratelimit-remaining': String(options.limit - used),
      'x-ratelimit-used': String(used),
      'x-ratelimit-reset': String(Math.ceil(windowEndsAt / 1000)),
      'x-ratelimit-resource': 'core',
      date: new Date(now).toUTCString(),
    };
    if (allowed) {
      state.accepted++;
      response.writeHead(200, headers);
      response.end(JSON.stringify({ ok: true, path: request.url }));
    } else {
      state.rejected++;
      response.writeHead(options.rejectStatus ?? 403, headers);
      response.end(JSON.stringify({ message: 'API rate limit exceeded for user ID 1.' }));
    }
  };

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handle(request, response, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const upstream = state as LimitedUpstream;
  upstream.url = `http://127.0.0.1:${port}`;
  upstream.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return upstream;
}
