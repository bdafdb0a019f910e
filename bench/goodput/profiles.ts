/**
 * What the goodput benchmark sends to each simulated provider, and what each can sustain (the simulator's defaults).
 */
import type { SimulatorProfileName } from '../../src/simulator/types.js';

export interface Request {
  path: string;
  method: string;
  body?: string;
  tokens?: number;
}

/** Calls per second the upstream sustains, and the window the run is measured in. */
export const CAPACITY: Record<
  SimulatorProfileName,
  { perSecond: number; windowMs: number; startedByTraffic: boolean }
> = {
  github: { perSecond: 100, windowMs: 1000, startedByTraffic: true },
  openai: { perSecond: 100, windowMs: 1000, startedByTraffic: false },
  shopify: { perSecond: 20, windowMs: 2000, startedByTraffic: false },
  discord: { perSecond: 50, windowMs: 1000, startedByTraffic: true },
  ietf: { perSecond: 100, windowMs: 1000, startedByTraffic: false },
  none: { perSecond: 100, windowMs: 1000, startedByTraffic: true },
};

export function requestFor(profile: SimulatorProfileName, index: number): Request {
  switch (profile) {
    case 'github':
      return { method: 'GET', path: `/repos/acme/repo-${index % 20}` };
    case 'openai':
      return { method: 'POST', path: '/v1/chat/completions', body: '{"max_tokens":40}', tokens: 40 };
    case 'shopify':
      return { method: 'GET', path: `/admin/api/2024-01/products/${index % 100}.json` };
    case 'discord':
      return { method: 'GET', path: `/channels/${100 + (index % 5)}/messages` };
    default:
      return { method: 'GET', path: `/items/${index % 100}` };
  }
}
