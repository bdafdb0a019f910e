import type { IncomingHttpHeaders } from 'node:http';
import type { Duration } from '../time.js';

export const SIMULATOR_PROFILES = ['github', 'openai', 'shopify', 'discord', 'ietf', 'none'] as const;
export type SimulatorProfileName = (typeof SIMULATOR_PROFILES)[number];

/**
 * Overrides of a profile's limits. `limit` and `window` are every profile's primary limit; the other fields
 * belong to one profile each (giving one to another profile is an error, to catch typos).
 * - github: `limit`/`window` for the `core` resource, `searchLimit`/`searchWindow` for `/search/*`, `rejectStatus`.
 * - openai: `limit` requests and `tokenLimit` tokens, each refilling fully over `window`; `defaultTokenCost`.
 * - shopify: `limit` is the bucket size; it drains fully over `window` (leak rate = limit / window).
 * - discord: `limit`/`window` per route bucket and major parameter; `globalLimit`/`globalWindow` across all.
 * - ietf: `limit` (q) per sliding `window` (w, whole seconds as the header carries them).
 * - none: `limit` per fixed `window`.
 */
export interface SimulatorLimits {
  limit?: number;
  window?: Duration;
  searchLimit?: number;
  searchWindow?: Duration;
  rejectStatus?: 403 | 429;
  tokenLimit?: number;
  defaultTokenCost?: number;
  globalLimit?: number;
  globalWindow?: Duration;
}

/** A request as a profile sees it. */
export interface SimulatedRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The body as text ('' when none). */
  body: string;
}

/** A profile's answer: what to send back and how to count it. */
export interface SimulatedReply {
  status: number;
  headers: Record<string, string>;
  body: string;
  accepted: boolean;
  /** Where the profile keys the limit that decided (a resource, a route bucket), for `byRoute`. */
  route?: string;
}

/** The most the upstream could have accepted over a run, from the profile's model. */
export interface CapacityBreakdown {
  total: number;
  byRoute?: Record<string, number>;
  /** Model-specific numbers worth reporting (OpenAI's token capacity and costs...). */
  details?: Record<string, number>;
}

/** One emulated provider: a model of its limits with mutable state, and the formula of its capacity. */
export interface SimulatedProfile {
  readonly name: SimulatorProfileName;
  handle(request: SimulatedRequest, nowEpochMs: number): SimulatedReply;
  /** The run spans [startedAtEpochMs, endedAtEpochMs] (first to last request since the last reset). */
  capacity(startedAtEpochMs: number, endedAtEpochMs: number): CapacityBreakdown;
  /** Forgets all limit state, as if the upstream had just started. */
  reset(): void;
}

export interface RouteReport {
  accepted: number;
  rejected: number;
  capacity: number;
}

export interface SimulatorReport {
  profile: SimulatorProfileName;
  accepted: number;
  rejected: number;
  total: number;
  /** The most the upstream could have accepted over the run, initial burst included. */
  capacity: number;
  /** accepted ÷ capacity (0 before any request). */
  utilization: number;
  /** rejected ÷ total (0 before any request). */
  waste: number;
  /** The first request since the last reset (null before any). */
  startedAtEpochMs: number | null;
  /** From the first to the last request since the last reset. */
  durationMs: number;
  byRoute?: Record<string, RouteReport>;
  details?: Record<string, number>;
}
