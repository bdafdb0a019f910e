import type { Preset } from './preset.js';

/**
 * Anthropic: requests, input tokens and output tokens per minute, set by the organisation's tier, so none are
 * configured: the anthropic-ratelimit-* headers set them. 529 (overloaded) is retried like a 503.
 */
export const anthropic: Preset = {
  name: 'anthropic',
  description: 'Anthropic API (api.anthropic.com)',
  sources: [
    'https://docs.anthropic.com/en/api/rate-limits',
    'https://docs.anthropic.com/en/api/errors',
    'https://docs.anthropic.com/en/api/versioning',
  ],
  options: {
    url: 'https://api.anthropic.com',
    dialect: 'anthropic',
    routes: [{ match: 'POST /v1/messages', cost: { tokens: 1000 } }],
    retry: { retryOn: [408, 429, 500, 502, 503, 504, 529] },
    timeouts: { headers: '10m', body: '5m' },
    headers: { default: { 'anthropic-version': '2023-06-01' } },
    credentialDefaults: { header: 'x-api-key', prefix: '' },
  },
};
