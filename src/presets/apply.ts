import { PRESETS, type Preset, type PresetName } from './index.js';
import { mergeOptions } from './merge.js';

/** The preset an upstream's (possibly invalid) options name, or null when they name none or an unknown one. */
export function presetFor(input: unknown): Preset | null {
  if (input === null || typeof input !== 'object') return null;
  const name = (input as { preset?: unknown }).preset;
  return typeof name === 'string' && Object.hasOwn(PRESETS, name) ? PRESETS[name as PresetName] : null;
}

/** The preset's options with the user's over them; the options unchanged when they name no preset. */
export function withPreset<Input extends object>(input: Input): Input {
  const preset = presetFor(input);
  return preset ? mergeOptions(preset.options as Input, input) : input;
}
