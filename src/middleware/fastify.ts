/**
 * Inbound rate limiting for Fastify 5, as a plugin that adds an `onRequest` hook to the context it is registered
 * in (the whole app at the root, or only the routes of an encapsulated child context):
 *
 *   import { rateLimit } from 'sluice/fastify';
 *   await app.register(rateLimit, { limits: { algorithm: 'sliding-window', limit: 100, window: '1m' } });
 *
 * The default key is `request.ip`, which follows Fastify's `trustProxy` option.
 */
import type { FastifyPluginCallback, FastifyRequest } from 'fastify';
import { refusalResponse, releaseVerdict } from '../inbound/verdict.js';
import { createRateLimitCheck, type RateLimitOptions } from './core.js';

export { clientAddressKey } from '../inbound/address.js';
export type { InboundVerdict, KeyFunction } from './core.js';
export type FastifyRateLimitOptions = RateLimitOptions<FastifyRequest>;

const addressOf = (request: FastifyRequest) => request.ip;

const plugin: FastifyPluginCallback<FastifyRateLimitOptions> = (fastify, options, done) => {
  let check: ReturnType<typeof createRateLimitCheck<FastifyRequest>>;
  try {
    check = createRateLimitCheck(options, addressOf);
  } catch (error) {
    done(error as Error);
    return;
  }
  fastify.addHook('onRequest', async (request, reply) => {
    const verdict = await check(request);
    const refusal = refusalResponse(verdict);
    if (refusal !== null) return reply.code(refusal.status).headers(refusal.headers).send(refusal.body);
    reply.headers(verdict.headers);
    // Concurrency slots are held until the response is done, or the connection gone.
    if (verdict.holds.length > 0) reply.raw.once('close', () => void releaseVerdict(verdict));
  });
  done();
};

// Like fastify-plugin: the hook belongs to the context that registers the plugin, not to a new child of it.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'sluice-rate-limit',
});

export const rateLimit = plugin;
