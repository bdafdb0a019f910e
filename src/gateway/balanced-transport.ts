/**
 * The transport for an upstream with several endpoints: each attempt goes to the endpoint the balancer picks, and
 * its outcome (a reply below 500, or a failure) feeds the balancer's passive health checks.
 */
import type { Dispatcher } from 'undici';
import type { Next } from '../pipeline/stage.js';
import { createTransport } from '../pipeline/transport.js';
import type { Clock } from '../time.js';
import { createBalancer, type EndpointSpec } from './balancer.js';

export interface BalancedTransportOptions {
  upstream: string;
  endpoints: readonly EndpointSpec[];
  strategy: 'weighted' | 'least-loaded';
  dispatcher: Pick<Dispatcher, 'request'>;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  clock: Clock;
}

export function createBalancedTransport(options: BalancedTransportOptions): Next {
  const balancer = createBalancer(options.endpoints, { strategy: options.strategy, clock: options.clock });
  const transports = new Map(
    options.endpoints.map((endpoint) => [
      endpoint.url,
      createTransport({
        upstream: options.upstream,
        baseUrl: endpoint.url,
        dispatcher: options.dispatcher,
        headersTimeoutMs: options.headersTimeoutMs,
        bodyTimeoutMs: options.bodyTimeoutMs,
      }),
    ]),
  );
  return async function balanced(call) {
    const endpoint = balancer.pick();
    const transport = transports.get(endpoint.url) as Next;
    try {
      const reply = await transport(call);
      balancer.release(endpoint, reply.status < 500);
      return reply;
    } catch (error) {
      balancer.release(endpoint, false);
      throw error;
    }
  };
}
