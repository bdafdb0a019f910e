import { asArray, asRecord, asString, type BodyView, createBodyView, pathOf } from './body.js';
import { normalizeHeaders, type SignalHeaders } from './headers.js';
import { hasIetfFields } from './ietf.js';
import type { Dialect } from './types.js';

export type ConcreteDialect = Exclude<Dialect, 'auto'>;

/**
 * Which dialect a response speaks, from the headers present, and from the body's shape only when the headers
 * say nothing. Public form: takes headers (and a body) in any form `parseRateLimit` accepts.
 */
export function detectDialect(headers: unknown, body?: unknown, status = 0): ConcreteDialect {
  return detectFromResponse(normalizeHeaders(headers), createBodyView(body), status);
}

export function detectFromResponse(headers: SignalHeaders, body: BodyView, status: number): ConcreteDialect {
  return detectFromHeaders(headers) ?? detectFromBody(body, status) ?? 'generic';
}

/**
 * Header names that identify a provider on their own, and name prefixes that do, in order of precedence.
 * Anthropic and OpenAI come first: an LLM gateway may add other vendors' headers, never these.
 */
const EXACT_NAMES: ReadonlyArray<[string, ConcreteDialect]> = [
  ['x-ratelimit-limit-requests', 'openai'],
  ['x-ratelimit-limit-tokens', 'openai'],
  ['x-ratelimit-remaining-requests', 'openai'],
  ['x-ratelimit-remaining-tokens', 'openai'],
  ['x-ratelimit-reset-requests', 'openai'],
  ['x-ratelimit-reset-tokens', 'openai'],
  ['openai-organization', 'openai'],
  ['x-ratelimit-bucket', 'discord'],
  ['x-ratelimit-global', 'discord'],
  ['x-ratelimit-scope', 'discord'],
  ['x-ratelimit-reset-after', 'discord'],
  ['x-ratelimit-resource', 'github'],
  ['x-github-request-id', 'github'],
  ['x-github-media-type', 'github'],
  ['sforce-limit-info', 'salesforce'],
  ['x-rate-limit', 'zendesk'],
  ['x-rate-limit-limit', 'x'],
  ['x-rate-limit-remaining', 'x'],
  ['x-rate-limit-reset', 'x'],
  ['ratelimit-reason', 'atlassian'],
  ['x-ratelimit-nearlimit', 'atlassian'],
  ['x-ratelimit-fillrate', 'atlassian'],
  ['x-ratelimit-interval-seconds', 'atlassian'],
  ['atl-traceid', 'atlassian'],
  ['x-arequestid', 'atlassian'],
];
const PREFIXES: ReadonlyArray<[string, ConcreteDialect]> = [
  ['x-shopify-', 'shopify'],
  ['stripe-', 'stripe'],
  ['zendesk-ratelimit-', 'zendesk'],
  ['x-zendesk-', 'zendesk'],
  ['x-app-limit-', 'x'],
  ['x-user-limit-', 'x'],
  ['x-slack-', 'slack'],
  ['x-hubspot-', 'hubspot'],
  ['x-amzn-', 'aws'],
  ['x-amz-', 'aws'],
  ['twilio-', 'twilio'],
  ['x-twilio-', 'twilio'],
  ['x-goog-', 'google'],
];

interface Rule {
  rank: number;
  dialect: ConcreteDialect;
}

const ANTHROPIC_RULE: Rule = { rank: 0, dialect: 'anthropic' };
const EXACT_RULES = new Map<string, Rule>(
  EXACT_NAMES.map(([name, dialect], index) => [name, { rank: 1 + index, dialect }]),
);
const PREFIX_RULES: ReadonlyArray<[string, Rule]> = PREFIXES.map(([prefix, dialect], index) => [
  prefix,
  { rank: 1 + EXACT_NAMES.length + index, dialect },
]);
/** First characters of every prefix: most header names (content-type, date, etag...) skip the prefix scan. */
const PREFIX_STARTS = new Set(
  ['anthropic-ratelimit-', ...PREFIXES.map(([prefix]) => prefix)].map((prefix) => prefix[0]),
);
const AZURE_NAMES = ['x-ms-region', 'apim-request-id', 'azureml-model-session', 'x-ms-deployment-name'];

