/**
 * Spreads an upstream's calls over its endpoints (regions, instances): smooth weighted round-robin (nginx's) or
 * least-loaded (fewest calls in flight per unit of weight). Endpoints that fail several times in a row are
 * ejected for a while (passive health checking); if every endpoint is ejected, the one back soonest is used, so
 * the upstream never becomes unreachable because of the balancer alone.
 */
import type { Clock } from '../time.js';

export interface EndpointSpec {
  url: string;
  weight?: number;
}

export interface EndpointState {
  readonly url: string;
  readonly weight: number;
  inFlight: number;
  consecutiveFailures: number;
  ejectedUntilEpochMs: number;
  currentWeight: number;
}

export interface BalancerOptions {
  strategy?: 'weighted' | 'least-loaded';
  /** Consecutive failures (5xx, resets, timeouts) that eject an endpoint. Default 5. */
  ejectAfterFailures?: number;
  /** How long an ejected endpoint is left out. Default 30 s. */
  ejectForMs?: number;
  clock: Clock;
}

export interface Balancer {
  readonly endpoints: readonly EndpointState[];
  /** The endpoint for the next attempt; it counts as in flight until `release`. */
  pick(): EndpointState;
  release(endpoint: EndpointState, healthy: boolean): void;
}

export function createBalancer(specs: readonly EndpointSpec[], options: BalancerOptions): Balancer {
  if (specs.length === 0) throw new Error('an upstream needs at least one endpoint');
  const endpoints: EndpointState[] = specs.map((spec) => ({
    url: spec.url,
    weight: spec.weight ?? 1,
    inFlight: 0,
    consecutiveFailures: 0,
    ejectedUntilEpochMs: 0,
    currentWeight: 0,
  }));
  const ejectAfter = options.ejectAfterFailures ?? 5;
  const ejectFor = options.ejectForMs ?? 30_000;
  const single = endpoints.length === 1;

  const candidates = (now: number) => {
    const healthy = endpoints.filter((endpoint) => endpoint.ejectedUntilEpochMs <= now);
    if (healthy.length > 0) return healthy;
    const soonest = endpoints.reduce((best, endpoint) =>
      endpoint.ejectedUntilEpochMs < best.ejectedUntilEpochMs ? endpoint : best,
    );
    return [soonest];
  };

  const pickWeighted = (pool: EndpointState[]): EndpointState => {
    let total = 0;
    let best = pool[0] as EndpointState;
    for (const endpoint of pool) {
      endpoint.currentWeight += endpoint.weight;
      total += endpoint.weight;
      if (endpoint.currentWeight > best.currentWeight) best = endpoint;
    }
    best.currentWeight -= total;
    return best;
  };

  const pickLeastLoaded = (pool: EndpointState[]): EndpointState => {
    let best = pool[0] as EndpointState;
    for (const endpoint of pool) {
      if (endpoint.inFlight / endpoint.weight < best.inFlight / best.weight) best = endpoint;
    }
    return best;
  };

  return {
    endpoints,
    pick() {
      const chosen = single
        ? (endpoints[0] as EndpointState)
        : options.strategy === 'least-loaded'
          ? pickLeastLoaded(candidates(options.clock.now()))
          : pickWeighted(candidates(options.clock.now()));
      chosen.inFlight++;
      return chosen;
    },
    release(endpoint, healthy) {
      endpoint.inFlight = Math.max(0, endpoint.inFlight - 1);
      if (healthy) {
        endpoint.consecutiveFailures = 0;
        return;
      }
      endpoint.consecutiveFailures++;
      if (!single && endpoint.consecutiveFailures >= ejectAfter) {
        endpoint.ejectedUntilEpochMs = options.clock.now() + ejectFor;
        endpoint.consecutiveFailures = 0;
      }
    },
  };
}
