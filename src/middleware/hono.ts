/**
 * Inbound rate limiting for Hono:
 *
 *   import { rateLimit } from 'sluice/hono';
 *   app.use(rateLimit({ limits: { algorithm: 'sliding-window', limit: 100, window: '1m' } }));
 *
 * The default key is the socket's address, which Hono has on Node through @hono/node-server; on another runtime
 * (or behind a proxy) pass `key`, e.g. `key: (c) => c.req.header('cf-connecting-ip')` where that header is trusted.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { InvalidOptionError } from '../errors.js';
import { refusalResponse, releaseVerdict } from '../inbound/verdict.js';
import { createRateLimitCheck, type RateLimitOptions } from './core.js';

export { clientAddressKey } from '../inbound/address.js';
export type { InboundVerdict, KeyFunction } from './core.js';
export type HonoRateLimitOptions = RateLimitOptions<Context>;

interface NodeBindings {
  incoming?: { socket?: { remoteAddress?: string } };
  server?: { incoming?: { socket?: { remoteAddress?: string } } };
}

/** The socket address @hono/node-server puts in `c.env` (directly, or under `server` with other bindings). */
function addressOf(context: Context): string | undefined {
  const bindings = context.env as NodeBindings | undefined;
  const incoming = bindings?.incoming ?? bindings?.server?.incoming;
  const address = incoming?.socket?.remoteAddress;
  if (address === undefined) {
    throw new InvalidOptionError(
      'key',
      'the client address is not known here (Hono gives it on Node with @hono/node-server); pass key: (c) => ... naming the caller',
    );
  }
  return address;
}

export function rateLimit(options: HonoRateLimitOptions): MiddlewareHandler {
  const check = createRateLimitCheck(options, addressOf);
  return async (context, next) => {
    const verdict = await check(context);
    const refusal = refusalResponse(verdict);
    if (refusal !== null) return new Response(refusal.body, { status: refusal.status, headers: refusal.headers });
    // Set on the context's response before the handler runs: Hono carries these headers over to whatever response
    // the handler returns (c.json, or a Response of its own), as its cors middleware relies on.
    const { headers } = verdict;
    const target = context.res.headers;
    for (const name in headers) target.set(name, headers[name] as string);
    if (verdict.holds.length === 0) return next();
    try {
      await next();
    } finally {
      await releaseVerdict(verdict);
    }
  };
}