/** One pass over the names; the rule of highest precedence among those that match wins. */
export function detectFromHeaders(headers: SignalHeaders): ConcreteDialect | null {
  let best: Rule | null = null;
  let sawRateLimitFamily = false;
  for (const name of headers.keys()) {
    const exact = EXACT_RULES.get(name);
    if (exact !== undefined && (best === null || exact.rank < best.rank)) best = exact;
    if (!PREFIX_STARTS.has(name[0])) continue;
    if (name.startsWith('anthropic-ratelimit-')) return ANTHROPIC_RULE.dialect;
    if (name.startsWith('x-ratelimit-')) sawRateLimitFamily = true;
    for (const [prefix, rule] of PREFIX_RULES) {
      if ((best === null || rule.rank < best.rank) && name.startsWith(prefix)) best = rule;
    }
  }
  if (best !== null) {
    if (best.dialect === 'openai' && AZURE_NAMES.some((name) => headers.has(name))) return 'azure-openai';
    return best.dialect;
  }
  if (headers.has('x-ratelimit-used') && !headers.has('x-ratelimit-limit')) return 'reddit';
  if (hasIetfFields(headers)) return headers.has('cf-ray') ? 'cloudflare' : 'ietf';
  return sawRateLimitFamily ? 'generic' : null;
}

/**
 * Error bodies (status >= 400) are small and rare, so they are parsed when the headers are silent. A success
 * body is read only when its text mentions one of the few ways providers report a limit with a 2xx: Shopify's
 * GraphQL cost, GitHub GraphQL's RATE_LIMITED, Slack's "ratelimited".
 */
export function detectFromBody(body: BodyView, status: number): ConcreteDialect | null {
  const text = body.text();
  if (text !== null && status < 400 && !mentionsLimitInSuccess(text)) return null;
  const json = body.json();
  if (json === undefined) return text !== null && isAwsXml(text) ? 'aws' : null;
  if (Array.isArray(json)) return asString(asRecord(json[0])?.errorCode) !== null ? 'salesforce' : null;
  const record = asRecord(json);
  return record === null ? null : dialectOfJson(record);
}

function mentionsLimitInSuccess(text: string): boolean {
  return text.includes('throttleStatus') || text.includes('RATE_LIMITED') || text.includes('ratelimited');
}

function isAwsXml(text: string): boolean {
  return text.includes('<Code>') && (text.includes('<Error>') || text.includes('<ErrorResponse'));
}

function dialectOfJson(body: Record<string, unknown>): ConcreteDialect | null {
  if (asRecord(pathOf(body, 'extensions', 'cost')) !== null) return 'shopify';
  if (body.ok === false && typeof body.error === 'string') return 'slack';
  if (typeof body.__type === 'string') return 'aws';
  if (typeof body.more_info === 'string' && body.more_info.includes('twilio')) return 'twilio';
  if (body.errorType === 'RATE_LIMIT' || (typeof body.policyName === 'string' && 'correlationId' in body)) {
    return 'hubspot';
  }
  if ('retry_after' in body && 'global' in body) return 'discord';
  if (body.error === 'APIRateLimitExceeded') return 'zendesk';
  if (body.success === false && Array.isArray(body.errors) && 'messages' in body) return 'cloudflare';
  const problemType = asString(body.type) ?? '';
  if (problemType.includes('twitter.com/2/problems') || problemType.includes('x.com/2/problems')) return 'x';
  const errors = asArray(body.errors);
  if (errors.some((error) => asRecord(error)?.type === 'RATE_LIMITED')) return 'github';
  if (errors.some((error) => asRecord(error)?.code === 88)) return 'x';
  if ((asString(body.documentation_url) ?? '').includes('github.com')) return 'github';
  const error = asRecord(body.error);
  if (error === null) return null;
  if (body.type === 'error' && typeof error.type === 'string') return 'anthropic';
  if (typeof error.status === 'string' || Array.isArray(error.details) || Array.isArray(error.errors)) return 'google';
  if (isStripeError(error)) return 'stripe';
  if ((asString(error.message) ?? '').includes('Azure OpenAI')) return 'azure-openai';
  const code = asString(error.code) ?? asString(error.type);
  if ('param' in error || (code !== null && OPENAI_CODES.has(code))) return 'openai';
  return null;
}

const OPENAI_CODES = new Set(['rate_limit_exceeded', 'insufficient_quota', 'billing_hard_limit_reached']);

function isStripeError(error: Record<string, unknown>): boolean {
  const message = asString(error.message) ?? '';
  return (
    typeof error.doc_url === 'string' ||
    message.includes('stripe.com') ||
    error.code === 'rate_limit' ||
    error.code === 'lock_timeout'
  );
}
