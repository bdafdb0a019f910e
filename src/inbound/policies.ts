/**
 * Configured policies (src/config/policy.ts, durations in ms) as `createLimiter` policies. Inbound limits answer
 * at once, pass or 429, so nothing is ever held back: a leaky bucket admits its whole capacity without delay.
 */
import type { ConfigPolicy } from '../config/policy.js';
import type { PolicyOptions } from '../limits/types.js';

export function limiterPolicy(policy: ConfigPolicy): PolicyOptions {
  switch (policy.algorithm) {
    case 'concurrency':
      return {
        algorithm: 'concurrency',
        name: policy.name,
        limit: policy.limit,
        ...(policy.leaseMs === null ? {} : { lease: policy.leaseMs }),
      };
    case 'token-bucket':
      return {
        algorithm: 'token-bucket',
        name: policy.name,
        limit: policy.limit,
        window: policy.windowMs,
        burst: policy.burst,
      };
    case 'leaky-bucket':
      // The config's burst is the bucket's capacity; the limiter's (nginx's) burst is the excess beyond the one
      // request in progress, so capacity − 1.
      return {
        algorithm: 'leaky-bucket',
        name: policy.name,
        limit: policy.limit,
        window: policy.windowMs,
        burst: policy.burst - 1,
        nodelay: true,
      };
    default:
      return { algorithm: policy.algorithm, name: policy.name, limit: policy.limit, window: policy.windowMs };
  }
}
