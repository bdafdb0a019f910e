import { InvalidOptionError } from '../errors.js';
import { asRecord, createBodyView } from './body.js';
import { type ConcreteDialect, detectFromResponse } from './detect.js';
import { readAnthropic } from './dialects/anthropic.js';
import { readAtlassian } from './dialects/atlassian.js';
import { readAws } from './dialects/aws.js';
import { readAzureOpenAi } from './dialects/azure-openai.js';
import { readCloudflare } from './dialects/cloudflare.js';
import { readDiscord } from './dialects/discord.js';
import { readGeneric, readGenericLimits } from './dialects/generic.js';
import { readGithub } from './dialects/github.js';
import { readGoogle } from './dialects/google.js';
import { readHubspot } from './dialects/hubspot.js';
import { readOpenAi } from './dialects/openai.js';
import { readReddit } from './dialects/reddit.js';
import { readSalesforce } from './dialects/salesforce.js';
import { readShopify } from './dialects/shopify.js';
import { readSlack } from './dialects/slack.js';
import { readStripe } from './dialects/stripe.js';
import { readTwilio } from './dialects/twilio.js';
import { readX } from './dialects/x.js';
import { readZendesk } from './dialects/zendesk.js';
import { normalizeHeaders, type SignalHeaders } from './headers.js';
import { readIetf, readIetfLimits } from './ietf.js';
import type { DialectReader, DialectReading } from './reading.js';
import { readStatedWait } from './retry-after.js';
import { clampWait, createTimeFrame, type TimeFrame } from './time-frame.js';
import type { Dialect, ParseOptions, RateLimitSignal, ResponseLike, SignalLimit } from './types.js';
import { parseFlag } from './values.js';

const READERS: Record<ConcreteDialect, DialectReader> = {
  ietf: readIetf,
  github: readGithub,
  openai: readOpenAi,
  'azure-openai': readAzureOpenAi,
  anthropic: readAnthropic,
  discord: readDiscord,
  shopify: readShopify,
  stripe: readStripe,
  x: readX,
  slack: readSlack,
  salesforce: readSalesforce,
  reddit: readReddit,
  atlassian: readAtlassian,
  hubspot: readHubspot,
  zendesk: readZendesk,
  cloudflare: readCloudflare,
  google: readGoogle,
  aws: readAws,
  twilio: readTwilio,
  generic: readGeneric,
};

/** Every dialect name `parseRateLimit` accepts (for validating configuration at the edge). */
export const SIGNAL_DIALECTS: readonly Dialect[] = ['auto', ...(Object.keys(READERS) as ConcreteDialect[])];

/**
 * Reads what a response says about the caller's rate limits. Never throws on what the response holds:
 * garbage yields nulls. Throws `InvalidOptionError` only for options a program got wrong (an unknown dialect,
 * a `now` that is not a time).
 */
export function parseRateLimit(response: ResponseLike, options: ParseOptions = {}): RateLimitSignal {
  const dialect = options.dialect ?? 'auto';
  if (!SIGNAL_DIALECTS.includes(dialect)) {
    throw new InvalidOptionError(
      'dialect',
      `expected one of ${SIGNAL_DIALECTS.join(', ')}, got ${JSON.stringify(dialect)}`,
    );
  }
  const now = options.now ?? Date.now();
  if (typeof now !== 'number' || !Number.isFinite(now) || now < 0) {
    throw new InvalidOptionError(
      'now',
      `expected epoch milliseconds (a finite, non-negative number), got ${String(now)}`,
    );
  }
  try {
    return readResponse(response, dialect, Math.floor(now), options.clockOffsetMs);
  } catch {
    // Only reachable through hostile objects (a body whose getters throw, a Proxy): the readers themselves do
    // not throw on any value (see the property test). A response that cannot be read says nothing.
    return silentSignal(dialect === 'auto' ? 'generic' : dialect, statusOf(asRecord(response)?.status) === 429);
  }
}

