import type { Preset } from './preset.js';

/**
 * OpenAI: requests and tokens per minute, per model and per organisation; the values depend on the account's tier,
 * so none are configured: the x-ratelimit-* headers of the first responses set them. Calls that spend tokens
 * reserve an estimate up front, settled with the actual usage.
 */
export const openai: Preset = {
  name: 'openai',
  description: 'OpenAI API (api.openai.com)',
  sources: [
    'https://platform.openai.com/docs/guides/rate-limits',
    'https://platform.openai.com/docs/guides/error-codes',
  ],
  options: {
    url: 'https://api.openai.com',
    dialect: 'openai',
    routes: [
      { match: 'POST /v1/chat/completions', cost: { tokens: 1000 } },
      { match: 'POST /v1/responses', cost: { tokens: 1000 } },
      { match: 'POST /v1/completions', cost: { tokens: 1000 } },
      { match: 'POST /v1/embeddings', cost: { tokens: 500 } },
    ],
    // Generations that are not streamed answer only when done: minutes, not seconds.
    timeouts: { headers: '10m', body: '5m' },
    credentialDefaults: { header: 'authorization', prefix: 'Bearer ' },
  },
};
