/**
 * What the pacer needs to know about a dialect beyond its parser: how its limits give budget back, when a reply's
 * body may hold the signal, and which replies the provider does not count.
 */
import type { Dialect, RateLimitSignal } from '../signals/types.js';
import type { Call, Cost, Reply } from './stage.js';

/** Providers whose limits refill continuously (token or leaky buckets) rather than resetting per window. */
const BUCKET_DIALECTS = new Set<string>(['openai', 'azure-openai', 'anthropic', 'shopify']);

export function limitModelOf(signal: RateLimitSignal): 'window' | 'bucket' {
  return BUCKET_DIALECTS.has(signal.dialect) ? 'bucket' : 'window';
}

/** Dialects that put throttling details in the body of errors (and Shopify GraphQL in successful replies). */
export function signalMayBeInBody(dialect: Dialect, reply: Reply, call: Call): boolean {
  if (reply.status >= 400) return true;
  if (reply.status !== 200) return false;
  const contentType = String(reply.headers['content-type'] ?? '');
  if (!contentType.includes('json')) return false;
  return (dialect === 'shopify' || dialect === 'auto') && call.path.includes('graphql');
}

/** Providers that do not count a 304 (a conditional request that found nothing new) against the limit. */
const FREE_NOT_MODIFIED = new Set<string>(['github']);

export function actualCostOf(dialect: Dialect, reply: Reply): Cost | undefined {
  if (reply.status === 304 && FREE_NOT_MODIFIED.has(reply.signal?.dialect ?? dialect)) return { requests: 0 };
  return undefined;
}

/** GitHub's REST resources by path, as its docs list them; a reply's x-ratelimit-resource still has the last word. */
function githubResource(_method: string, segments: readonly string[]): string | null {
  if (segments[0] === 'graphql') return 'graphql';
  if (segments[0] === 'search') return segments[1] === 'code' ? 'code_search' : 'search';
  return 'core';
}

/** The resource a route most likely draws on, for the dialects that key limits by resource. */
export function resourceHint(dialect: string, method: string, segments: readonly string[]): string | null {
  return dialect === 'github' ? githubResource(method, segments) : null;
}
