/** What a response says about the caller's rate limits, normalized across providers' dialects. */

export type LimitUnit = 'requests' | 'tokens' | 'points' | 'concurrency';

/** Every dialect `parseRateLimit` can read, plus `auto` (detect from the response). */
export type Dialect =
  | 'auto'
  | 'ietf'
  | 'github'
  | 'openai'
  | 'azure-openai'
  | 'anthropic'
  | 'discord'
  | 'shopify'
  | 'stripe'
  | 'x'
  | 'slack'
  | 'salesforce'
  | 'reddit'
  | 'atlassian'
  | 'hubspot'
  | 'zendesk'
  | 'cloudflare'
  | 'google'
  | 'aws'
  | 'twilio'
  | 'generic';

/** One limit a provider reported (a response may report several: requests and tokens, 15 min and 24 h...). */
export interface SignalLimit {
  /** The provider's name for it ("requests", "input-tokens", "user-24hour", an IETF policy name...). */
  name: string;
  unit: LimitUnit;
  limit: number | null;
  remaining: number | null;
  resetAtEpochMs: number | null;
  resetAfterMs: number | null;
  /** The length of the limit's window, when the provider says it. */
  windowMs: number | null;
  /** Who the limit is shared with, when the provider says (a Salesforce connected app, a Zendesk endpoint...). */
  scope?: string;
  /** The IETF `pk` partition key (an opaque byte sequence, here base64): limits with different keys are separate. */
  partitionKey?: string;
  /**
   * 1000 when the reset was stated in whole seconds (GitHub's epoch seconds, IETF's delta seconds): the true reset
   * may be up to a second earlier than stated. Absent when the provider gave finer times.
   */
  resetPrecisionMs?: number;
}

export interface RateLimitSignal {
  /** The dialect that read the response (the detected one when `auto` was asked for). */
  dialect: Exclude<Dialect, 'auto'>;
  /** This response is a rate-limit rejection (429, or the dialect's equivalent such as GitHub's 403). */
  limited: boolean;
  /**
   * false only when nothing can succeed before a time the response does not state (a spend cap, a daily
   * quota with no reset); true when a retry may succeed; null when the response says nothing either way.
   */
  retryable: boolean | null;
  /** How long to wait before the next call, relative to `now` (Date-corrected). Never negative. */
  retryAfterMs: number | null;
  /** The primary limit (null when unknown). */
  limit: number | null;
  remaining: number | null;
  resetAtEpochMs: number | null;
  resetAfterMs: number | null;
  /** Every limit the response reported, primary first. */
  limits: SignalLimit[];
  /** Where the provider keys its limits finer than the credential: GitHub's resource ("core", "search"...). */
  resource?: string;
  /** Discord's `X-RateLimit-Bucket` (a route bucket id). */
  bucket?: string;
  /** Who the limit applies to: Discord's "user" | "global" | "shared"; set to "global" for a global limit. */
  scope?: string;
  /**
   * Provider-specific details worth keeping: `used` (of the primary limit), `reason` (why the provider limited:
   * Stripe's, Jira's, Google's or GitHub's "secondary"), `policyName` (HubSpot), `errorCode` (the body's error code),
   * `restoreRatePerSecond` and `requestedCost` (Shopify GraphQL), `nearLimit` (Jira).
   */
  details?: Record<string, string | number | boolean>;
}

/** The response as `parseRateLimit` reads it. */
export interface ResponseLike {
  status: number;
  /**
   * A `Headers` (Node's or undici's), a `Map`, a plain object (any case, string / string[] / number values),
   * undici's raw `[name, value, ...]` array of strings or Buffers, or `[name, value]` pairs.
   */
  headers?:
    | Headers
    | ReadonlyMap<string, string>
    | Record<string, string | string[] | number | undefined>
    | ReadonlyArray<string | Uint8Array>
    | ReadonlyArray<readonly [string, string]>
    | null;
  /** A string, a Buffer / Uint8Array, or already-parsed JSON. */
  body?: unknown;
}

export interface ParseOptions {
  /** The dialect to read (default `auto`: detected from the headers, then from the body's shape). */
  dialect?: Dialect;
  /** Local time in epoch ms (defaults to Date.now()). A `Date` header on the response corrects for skew. */
  now?: number;
  /**
   * The server's clock minus the local one, when the caller knows it better than one `Date` header can tell (the
   * pipeline estimates it over many replies). When given, absolute resets are placed with it and `Date` is ignored.
   */
  clockOffsetMs?: number;
}
