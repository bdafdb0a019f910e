import type { Preset } from './preset.js';

/**
 * Shopify Admin API: a leaky bucket per app and store. REST: 40 requests, leaking 2 per second (Standard plan);
 * GraphQL: calculated query cost, restored at 100 points per second (Standard plan). Each shop has its own URL, so
 * the preset sets none: give `url: https://<shop>.myshopify.com`.
 */
export const shopify: Preset = {
  name: 'shopify',
  description: 'Shopify Admin API (REST and GraphQL), per shop',
  sources: [
    'https://shopify.dev/docs/api/usage/limits',
    'https://shopify.dev/docs/api/admin-rest/usage/rate-limits',
    'https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits',
  ],
  options: {
    dialect: 'shopify',
    routes: [
      // An estimate of a query's cost until the response states it (extensions.cost).
      { match: 'POST /admin/api/*/graphql.json', bucket: 'graphql', cost: { points: 10 } },
      { match: '* /**', bucket: 'rest' },
    ],
    limits: [
      { name: 'rest', algorithm: 'leaky-bucket', limit: 2, window: '1s', burst: 40, bucket: 'rest' },
      {
        name: 'graphql',
        algorithm: 'leaky-bucket',
        limit: 100,
        window: '1s',
        burst: 1000,
        unit: 'points',
        bucket: 'graphql',
      },
    ],
    credentialDefaults: { header: 'x-shopify-access-token', prefix: '' },
  },
};
