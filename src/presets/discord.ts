import type { Preset } from './preset.js';

/**
 * Discord: a global 50 requests per second per bot, and per-route buckets that the responses name
 * (X-RateLimit-Bucket), kept per major parameter (channel, guild, webhook).
 */
export const discord: Preset = {
  name: 'discord',
  description: 'Discord HTTP API (discord.com/api/v10)',
  sources: [
    'https://discord.com/developers/docs/topics/rate-limits',
    'https://discord.com/developers/docs/reference#authentication',
  ],
  options: {
    url: 'https://discord.com/api/v10',
    dialect: 'discord',
    limits: [{ name: 'global', algorithm: 'sliding-window', limit: 50, window: '1s' }],
    // The longest template first: a webhook with its token is a different resource from the webhook alone.
    majorParameters: ['/channels/{id}', '/guilds/{id}', '/webhooks/{id}/{token}', '/webhooks/{id}'],
    credentialDefaults: { header: 'authorization', prefix: 'Bot ' },
  },
};
