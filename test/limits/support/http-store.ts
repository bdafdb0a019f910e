/**
 * A limit store reached over HTTP on 127.0.0.1: the memory store behind a real server, so that tests can take
 * the backend away (close the server: connections are refused) and bring it back, as a network store fails.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LimitStore, StoreRequest } from '../../../src/limits/store.js';
import type { PolicyResult } from '../../../src/limits/types.js';

export interface StoreServer {
  url: string;
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

export async function serveStore(store: LimitStore): Promise<StoreServer> {
  let server: Server | undefined;
  let port = 0;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        request.on('end', () => {
          store.evaluate(JSON.parse(body) as StoreRequest).then(
            (results) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(results)),
            (error: unknown) => response.writeHead(500).end(String(error)),
          );
        });
      });
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        port = (next.address() as AddressInfo).port;
        server = next;
        resolve();
      });
    });
  await start();
  return {
    get url() {
      return `http://127.0.0.1:${port}/`;
    },
    start,
    stop: () =>
      new Promise<void>((resolve) => {
        server?.closeAllConnections();
        server?.close(() => resolve());
      }),
  };
}

export function httpStore(url: string): LimitStore {
  return {
    async evaluate(request) {
      const response = await fetch(url, {
        method: 'POST',
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(2000),
        headers: { connection: 'close' },
      });
      if (!response.ok) throw new Error(`store answered ${response.status}: ${await response.text()}`);
      return (await response.json()) as PolicyResult[];
    },
  };
}
