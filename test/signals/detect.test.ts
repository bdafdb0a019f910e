import { describe, expect, it } from 'vitest';
import { detectDialect } from '../../src/signals/detect.js';
import { parseRateLimit } from '../../src/signals/parse.js';

describe('detectDialect from headers', () => {
  it.each([
    [{ 'anthropic-ratelimit-requests-limit': '50' }, 'anthropic'],
    [{ 'x-ratelimit-limit-requests': '60' }, 'openai'],
    [{ 'x-ratelimit-remaining-tokens': '60', 'x-ms-region': 'East US' }, 'azure-openai'],
    [{ 'X-RateLimit-Bucket': 'abc' }, 'discord'],
    [{ 'X-RateLimit-Global': 'true' }, 'discord'],
    [{ 'x-ratelimit-resource': 'core', 'x-ratelimit-limit': '5000' }, 'github'],
    [{ 'X-GitHub-Request-Id': 'E198' }, 'github'],
    [{ 'X-Shopify-Shop-Api-Call-Limit': '1/40' }, 'shopify'],
    [{ 'Stripe-Version': '2024-06-20' }, 'stripe'],
    [{ 'x-rate-limit-limit': '900' }, 'x'],
    [{ 'x-user-limit-24hour-limit': '17' }, 'x'],
    [{ 'X-Rate-Limit': '700', 'X-Rate-Limit-Remaining': '1' }, 'zendesk'],
    [{ 'x-slack-req-id': 'a' }, 'slack'],
    [{ 'Sforce-Limit-Info': 'api-usage=1/5' }, 'salesforce'],
    [{ 'X-Ratelimit-Used': '3', 'X-Ratelimit-Remaining': '597.0' }, 'reddit'],
    [{ 'RateLimit-Reason': 'jira-burst-based' }, 'atlassian'],
    [{ 'X-HubSpot-RateLimit-Max': '190' }, 'hubspot'],
    [{ 'cf-ray': 'x', ratelimit: '"default";r=1' }, 'cloudflare'],
    [{ 'x-amzn-requestid': 'x' }, 'aws'],
    [{ 'Twilio-Request-Id': 'RQ' }, 'twilio'],
    [{ 'x-goog-api-client': 'x' }, 'google'],
    [{ 'RateLimit-Limit': '10' }, 'ietf'],
    [{ RateLimit: 'limit=10, reset=1' }, 'ietf'],
    [{ 'X-RateLimit-Limit': '10', 'X-RateLimit-Used': '1' }, 'generic'],
    [{ 'X-RateLimit-Limit-Minute': '10' }, 'generic'],
    [{ 'Content-Type': 'text/plain' }, 'generic'],
    [{}, 'generic'],
  ])('%j is %s', (headers, dialect) => {
    expect(detectDialect(headers)).toBe(dialect);
  });

  it('a site behind the Cloudflare CDN with its own X-RateLimit headers is not the Cloudflare API', () => {
    expect(detectDialect({ 'cf-ray': 'x', 'x-ratelimit-limit': '10' })).toBe('generic');
  });
});

describe('detectDialect from the body, when headers are silent', () => {
  it.each([
    [429, { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }, 'anthropic'],
    [429, { error: { message: 'x', type: 'requests', param: null, code: 'rate_limit_exceeded' } }, 'openai'],
    [
      429,
      {
        error: {
          code: 'rate_limit',
          message: 'see https://stripe.com/docs/rate-limits',
          type: 'invalid_request_error',
        },
      },
      'stripe',
    ],
    [429, { error: { code: 429, status: 'RESOURCE_EXHAUSTED' } }, 'google'],
    [400, { __type: 'ThrottlingException' }, 'aws'],
    [429, { code: 20429, more_info: 'https://www.twilio.com/docs/errors/20429' }, 'twilio'],
    [429, { ok: false, error: 'ratelimited' }, 'slack'],
    [429, { errorType: 'RATE_LIMIT', policyName: 'DAILY', correlationId: 'c' }, 'hubspot'],
    [429, { message: 'You are being rate limited.', retry_after: 1, global: false }, 'discord'],
    [429, { error: 'APIRateLimitExceeded' }, 'zendesk'],
    [429, { success: false, errors: [{ code: 971 }], messages: [] }, 'cloudflare'],
    [429, { title: 'Too Many Requests', type: 'https://api.twitter.com/2/problems/usage-capped' }, 'x'],
    [429, { errors: [{ code: 88, message: 'Rate limit exceeded' }] }, 'x'],
    [403, [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' }], 'salesforce'],
    [200, '{"errors":[{"type":"RATE_LIMITED"}]}', 'github'],
    [200, '{"extensions":{"cost":{"throttleStatus":{}}}}', 'shopify'],
    [503, '<Error><Code>SlowDown</Code></Error>', 'aws'],
    [429, { error: { message: 'nothing anyone would recognise' } }, 'generic'],
    [429, 'Too Many Requests', 'generic'],
  ])('status %d with %j is %s', (status, body, dialect) => {
    expect(detectDialect({ 'content-type': 'application/json' }, body, status)).toBe(dialect);
  });

  it('headers win over the body', () => {
    const body = { type: 'error', error: { type: 'rate_limit_error' } };
    expect(detectDialect({ 'x-ratelimit-limit-requests': '60' }, body, 429)).toBe('openai');
  });
});

describe('a forced dialect', () => {
  const now = 1_700_000_000_000;

  it('reads with that dialect whatever auto-detection would say', () => {
    const headers = {
      'X-RateLimit-Limit': '10',
      'X-RateLimit-Remaining': '3',
      'X-RateLimit-Reset': '30',
      'X-RateLimit-Used': '7',
    };
    expect(parseRateLimit({ status: 200, headers }, { now }).dialect).toBe('generic');
    const reddit = parseRateLimit({ status: 200, headers }, { now, dialect: 'reddit' });
    expect(reddit).toMatchObject({ dialect: 'reddit', limit: 10, remaining: 3, resetAfterMs: 30_000 });
    expect(reddit.limits[0]?.windowMs).toBe(600_000);
  });

  it('still reads the IETF or X-RateLimit fields when the dialect has nothing of its own', () => {
    const ietf = parseRateLimit(
      { status: 429, headers: { ratelimit: '"default";r=0;t=5', 'ratelimit-policy': '"default";q=10;w=60' } },
      { now, dialect: 'stripe' },
    );
    expect(ietf).toMatchObject({ dialect: 'stripe', limit: 10, remaining: 0, retryAfterMs: 5000 });
    const generic = parseRateLimit(
      { status: 429, headers: { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '5' } },
      { now, dialect: 'slack' },
    );
    expect(generic).toMatchObject({ dialect: 'slack', limit: 10, remaining: 0, retryAfterMs: 5000 });
  });

  it('a dialect that does not match the response says what the status says, and no more', () => {
    const signal = parseRateLimit(
      { status: 200, headers: { 'anthropic-ratelimit-requests-limit': '5' } },
      { now, dialect: 'discord' },
    );
    expect(signal).toMatchObject({ dialect: 'discord', limited: false, limit: null, limits: [] });
  });
});
