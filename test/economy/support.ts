/**
 * A purpose-built upstream for the economy tests: each test gives a handler that answers from the request (and the
 * test's clock, which dates every reply); the server records every request it saw.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../src/time.js';

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  atEpochMs: number;
}

export interface Answer {
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: string | Buffer;
}

export type Handler = (request: SeenRequest) => Answer | Promise<Answer>;

export interface TestUpstream {
  url: string;
  requests: SeenRequest[];
  /** Requests whose client went away before the answer was sent. */
  abandoned: SeenRequest[];
  handler: Handler;
  close(): Promise<void>;
}

export async function startUpstream(clock: Clock, handler: Handler): Promise<TestUpstream> {
  const state = { requests: [] as SeenRequest[], abandoned: [] as SeenRequest[], handler };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const seen: SeenRequest = {
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        atEpochMs: clock.now(),
      };
      state.requests.push(seen);
      let closed = false;
      response.on('close', () => {
        if (!response.writableFinished) closed = true;
      });
      const answer = await state.handler(seen);
      if (closed || response.destroyed) {
        state.abandoned.push(seen);
        return;
      }
      const body = answer.body === undefined ? '' : answer.body;
      const headers: Record<string, string | string[]> = { date: new Date(clock.now()).toUTCString() };
      for (const [name, value] of Object.entries(answer.headers ?? {})) if (value !== undefined) headers[name] = value;
      response.writeHead(answer.status ?? 200, headers);
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    get abandoned() {
      return state.abandoned;
    },
    get handler() {
      return state.handler;
    },
    set handler(next: Handler) {
      state.handler = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A promise and the functions that settle it, for handlers that answer when the test says so. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