/** parseRateLimit without its last-resort guard, for the property test that proves the guard is not needed. */
export function readResponse(
  response: unknown,
  dialect: Dialect,
  now: number,
  clockOffsetMs?: number,
): RateLimitSignal {
  const record = asRecord(response);
  const status = statusOf(record?.status);
  const headers = normalizeHeaders(record?.headers);
  const body = createBodyView(plainBody(record?.body));
  const frame =
    clockOffsetMs !== undefined && Number.isFinite(clockOffsetMs)
      ? { nowEpochMs: now, serverNowEpochMs: now + Math.round(clockOffsetMs) }
      : createTimeFrame(now, headers.get('date'));
  const chosen = dialect === 'auto' ? detectFromResponse(headers, body, status) : dialect;
  const reading = READERS[chosen]({ status, headers, body, frame });
  const limits = reading.limits.length > 0 ? reading.limits : fallbackLimits(chosen, headers, frame);
  const retryAfterMs = readStatedWait(headers, frame) ?? waitOrNull(reading.waitAfterMs) ?? waitForSpentLimits(limits);
  return assemble(chosen, reading, limits, {
    retryAfterMs,
    retryable: decideRetryable(status, reading, headers, retryAfterMs),
  });
}

/**
 * Providers add the IETF fields or the common X-RateLimit-* family next to (or instead of) their own; when
 * the dialect's own headers are silent, those still describe the budget.
 */
function fallbackLimits(dialect: ConcreteDialect, headers: SignalHeaders, frame: TimeFrame): SignalLimit[] {
  const ietf = dialect === 'ietf' || dialect === 'cloudflare' ? [] : readIetfLimits(headers, frame);
  if (ietf.length > 0) return ietf;
  return dialect === 'generic' ? [] : readGenericLimits(headers, frame);
}

/**
 * With several limits spent, the next call succeeds only once every one of them has room again: the wait is
 * the LATEST of their resets (a spent limit with no known reset cannot shorten it).
 */
function waitForSpentLimits(limits: SignalLimit[]): number | null {
  let wait: number | null = null;
  for (const limit of limits) {
    if (limit.remaining !== null && limit.remaining <= 0 && limit.resetAfterMs !== null) {
      wait = Math.max(wait ?? 0, limit.resetAfterMs);
    }
  }
  return wait;
}

/** Client errors that a retry can cure: a timeout, a conflict (a lock held a moment), too early. */
const TRANSIENT_CLIENT_ERRORS = new Set([408, 409, 425]);

/**
 * false only when nothing can succeed before a time the response does not state: the dialect says so (a
 * spend cap, a spent daily quota), the server says so (`x-should-retry: false`), or the response is a
 * client error that is not a rate limit (the same request fails again). A rate limit is otherwise
 * throttling: retryable. null when the response says nothing either way.
 */
function decideRetryable(
  status: number,
  reading: DialectReading,
  headers: SignalHeaders,
  retryAfterMs: number | null,
): boolean | null {
  const serverVerdict = parseFlag(headers.get('x-should-retry'));
  if (reading.retryable === false || serverVerdict === false) return false;
  if (reading.limited || reading.retryable === true || serverVerdict === true) return true;
  if (status >= 400 && status < 500 && !TRANSIENT_CLIENT_ERRORS.has(status)) return false;
  if (status >= 500 && retryAfterMs !== null) return true;
  return null;
}

function assemble(
  dialect: ConcreteDialect,
  reading: DialectReading,
  limits: SignalLimit[],
  decided: { retryAfterMs: number | null; retryable: boolean | null },
): RateLimitSignal {
  const primary = limits[0];
  const signal: RateLimitSignal = {
    dialect,
    limited: reading.limited,
    retryable: decided.retryable,
    retryAfterMs: decided.retryAfterMs,
    limit: primary?.limit ?? null,
    remaining: primary?.remaining ?? null,
    resetAtEpochMs: primary?.resetAtEpochMs ?? null,
    resetAfterMs: primary?.resetAfterMs ?? null,
    limits,
  };
  if (reading.resource !== undefined) signal.resource = reading.resource;
  if (reading.bucket !== undefined) signal.bucket = reading.bucket;
  if (reading.scope !== undefined) signal.scope = reading.scope;
  if (reading.details !== undefined) signal.details = reading.details;
  return signal;
}

function silentSignal(dialect: ConcreteDialect, limited: boolean): RateLimitSignal {
  return {
    dialect,
    limited,
    retryable: limited ? true : null,
    retryAfterMs: null,
    limit: null,
    remaining: null,
    resetAtEpochMs: null,
    resetAfterMs: null,
    limits: [],
  };
}

function waitOrNull(ms: number | null | undefined): number | null {
  return ms === null || ms === undefined ? null : clampWait(ms);
}

function statusOf(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 999 ? value : 0;
}

/**
 * A body is text, bytes, or JSON the caller already parsed (a plain object or array). Anything else (a
 * stream, a Response's body, a class instance) is not something to read here.
 */
function plainBody(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) return body;
  const prototype = Object.getPrototypeOf(body);
  return prototype === Object.prototype || prototype === null ? body : undefined;
}
