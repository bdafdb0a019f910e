import type { UpstreamOptionsInput } from '../config/upstream-schema.js';
import type { PresetName } from './names.js';

/**
 * A provider's defaults: options as a user would write them, merged under the user's own (preset first, then the
 * user's options key by key; lists replace). Limits are starting values from the provider's documentation: the
 * responses' own rate-limit fields correct them as soon as calls are made.
 */
export interface Preset {
  name: PresetName;
  /** What the preset is for, in one line. */
  description: string;
  /** Where the values come from. */
  sources: readonly string[];
  options: UpstreamOptionsInput;
}
