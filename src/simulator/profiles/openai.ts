import { goDurationText } from '../format.js';
import {
  fullAfterMs,
  fullBucket,
  refill,
  refillAfterMs,
  type TokenBucket,
  type TokenBucketState,
} from '../models/token-bucket.js';
import { checkLimitFields, wholeCount, windowMs } from '../settings.js';
import type { SimulatedProfile, SimulatedReply, SimulatedRequest, SimulatorLimits } from '../types.js';

/** Header a test or benchmark may set to price a call in tokens without a JSON body. */
export const TOKEN_COST_HEADER = 'x-sim-token-cost';

function positiveNumber(value: unknown): number | null {
  const number = typeof value === 'string' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) && number > 0 ? Math.ceil(number) : null;
}

/** The tokens a call reserves: the header, else `max_tokens` (or `max_completion_tokens`) in the JSON body. */
function tokenCostOf(request: SimulatedRequest, defaultCost: number): number {
  const header = request.headers[TOKEN_COST_HEADER];
  const fromHeader = positiveNumber(Array.isArray(header) ? header[0] : header);
  if (fromHeader !== null) return fromHeader;
  if (request.body !== '') {
    try {
      const parsed = JSON.parse(request.body) as Record<string, unknown> | null;
      const fromBody = positiveNumber(parsed?.max_tokens ?? parsed?.max_completion_tokens);
      if (fromBody !== null) return fromBody;
    } catch {
      // not JSON: the default cost applies, as a provider would estimate one
    }
  }
  return defaultCost;
}

function rejectionBody(kind: 'requests' | 'tokens', limit: number, used: number, requested: number, waitMs: number) {
  const per = kind === 'requests' ? 'requests per min (RPM)' : 'tokens per min (TPM)';
  return JSON.stringify({
    error: {
      message:
        `Rate limit reached for sim-model in organization org-sim on ${per}: Limit ${limit}, Used ${used}, ` +
        `Requested ${requested}. Please try again in ${goDurationText(waitMs)}. ` +
        'Visit https://platform.openai.com/account/rate-limits to learn more.',
      type: kind,
      param: null,
      code: 'rate_limit_exceeded',
    },
  });
}

/**
 * OpenAI's API: a request bucket and a token bucket, both refilling continuously (fully over `window`), and a
 * call needs room in both (it reserves its `max_tokens`). `x-ratelimit-reset-*` are Go durations until the
 * bucket is full again. A rejection consumes nothing.
 *
 * Capacity: each bucket's burst + rate × duration (requests, and tokens), and in calls the binding one of
 * the two given the mean token cost of the calls seen: min(requests, tokens ÷ mean cost), floored.
 */
export function createOpenaiProfile(overrides?: SimulatorLimits): SimulatedProfile {
  const limits = checkLimitFields('openai', overrides, ['limit', 'window', 'tokenLimit', 'defaultTokenCost']);
  const window = windowMs(limits.window, 1000, 'window');
  const requests: TokenBucket = { capacity: wholeCount(limits.limit, 100, 'limit'), windowMs: window };
  const tokens: TokenBucket = { capacity: wholeCount(limits.tokenLimit, 5000, 'tokenLimit'), windowMs: window };
  const defaultCost = wholeCount(limits.defaultTokenCost, 100, 'defaultTokenCost');

  let requestState: TokenBucketState | null = null;
  let tokenState: TokenBucketState | null = null;
  let calls = 0;
  let costSeen = 0;
  let tokensAccepted = 0;

  return {
    name: 'openai',
    handle(request: SimulatedRequest, nowEpochMs: number): SimulatedReply {
      const cost = tokenCostOf(request, defaultCost);
      calls++;
      costSeen += cost;
      let requestLevel = refill(requestState ?? fullBucket(requests, nowEpochMs), requests, nowEpochMs);
      let tokenLevel = refill(tokenState ?? fullBucket(tokens, nowEpochMs), tokens, nowEpochMs);
      const requestsShort = requestLevel.level < 1;
      const tokensShort = tokenLevel.level < cost;
      const accepted = !requestsShort && !tokensShort;
      if (accepted) {
        requestLevel = { ...requestLevel, level: requestLevel.level - 1 };
        tokenLevel = { ...tokenLevel, level: tokenLevel.level - cost };
        tokensAccepted += cost;
      }
      requestState = requestLevel;
      tokenState = tokenLevel;
      const headers = {
        'content-type': 'application/json',
        'x-ratelimit-limit-requests': String(requests.capacity),
        'x-ratelimit-limit-tokens': String(tokens.capacity),
        'x-ratelimit-remaining-requests': String(Math.floor(requestLevel.level)),
        'x-ratelimit-remaining-tokens': String(Math.floor(tokenLevel.level)),
        'x-ratelimit-reset-requests': goDurationText(fullAfterMs(requestLevel, requests)),
        'x-ratelimit-reset-tokens': goDurationText(fullAfterMs(tokenLevel, tokens)),
      };
      if (accepted) {
        const body = JSON.stringify({ object: 'chat.completion', usage: { total_tokens: cost } });
        return { status: 200, headers, body, accepted: true };
      }
      const body = requestsShort
        ? rejectionBody(
            'requests',
            requests.capacity,
            requests.capacity - Math.floor(requestLevel.level),
            1,
            refillAfterMs(requestLevel, requests, 1),
          )
        : rejectionBody(
            'tokens',
            tokens.capacity,
            tokens.capacity - Math.floor(tokenLevel.level),
            cost,
            refillAfterMs(tokenLevel, tokens, cost),
          );
      return { status: 429, headers, body, accepted: false };
    },
    capacity(startedAtEpochMs, endedAtEpochMs) {
      const durationMs = Math.max(0, endedAtEpochMs - startedAtEpochMs);
      const requestCapacity = requests.capacity + (requests.capacity * durationMs) / window;
      const tokenCapacity = tokens.capacity + (tokens.capacity * durationMs) / window;
      const meanTokenCost = calls === 0 ? defaultCost : costSeen / calls;
      const total = calls === 0 ? 0 : Math.floor(Math.min(requestCapacity, tokenCapacity / meanTokenCost) + 1e-9);
      return {
        total,
        details: {
          requestCapacity: Math.floor(requestCapacity + 1e-9),
          tokenCapacity: Math.floor(tokenCapacity + 1e-9),
          tokensAccepted,
          meanTokenCost,
        },
      };
    },
    reset() {
      requestState = null;
      tokenState = null;
      calls = 0;
      costSeen = 0;
      tokensAccepted = 0;
    },
  };
}
