import type { Preset } from './preset.js';

/**
 * Stripe: 100 read and 100 write operations per second in live mode (25 each in test mode: override the limits for
 * test keys), and 20 per second for the Search API. Stripe states no remaining budget in its headers, so these
 * starting values matter more than for other providers. Writes get an Idempotency-Key so they can be retried.
 */
export const stripe: Preset = {
  name: 'stripe',
  description: 'Stripe API (api.stripe.com), live mode',
  sources: ['https://docs.stripe.com/rate-limits', 'https://docs.stripe.com/api/idempotent_requests'],
  options: {
    url: 'https://api.stripe.com',
    dialect: 'stripe',
    routes: [
      { match: 'GET /v1/*/search', bucket: 'search' },
      { match: 'GET /**', bucket: 'read' },
      { match: '* /**', bucket: 'write' },
    ],
    limits: [
      { name: 'read', algorithm: 'token-bucket', limit: 100, window: '1s', bucket: 'read' },
      { name: 'write', algorithm: 'token-bucket', limit: 100, window: '1s', bucket: 'write' },
      { name: 'search', algorithm: 'token-bucket', limit: 20, window: '1s', bucket: 'search' },
    ],
    retry: { idempotencyKey: true },
    credentialDefaults: { header: 'authorization', prefix: 'Bearer ' },
  },
};
