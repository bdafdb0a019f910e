import fc from 'fast-check';
import { describe, it } from 'vitest';
import { readResponse, SIGNAL_DIALECTS } from '../../src/signals/parse.js';
import { MAX_WAIT_MS } from '../../src/signals/time-frame.js';
import type { Dialect, RateLimitSignal } from '../../src/signals/types.js';

/**
 * At least 100k random responses: header maps mixing every name the readers look at with random ones, values
 * that are almost right (signs, exponents, dates, durations, Structured Fields, huge numbers), and bodies
 * shaped like providers' errors with random contents. `readResponse` has no last-resort guard, so a throw
 * anywhere in a reader fails this test.
 */

const KNOWN_NAMES = [
  'retry-after',
  'retry-after-ms',
  'x-should-retry',
  'date',
  'ratelimit',
  'ratelimit-policy',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'ratelimit-reason',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'x-ratelimit-used',
  'x-ratelimit-resource',
  'x-ratelimit-bucket',
  'x-ratelimit-global',
  'x-ratelimit-scope',
  'x-ratelimit-reset-after',
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-tokens',
  'x-ratelimit-reset-requests',
  'x-ratelimit-limit-minute',
  'x-ratelimit-nearlimit',
  'x-ratelimit-fillrate',
  'x-ratelimit-interval-seconds',
  'anthropic-ratelimit-requests-limit',
  'anthropic-ratelimit-tokens-remaining',
  'anthropic-ratelimit-input-tokens-reset',
  'anthropic-ratelimit--reset',
  'x-shopify-shop-api-call-limit',
  'stripe-rate-limited-reason',
  'stripe-should-retry',
  'x-rate-limit',
  'x-rate-limit-limit',
  'x-rate-limit-remaining',
  'x-rate-limit-reset',
  'x-app-limit-24hour-limit',
  'x-user-limit-24hour-reset',
  'x-user-limit--remaining',
  'x-slack-req-id',
  'sforce-limit-info',
  'x-hubspot-ratelimit-max',
  'x-hubspot-ratelimit-daily-remaining',
  'x-hubspot-ratelimit-interval-milliseconds',
  'zendesk-ratelimit-tickets',
  'zendesk-ratelimit-',
  'cf-ray',
  'x-amzn-errortype',
  'x-amz-request-id',
  'twilio-request-id',
  'x-goog-x',
  'x-ms-region',
  'openai-organization',
];

const TRICKY_VALUES = [
  '',
  ' ',
  '0',
  '-0',
  '-1',
  '1.',
  '.5',
  '1e3',
  '0x10',
  'NaN',
  'Infinity',
  '-Infinity',
  '9'.repeat(30),
  '1700000000',
  '1700000000000',
  '1700000000.123',
  '64.57',
  '2.0',
  '6m0s',
  '2m59.56s',
  '20ms',
  '1h0m0s',
  '-1s',
  'Tue, 14 Nov 2023 22:13:20 GMT',
  'Sun, 31 Feb 1994 08:49:37 GMT',
  'Sunday, 06-Nov-94 08:49:37 GMT',
  'Sun Nov  6 08:49:37 1994',
  '2025-02-24T22:25:32Z',
  '2024-05-05T18:02Z',
  '2025-99-99T99:99Z',
  'true',
  'false',
  '"default";q=100;w=60',
  '"default";r=0;t=20',
  '"x";r=-5;t=-3;pk=:AAAA:',
  '"x";pk=:!!:',
  'limit=100, remaining=50, reset=5',
  'limit=-1, reset=?0',
  '10, 10;w=1, 50;w=60',
  '100;w=10;comment="c"',
  '"a", "a", "a";q=1',
  '40/40',
  '32/',
  '/40',
  '1/0',
  'api-usage=18/5000; api-bursts=1/750',
  'per-app-api-usage=1/2(appName=x',
  'total=100; remaining=0; resets=43',
  'ThrottlingException:http://x',
  '#',
  'global',
  'user',
  'shared',
  '\u0000',
  '€',
  'a'.repeat(10_000),
];

const headerName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...KNOWN_NAMES) },
  { weight: 1, arbitrary: fc.constantFrom(...KNOWN_NAMES).map((name) => name.toUpperCase()) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);
const headerValue = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...TRICKY_VALUES) },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.double().map(String) },
  { weight: 1, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...TRICKY_VALUES), { maxLength: 3 }) },
);
const entries = fc.array(fc.tuple(headerName, headerValue), { maxLength: 12 });
const headers = fc.oneof(
  entries.map((pairs) => Object.fromEntries(pairs)),
  entries.map((pairs) => pairs.flatMap(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : value])),
  entries.map((pairs) => pairs.flatMap(([name, value]) => [Buffer.from(name), Buffer.from(String(value))])),
  entries,
  fc.constantFrom(null, undefined, 42, 'garbage', [1, 2, 3], [['only-a-name']]),
);

