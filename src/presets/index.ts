import { anthropic } from './anthropic.js';
import { discord } from './discord.js';
import { github } from './github.js';
import type { PresetName } from './names.js';
import { openai } from './openai.js';
import type { Preset } from './preset.js';
import { shopify } from './shopify.js';
import { slack } from './slack.js';
import { stripe } from './stripe.js';
import { twilio } from './twilio.js';

export type { PresetName } from './names.js';
export { PRESET_NAMES } from './names.js';
export type { Preset } from './preset.js';

export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  github,
  openai,
  anthropic,
  discord,
  shopify,
  stripe,
  slack,
  twilio,
};
