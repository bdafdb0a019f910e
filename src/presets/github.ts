import type { Preset } from './preset.js';

/** GitHub REST and GraphQL: per-credential hourly limits, with search and GraphQL kept in their own buckets. */
export const github: Preset = {
  name: 'github',
  description: 'GitHub REST and GraphQL API (api.github.com)',
  sources: [
    'https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api',
    'https://docs.github.com/en/rest/search/search#rate-limit',
    'https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api',
    'https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api',
  ],
  options: {
    url: 'https://api.github.com',
    dialect: 'github',
    // Secondary limit: no more than 100 concurrent requests, shared by REST and GraphQL.
    concurrency: 100,
    // Bucket names are GitHub's own x-ratelimit-resource names, so responses land in the same budgets.
    routes: [
      { match: 'GET /search/code', bucket: 'code_search' },
      { match: 'GET /search/*', bucket: 'search' },
      { match: 'POST /graphql', bucket: 'graphql', cost: { points: 1 } },
      { match: '* /**', bucket: 'core' },
    ],
    limits: [
      { name: 'core', algorithm: 'fixed-window', limit: 5000, window: '1h', bucket: 'core' },
      { name: 'search', algorithm: 'fixed-window', limit: 30, window: '1m', bucket: 'search' },
      { name: 'code_search', algorithm: 'fixed-window', limit: 10, window: '1m', bucket: 'code_search' },
      { name: 'graphql', algorithm: 'fixed-window', limit: 5000, window: '1h', unit: 'points', bucket: 'graphql' },
    ],
    // Conditional requests answered 304 do not count against the primary limit: caching saves budget.
    cache: { enabled: true },
    headers: { default: { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' } },
    credentialDefaults: { header: 'authorization', prefix: 'Bearer ' },
  },
};
