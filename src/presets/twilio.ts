import type { Preset } from './preset.js';

/**
 * Twilio REST API: limits concurrent requests per account (error 20429), not requests per window. The account's
 * concurrency is not published; 100 is the commonly reported default, a starting value that 429s correct.
 * Credentials are HTTP Basic: the Account SID (or API key SID) as username and the auth token (or key secret).
 */
export const twilio: Preset = {
  name: 'twilio',
  description: 'Twilio REST API (api.twilio.com)',
  sources: ['https://www.twilio.com/docs/api/errors/20429', 'https://www.twilio.com/docs/usage/requests-to-twilio'],
  options: {
    url: 'https://api.twilio.com',
    dialect: 'twilio',
    concurrency: 100,
  },
};
