/**
 * The library's front door: `createClient({ baseUrl, ... })` gives a `fetch` bound to one upstream that runs every
 * call through the pipeline (pacing, retries, queueing, breaking), and an undici `Dispatcher` carrying the same
 * pipeline for Node's global `fetch`, `setGlobalDispatcher` and any undici-based client.
 */
import type { Agent, Dispatcher } from 'undici';
import type { BudgetStore } from '../budget/types.js';
import { InvalidOptionError } from '../errors.js';
import { createPipeline, type Pipeline, type PipelineOptions } from '../pipeline/create-pipeline.js';
import { createAgent } from '../pipeline/transport.js';
import type { Scheduler } from '../time.js';
import { callFromDispatch, playReply } from './dispatcher-adapter.js';
import { callFromFetch, pathUnderBase, responseFromReply, type SluiceRequestInit } from './fetch-adapter.js';

export interface ClientOptions
  extends Omit<PipelineOptions, 'upstream' | 'baseUrl' | 'dispatcher' | 'store' | 'clock'> {
  baseUrl: string;
  /** The upstream's name in budgets, events and errors. Default: the base URL's host. */
  name?: string;
  store?: BudgetStore;
  clock?: Scheduler;
  /** Sends the attempts. Default: a keep-alive Agent owned (and closed) by the client. */
  dispatcher?: Dispatcher;
  /** The tenant whose credential and budget calls use when they do not say. */
  tenant?: string;
  connectTimeoutMs?: number;
}

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

function parseBaseUrl(baseUrl: unknown): URL {
  let url: URL;
  try {
    url = new URL(String(baseUrl));
  } catch {
    throw new InvalidOptionError('baseUrl', `expected an absolute http(s) URL, got ${JSON.stringify(baseUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidOptionError('baseUrl', `expected an http(s) URL, got ${url.protocol} in ${url.href}`);
  }
  if (url.username || url.password) {
    throw new InvalidOptionError('baseUrl', 'must not carry credentials; give them as headers instead');
  }
  return url;
}

export function createClient(options: ClientOptions): SluiceClient {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', 'expected an object with at least { baseUrl }');
  }
  const baseUrl = parseBaseUrl(options.baseUrl);
  const upstream = options.name ?? baseUrl.host;
  const ownsAgent = options.dispatcher === undefined;
  const agent = options.dispatcher ?? createAgent({ connectTimeoutMs: options.connectTimeoutMs });
  const clock = options.clock;
  const now = () => (clock ?? { now: Date.now }).now();
  const maxReplayBytes = options.retry === false ? 0 : (options.retry?.maxReplayBytes ?? 1024 * 1024);
  const { baseUrl: _base, name: _name, dispatcher: _dispatcher, tenant, connectTimeoutMs: _timeout, ...rest } = options;
  const pipeline = createPipeline({ ...rest, upstream, baseUrl: baseUrl.href, dispatcher: agent });
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
        return await pipeline.handle(call);
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
