/**
 * The library's front door: `createClient({ baseUrl, ... })` gives a `fetch` bound to one upstream that runs every
 * call through the pipeline (pacing, retries, queueing, breaking), and an undici `Dispatcher` carrying the same
 * pipeline for Node's global `fetch`, `setGlobalDispatcher` and any undici-based client.
 */
import type { Agent, Dispatcher } from 'undici';
import type { BudgetStore } from '../budget/types.js';
import type { CacheStore } from '../cache/store.js';
import { normalizeUpstreamOptions } from '../config/upstream.js';
import type { ClientOptionsInput } from '../config/upstream-schema.js';
import { createPipeline, type Pipeline } from '../pipeline/create-pipeline.js';
import type { EventBus } from '../pipeline/events.js';
import type { Stage } from '../pipeline/stage.js';
import { createAgent } from '../pipeline/transport.js';
import { pipelineOptionsFromUpstream } from '../pipeline/upstream-options.js';
import type { Scheduler } from '../time.js';
import { callFromDispatch, playReply } from './dispatcher-adapter.js';
import { callFromFetch, pathUnderBase, responseFromReply, type SluiceRequestInit } from './fetch-adapter.js';

/**
 * The same options as one upstream of the gateway's config (validated by the same schema), with `baseUrl` in
 * place of `url`, plus what only code can pass.
 */
export type ClientOptions = ClientOptionsInput & {
  /** The upstream's name in budgets, events and errors. Default: the base URL's host. */
  name?: string;
  /** Where budgets live: memory (default) or a shared store (Redis). */
  store?: BudgetStore;
  /** An injected clock (tests). */
  clock?: Scheduler;
  /** Sends the attempts. Default: a keep-alive Agent owned (and closed) by the client. */
  dispatcher?: Dispatcher;
  /** Where call events go (metrics, logs). */
  events?: EventBus;
  /** The tenant whose credential and budget calls use when they do not say. */
  tenant?: string;
  /** Stages to run first, before caching and retries (the gateway's inbound limits use this). */
  outerStages?: readonly Stage[];
  /** Where cached replies live when `cache.enabled` (default: memory); a Redis cache store shares them. */
  cacheStore?: CacheStore;
};

export interface ClientStats {
  upstream: string;
  calls: number;
  failed: number;
}

export interface SluiceClient {
  fetch(input: string | URL | Request, init?: SluiceRequestInit): Promise<Response>;
  /** An undici Dispatcher with the same pipeline, for `fetch(url, { dispatcher })` or `setGlobalDispatcher`. */
  readonly dispatcher: Dispatcher;
  readonly pipeline: Pipeline;
  stats(): ClientStats;
  close(): Promise<void>;
}

export function createClient(options: ClientOptions): SluiceClient {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('createClient: expected an options object with at least { baseUrl }');
  }
  const {
    name,
    store,
    clock,
    dispatcher: givenDispatcher,
    events,
    tenant,
    outerStages,
    cacheStore,
    ...input
  } = options;
  const upstreamOptions = normalizeUpstreamOptions(input, 'createClient');
  const baseUrl = new URL(upstreamOptions.url);
  const upstream = name ?? baseUrl.host;
  const ownsAgent = givenDispatcher === undefined;
  const agent = givenDispatcher ?? createAgent({ connectTimeoutMs: upstreamOptions.timeouts.connectMs });
  const now = () => (clock ?? { now: Date.now }).now();
  const maxReplayBytes = upstreamOptions.retry.maxReplayBytes;
  const pipeline = createPipeline(
    pipelineOptionsFromUpstream(upstream, upstreamOptions, {
      dispatcher: agent,
      store,
      clock,
      events,
      outerStages,
      cacheStore,
    }),
  );
  let calls = 0;
  let failed = 0;

  async function clientFetch(input: string | URL | Request, init?: SluiceRequestInit): Promise<Response> {
    calls++;
    try {
      const call = await callFromFetch(input, init, {
        upstream,
        baseUrl,
        maxReplayBytes,
        defaults: { tenant },
        now: now(),
      });
      const reply = await pipeline.handle(call);
      return responseFromReply(reply, call);
    } catch (error) {
      failed++;
      throw error;
    }
  }

  // The dispatcher: calls to this upstream's origin and base path go through the pipeline (whose transport uses
  // the raw agent underneath); anything else passes straight through.
  const dispatcher = (agent as Agent).compose((dispatch) => (dispatchOptions, handler) => {
    let path: string;
    try {
      path = pathUnderBase(baseUrl, new URL(dispatchOptions.path, dispatchOptions.origin ?? baseUrl.origin));
    } catch {
      return dispatch(dispatchOptions, handler);
    }
    calls++;
    playReply(handler, async (signal) => {
      try {
        const call = callFromDispatch(dispatchOptions, upstream, path, maxReplayBytes, signal, now());
        call.tenant = tenant;
        return { reply: await pipeline.handle(call), notes: call.notes };
      } catch (error) {
        failed++;
        throw error;
      }
    });
    return true;
  });

  return {
    fetch: clientFetch,
    dispatcher,
    pipeline,
    stats: () => ({ upstream, calls, failed }),
    async close() {
      await pipeline.close();
      if (ownsAgent) await agent.close();
    },
  };
}
