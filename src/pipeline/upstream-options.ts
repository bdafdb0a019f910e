/**
 * From one upstream's normalised options (the gateway's config entry or the client's options, both validated by
 * src/config) to the pipeline's options. The gateway and the client both go through here, so an option means the
 * same in both.
 */
import type { Dispatcher } from 'undici';
import type { BudgetStore } from '../budget/types.js';
import type { CacheStore } from '../cache/store.js';
import { resolveSecret } from '../config/secrets.js';
import type { UpstreamCredential, UpstreamOptions } from '../config/upstream.js';
import type { Scheduler } from '../time.js';
import { economyOptionsFromUpstream } from './cache-stages.js';
import { configuredBudgets } from './configured-limits.js';
import type { PipelineOptions } from './create-pipeline.js';
import type { EventBus } from './events.js';
import type { ResolvedCredential } from './prepare.js';
import type { Stage } from './stage.js';

export interface PipelineDependencies {
  dispatcher: Pick<Dispatcher, 'request'>;
  /** Where cached replies live (default: memory, per pipeline); a Redis cache store shares them. */
  cacheStore?: CacheStore;
  store?: BudgetStore;
  clock?: Scheduler;
  events?: EventBus;
  outerStages?: readonly Stage[];
  /** Where secrets come from (default process.env); secret files are read as configured. */
  env?: NodeJS.ProcessEnv;
}

/** Reads every credential's secret now, so a missing one fails at start-up with the path that names it. */
export function resolveCredentials(
  credentials: Readonly<Record<string, UpstreamCredential>>,
  env?: NodeJS.ProcessEnv,
): Map<string, ResolvedCredential> {
  const resolved = new Map<string, ResolvedCredential>();
  for (const [tenant, credential] of Object.entries(credentials)) {
    if (credential.placement === 'header') {
      const value = resolveSecret(credential.value, { env });
      resolved.set(tenant, { placement: 'header', header: credential.header, value: `${credential.prefix}${value}` });
    } else if (credential.placement === 'query') {
      resolved.set(tenant, {
        placement: 'query',
        query: credential.query,
        value: resolveSecret(credential.value, { env }),
      });
    } else {
      const username =
        typeof credential.username === 'string' ? credential.username : resolveSecret(credential.username, { env });
      const password = resolveSecret(credential.password, { env });
      const basic = Buffer.from(`${username}:${password}`).toString('base64');
      resolved.set(tenant, { placement: 'header', header: 'authorization', value: `Basic ${basic}` });
    }
  }
  return resolved;
}

export function pipelineOptionsFromUpstream(
  name: string,
  options: UpstreamOptions,
  dependencies: PipelineDependencies,
): PipelineOptions {
  const { retry, queue, breaker, pacing } = options;
  return {
    ...economyOptionsFromUpstream(options, { cacheStore: dependencies.cacheStore }),
    upstream: name,
    baseUrl: options.url,
    dispatcher: dependencies.dispatcher,
    dialect: options.dialect,
    store: dependencies.store,
    clock: dependencies.clock,
    events: dependencies.events,
    outerStages: dependencies.outerStages,
    configured: configuredBudgets(options.limits, options.concurrency),
    routes: options.routes,
    majorParameters: options.majorParameters,
    prepare: {
      headers: options.headers,
      userAgent: options.userAgent,
      credentials: resolveCredentials(options.credentials, dependencies.env),
    },
    pacing: {
      safetyMargin: pacing.safetyMargin,
      reserveShare: queue.reserve.share,
      reservePriority: queue.reserve.minPriority,
      discovery: {
        initialRatePerSecond: (pacing.discovery.initialRate * 1000) / pacing.discovery.windowMs,
        settle: 0.97,
        increasePerSecond: 0.005,
        maxBackoffMs: 30_000,
      },
    },
    retry:
      retry.attempts <= 1
        ? false
        : {
            attempts: retry.attempts,
            baseDelay: retry.baseDelayMs,
            maxDelay: retry.maxDelayMs,
            maxElapsed: retry.maxElapsedMs ?? undefined,
            jitter: retry.jitter,
            factor: retry.factor,
            maxServerWait: retry.maxServerWaitMs,
            maxReplayBytes: retry.maxReplayBytes,
            retryOn: retry.retryOn,
            budget: {
              ratio: retry.budget.ratio,
              minRetriesPerSecond: retry.budget.minPerSecond,
              window: retry.budget.windowMs,
            },
            idempotencyKey: retry.idempotencyKey,
          },
    queue: { maxDepth: queue.maxDepth, timeout: queue.timeoutMs },
    breaker: {
      consecutiveFailures: breaker.consecutiveFailures,
      failureRatio: breaker.failureRatio,
      minimumCalls: breaker.minimumCalls,
      window: breaker.windowMs,
      openFor: breaker.openForMs,
      halfOpenProbes: breaker.halfOpenProbes,
    },
    timeouts: { headersMs: options.timeouts.headersMs, bodyMs: options.timeouts.bodyMs },
  };
}
