import type { Preset } from './preset.js';

/**
 * Slack Web API: limits per method, per app and workspace, in tiers (Tier 1: 1+, Tier 2: 20+, Tier 3: 50+,
 * Tier 4: 100+ per minute). Slack states no remaining budget, only Retry-After on 429, so the common methods get
 * their tier's floor as a starting value and the others are paced by discovery.
 */
const tiers = {
  'conversations.list': 20,
  'users.list': 20,
  'conversations.history': 50,
  'conversations.replies': 50,
  'conversations.members': 50,
  'chat.update': 50,
  'chat.delete': 50,
  'users.info': 100,
  'conversations.info': 100,
} as const;

export const slack: Preset = {
  name: 'slack',
  description: 'Slack Web API (slack.com/api)',
  sources: ['https://api.slack.com/apis/rate-limits', 'https://api.slack.com/methods (each method lists its tier)'],
  options: {
    url: 'https://slack.com/api',
    dialect: 'slack',
    routes: [
      // One message per second per channel: the channel is in the body, so it is left to Retry-After.
      { match: '* /chat.postMessage', bucket: 'chat.postMessage' },
      ...Object.keys(tiers).map((method) => ({ match: `* /${method}`, bucket: method })),
    ],
    limits: Object.entries(tiers).map(([method, perMinute]) => ({
      name: method,
      algorithm: 'sliding-window' as const,
      limit: perMinute,
      window: '1m',
      bucket: method,
    })),
    pacing: { discovery: { initialRate: 20, window: '1m' } },
    credentialDefaults: { header: 'authorization', prefix: 'Bearer ' },
  },
};
