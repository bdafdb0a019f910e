/**
 * Inbound rate limiting for Express 5:
 *
 *   import { rateLimit } from 'sluice/express';
 *   app.use(rateLimit({ limits: { algorithm: 'sliding-window', limit: 100, window: '1m' } }));
 *
 * Allowed requests carry the RateLimit fields; the request over the limit gets 429 with Retry-After and an RFC 9457
 * problem body. The default key is `request.ip`, which follows Express's `trust proxy` setting.
 */
import type { Request, RequestHandler } from 'express';
import { refusalResponse, releaseVerdict } from '../inbound/verdict.js';
import { createRateLimitCheck, type RateLimitOptions } from './core.js';

export { clientAddressKey } from '../inbound/address.js';
export type { InboundVerdict, KeyFunction } from './core.js';
export type ExpressRateLimitOptions = RateLimitOptions<Request>;

const addressOf = (request: Request) => request.ip ?? request.socket.remoteAddress;

export function rateLimit(options: ExpressRateLimitOptions): RequestHandler {
  const check = createRateLimitCheck(options, addressOf);
  return (request, response, next) => {
    check(request).then((verdict) => {
      const refusal = refusalResponse(verdict);
      if (refusal !== null) {
        response.writeHead(refusal.status, refusal.headers).end(refusal.body);
        return;
      }
      const { headers } = verdict;
      for (const name in headers) response.setHeader(name, headers[name] as string);
      // Concurrency slots are held until the response is done, or the connection gone.
      if (verdict.holds.length > 0) response.once('close', () => void releaseVerdict(verdict));
      next();
    }, next);
  };
}
