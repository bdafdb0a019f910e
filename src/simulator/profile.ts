import { InvalidOptionError } from '../errors.js';
import { createDiscordProfile } from './profiles/discord.js';
import { createGithubProfile } from './profiles/github.js';
import { createIetfProfile } from './profiles/ietf.js';
import { createNoneProfile } from './profiles/none.js';
import { createOpenaiProfile } from './profiles/openai.js';
import { createShopifyProfile } from './profiles/shopify.js';
import { SIMULATOR_PROFILES, type SimulatedProfile, type SimulatorLimits, type SimulatorProfileName } from './types.js';

const FACTORIES: Record<SimulatorProfileName, (limits?: SimulatorLimits) => SimulatedProfile> = {
  github: createGithubProfile,
  openai: createOpenaiProfile,
  shopify: createShopifyProfile,
  discord: createDiscordProfile,
  ietf: createIetfProfile,
  none: createNoneProfile,
};

/** One line per profile, for `sluice simulate --help` and error messages. */
export const SIMULATOR_PROFILE_DESCRIPTIONS: Record<SimulatorProfileName, string> = {
  github: 'fixed window per resource (core 100/s, search 10/s), x-ratelimit-* with reset in epoch seconds, 403',
  openai: 'request (100/s) and token (5000/s) buckets, x-ratelimit-*-requests/-tokens with Go-duration resets, 429',
  shopify: 'leaky bucket of 40 draining in 2 s, X-Shopify-Shop-Api-Call-Limit used/size, 429 with Retry-After',
  discord: 'fixed window per route and major parameter (10/s) plus a global 50/s, X-RateLimit-* with buckets, 429',
  ietf: 'sliding window of 100 per 1 s, IETF draft-10 RateLimit-Policy and RateLimit fields, 429 with Retry-After',
  none: 'fixed window of 100 per 1 s with no rate-limit headers at all, bare 429',
};

export function isSimulatorProfile(name: unknown): name is SimulatorProfileName {
  return typeof name === 'string' && (SIMULATOR_PROFILES as readonly string[]).includes(name);
}

/** A profile's limit model on its own, without HTTP (for in-process tests and oracles). */
export function createSimulatedProfile(name: SimulatorProfileName, limits?: SimulatorLimits): SimulatedProfile {
  if (!isSimulatorProfile(name))
    throw new InvalidOptionError(
      'profile',
      `expected one of ${SIMULATOR_PROFILES.join(', ')}, got ${JSON.stringify(name)}`,
    );
  return FACTORIES[name](limits);
}
