/** The providers Sluice ships defaults for. Kept apart from the presets themselves so the schema can list them. */
export const PRESET_NAMES = [
  'github',
  'openai',
  'anthropic',
  'discord',
  'shopify',
  'stripe',
  'slack',
  'twilio',
] as const;

export type PresetName = (typeof PRESET_NAMES)[number];