const BODY_KEYS = [
  'error',
  'errors',
  'type',
  'message',
  'code',
  'status',
  'details',
  '@type',
  'retryDelay',
  'reason',
  'domain',
  'extensions',
  'cost',
  'throttleStatus',
  'maximumAvailable',
  'currentlyAvailable',
  'restoreRate',
  'requestedQueryCost',
  'retry_after',
  'global',
  'ok',
  'policyName',
  'errorType',
  'correlationId',
  '__type',
  'more_info',
  'success',
  'messages',
  'title',
  'period',
  'documentation_url',
  'errorCode',
  'error_code',
  'param',
  'violations',
  'quotaId',
  'seconds',
  'nanos',
  '__proto__',
  'constructor',
];
const BODY_VALUES = [
  'RATE_LIMITED',
  'THROTTLED',
  'Throttled',
  'RESOURCE_EXHAUSTED',
  'type.googleapis.com/google.rpc.RetryInfo',
  'type.googleapis.com/google.rpc.QuotaFailure',
  'GenerateRequestsPerDay',
  '12s',
  '2.500s',
  '-1s',
  'dailyLimitExceeded',
  'usageLimits',
  'rate_limit_error',
  'enforced_spend_limit_reached',
  'insufficient_quota',
  'ThrottlingException',
  'SlowDown',
  'https://www.twilio.com/docs/errors/20429',
  'ratelimited',
  'DAILY',
  'REQUEST_LIMIT_EXCEEDED',
  'https://api.twitter.com/2/problems/usage-capped',
  'secondary rate limit',
  'docs.github.com',
  'APIRateLimitExceeded',
];
const bodyLeaf = fc.oneof(
  fc.constantFrom(...BODY_VALUES),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 10 }),
);
const bodyObject = fc.object({
  key: fc.constantFrom(...BODY_KEYS),
  values: [bodyLeaf],
  maxDepth: 4,
  maxKeys: 5,
  withNullPrototype: true,
});
const body = fc.oneof(
  { weight: 3, arbitrary: bodyObject },
  { weight: 3, arbitrary: bodyObject.map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.array(bodyObject, { maxLength: 3 }) },
  { weight: 1, arbitrary: bodyObject.map((value) => Buffer.from(JSON.stringify(value))) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('<Error><Code>', '<ErrorResponse><Error><Code>', '<Code>', '{"error":'),
        fc.string({ maxLength: 30 }),
      )
      .map(([start, rest]) => start + rest),
  },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined, 0, true, '', '{', '[', 'null') },
);
const status = fc.oneof(
  fc.constantFrom(200, 301, 400, 403, 404, 409, 429, 500, 503, 529),
  fc.integer({ min: -5, max: 1200 }),
  fc.constantFrom(Number.NaN, 429.5, '429'),
);
const now = fc.integer({ min: 0, max: 4_000_000_000_000 });
const dialect = fc.constantFrom<Dialect>(...SIGNAL_DIALECTS);

function isWait(value: number | null): boolean {
  return value === null || (Number.isInteger(value) && value >= 0 && value <= MAX_WAIT_MS);
}

function isQuantity(value: number | null): boolean {
  return value === null || (Number.isFinite(value) && value >= 0);
}

const UNITS = new Set(['requests', 'tokens', 'points', 'concurrency']);

/** The first invariant the signal breaks, or null. Plain checks: vitest's expect per field would dominate. */
function brokenInvariant(signal: RateLimitSignal): string | null {
  if (typeof signal.limited !== 'boolean') return 'limited is not a boolean';
  if (signal.retryable !== true && signal.retryable !== false && signal.retryable !== null) return 'retryable';
  if (!SIGNAL_DIALECTS.includes(signal.dialect)) return 'dialect';
  if (!isWait(signal.retryAfterMs)) return `retryAfterMs ${signal.retryAfterMs}`;
  if (!isWait(signal.resetAfterMs)) return `resetAfterMs ${signal.resetAfterMs}`;
  if (!isQuantity(signal.resetAtEpochMs) || !isQuantity(signal.limit) || !isQuantity(signal.remaining)) {
    return 'a primary quantity is negative or not finite';
  }
  for (const limit of signal.limits) {
    if (typeof limit.name !== 'string' || !UNITS.has(limit.unit)) return `limit ${limit.name} name or unit`;
    if (!isQuantity(limit.limit) || !isQuantity(limit.remaining) || !isQuantity(limit.resetAtEpochMs)) {
      return `limit ${limit.name} quantities`;
    }
    if (!isWait(limit.resetAfterMs)) return `limit ${limit.name} resetAfterMs ${limit.resetAfterMs}`;
    if (limit.windowMs !== null && !(Number.isInteger(limit.windowMs) && limit.windowMs > 0)) return 'windowMs';
  }
  const primary = signal.limits[0];
  if (signal.limit !== (primary?.limit ?? null) || signal.resetAfterMs !== (primary?.resetAfterMs ?? null)) {
    return 'the top level is not the primary limit';
  }
  for (const [key, value] of Object.entries(signal.details ?? {})) {
    if (!(typeof value === 'string' || typeof value === 'boolean' || Number.isFinite(value))) return `details.${key}`;
  }
  return null;
}

function expectSound(signal: RateLimitSignal): void {
  const broken = brokenInvariant(signal);
  if (broken !== null) throw new Error(`${broken} in ${JSON.stringify(signal)}`);
}

describe('garbage never throws, and waits are never negative or NaN', () => {
  it('holds for 70k random header maps (any dialect, auto included)', () => {
    fc.assert(
      fc.property(
        status,
        headers,
        body,
        now,
        dialect,
        (statusValue, headerValue, bodyValue, nowValue, dialectValue) => {
          expectSound(
            readResponse({ status: statusValue, headers: headerValue, body: bodyValue }, dialectValue, nowValue),
          );
        },
      ),
      { numRuns: 70_000 },
    );
  }, 120_000);

  it('holds for 40k random bodies read by the dialect that would parse them', () => {
    fc.assert(
      fc.property(status, body, now, (statusValue, bodyValue, nowValue) => {
        expectSound(readResponse({ status: statusValue, headers: {}, body: bodyValue }, 'auto', nowValue));
      }),
      { numRuns: 40_000 },
    );
  }, 120_000);
});
