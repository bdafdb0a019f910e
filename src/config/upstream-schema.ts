/**
 * The options of one upstream: the same for an upstream of the gateway (`upstreams.<name>`, with `url`) and for the
 * library client (`createClient({ baseUrl, ... })`). This is the edge: it describes what a user may write.
 */
import { z } from 'zod';
import { PRESET_NAMES } from '../presets/names.js';
import { DIALECTS } from './dialects.js';
import { batchSchema, cacheSchema, coalesceSchema } from './economy.js';
import {
  boolean,
  bucketName,
  duration,
  fraction,
  headerName,
  headerValue,
  httpUrl,
  name,
  nonNegativeInteger,
  nonNegativeNumber,
  oneOf,
  options,
  positiveInteger,
  positiveNumber,
  text,
} from './fields.js';
import { policyList, upstreamLimitSchema } from './policy.js';
import { expectedMessage } from './problems.js';
import { majorParameterProblem, routePatternProblem } from './routes.js';
import { secretReferenceSchema } from './secrets.js';

const listOf = <Item extends z.ZodType>(item: Item, expectation: string) =>
  z.array(item, { error: (issue) => expectedMessage(expectation, issue.input) });

function checkedText(problemOf: (value: string) => string | null, expectation: string) {
  return z.string({ error: (issue) => expectedMessage(expectation, issue.input) }).superRefine((value, context) => {
    const problem = problemOf(value);
    if (problem) context.addIssue({ code: 'custom', message: problem, input: value });
  });
}

const endpointSchema = options(
  {
    url: httpUrl().describe('The endpoint base URL.'),
    weight: positiveNumber().optional().describe('Share of calls under balance: weighted. Default 1.'),
  },
  'an endpoint such as { url: https://eu.api.example.com, weight: 1 }',
);

const costSchema = options(
  {
    requests: nonNegativeNumber().optional(),
    tokens: nonNegativeNumber().optional(),
    points: nonNegativeNumber().optional(),
  },
  'a cost per unit such as { tokens: 1000 }',
);

const routeSchema = options(
  {
    match: checkedText(routePatternProblem, 'a route such as "GET /search/*"').describe(
      'An optional method (or *) and a path; * and {name} match one segment, a final ** the rest.',
    ),
    bucket: bucketName().optional().describe('The budget bucket calls on this route count against.'),
    cost: costSchema.optional().describe('What a call costs up front, per unit; settled from the response.'),
  },
  'a route such as { match: "GET /search/*", bucket: search }',
);

const credentialPlacement = {
  header: headerName().optional().describe('Send the secret in this header. Default authorization.'),
  prefix: headerValue().optional().describe('Written before the secret in the header, such as "Bearer ".'),
  query: text('a query parameter name').optional().describe('Send the secret as this query parameter instead.'),
};

const credentialSchema = options(
  {
    ...credentialPlacement,
    username: z
      .union([text('a user name'), secretReferenceSchema], {
        error: (issue) => expectedMessage('a user name or a secret reference', issue.input),
      })
      .optional()
      .describe('With a username, the credential is HTTP Basic: username and value (the password).'),
    value: secretReferenceSchema,
  },
  'a credential such as { header: authorization, prefix: "Bearer ", value: { env: TOKEN } }',
);

export const BALANCES = ['weighted', 'least-loaded'] as const;
export const JITTERS = ['full', 'equal', 'decorrelated', 'none'] as const;

const retrySchema = options({
  attempts: positiveInteger().optional().describe('Most attempts, the first included (1: no retries). Default 3.'),
  baseDelay: duration('non-negative').optional().describe('The first backoff ceiling. Default 100ms.'),
  maxDelay: duration('non-negative').optional().describe('No computed delay exceeds this. Default 10s.'),
  maxElapsed: duration('positive')
    .nullable()
    .optional()
    .describe('No retry starts later than this after the first attempt. Default null (no limit).'),
  jitter: oneOf(JITTERS).optional().describe('How delays are spread. Default full.'),
  factor: z
    .number({ error: (issue) => expectedMessage('a number ≥ 1', issue.input) })
    .min(1, { error: (issue) => expectedMessage('a number ≥ 1', issue.input) })
    .optional()
    .describe('Backoff growth per attempt. Default 2.'),
  maxServerWait: duration('non-negative')
    .optional()
    .describe('A Retry-After longer than this fails fast instead of waiting. Default 60s.'),
  maxReplayBytes: nonNegativeInteger()
    .optional()
    .describe('Request bodies up to this size are kept so they can be sent again. Default 1048576.'),
  retryOn: listOf(
    z
      .number({ error: (issue) => expectedMessage('an HTTP status from 100 to 599', issue.input) })
      .int({ error: (issue) => expectedMessage('an HTTP status from 100 to 599', issue.input) })
      .min(100, { error: (issue) => expectedMessage('an HTTP status from 100 to 599', issue.input) })
      .max(599, { error: (issue) => expectedMessage('an HTTP status from 100 to 599', issue.input) }),
    'a list of HTTP statuses',
  )
    .optional()
    .describe('Statuses that may be retried. Default [408, 429, 500, 502, 503, 504].'),
  budget: options({
    ratio: nonNegativeNumber().optional().describe('Retries allowed per call in the window. Default 0.1.'),
    minPerSecond: nonNegativeNumber().optional().describe('Retries always allowed per second. Default 1.'),
    window: duration('positive').optional().describe('The window the budget counts over. Default 10s.'),
  })
    .optional()
    .describe('Caps retries to a share of calls, so an outage does not multiply load.'),
  idempotencyKey: boolean()
    .optional()
    .describe('Add an Idempotency-Key to unsafe methods so that they can be retried safely. Default false.'),
});

const queueSchema = options({
  maxDepth: positiveInteger()
    .optional()
    .describe('Calls that may wait per budget; more are refused (429). Default 1000.'),
  timeout: duration('non-negative').optional().describe('Longest wait in the queue. Default 30s.'),
  reserve: options({
    share: fraction({ minimum: 'inclusive', maximum: 'exclusive' })
      .optional()
      .describe('Share of the queue and budget kept for priority calls. Default 0.'),
    minPriority: z
      .number({ error: (issue) => expectedMessage('an integer', issue.input) })
      .int({ error: (issue) => expectedMessage('an integer', issue.input) })
      .optional()
      .describe('Calls with at least this priority may use the reserve. Default 1.'),
  }).optional(),
});

const breakerSchema = options({
  consecutiveFailures: positiveInteger().optional().describe('Opens after this many failures in a row. Default 5.'),
  failureRatio: fraction({ minimum: 'exclusive', maximum: 'inclusive' })
    .optional()
    .describe('Opens when this share of calls in the window fail. Default 0.5.'),
  minimumCalls: positiveInteger().optional().describe('Calls in the window before the ratio counts. Default 10.'),
  window: duration('positive').optional().describe('The window the ratio counts over. Default 10s.'),
  openFor: duration('positive').optional().describe('How long it stays open before probing. Default 10s.'),
  halfOpenProbes: positiveInteger().optional().describe('Calls let through to probe a recovery. Default 1.'),
});

const timeoutsSchema = options({
  connect: duration('positive').optional().describe('Establishing the connection. Default 5s.'),
  headers: duration('positive').optional().describe('From sending to the response headers. Default 30s.'),
  body: duration('positive').optional().describe('Longest silence while the body streams. Default 30s.'),
});

const headersSchema = options({
  set: z.record(headerName(), headerValue()).optional().describe('Headers sent on every call, replacing the caller’s.'),
  default: z.record(headerName(), headerValue()).optional().describe('Headers sent when the caller did not send them.'),
  remove: listOf(headerName(), 'a list of header names').optional().describe('Headers removed from every call.'),
});

const credentialDefaultsSchema = options(credentialPlacement).describe(
  'How credentials of this upstream are sent unless a credential says otherwise (presets set it).',
);

/** Everything an upstream and a client have in common: all but where the upstream is. */
const commonShape = {
  preset: oneOf(PRESET_NAMES).optional().describe('Provider defaults; anything set here overrides them.'),
  dialect: oneOf(DIALECTS).optional().describe('How responses state rate limits. Default auto.'),
  userAgent: text('a User-Agent text such as "my-company-sluice/1.0"')
    .optional()
    .describe('Identifies the application to the provider; replaces the caller’s User-Agent.'),
  limits: policyList(upstreamLimitSchema).optional().describe('Starting values of the provider’s limits.'),
  concurrency: positiveInteger()
    .nullable()
    .optional()
    .describe('Most calls in flight per credential. Default null (no cap).'),
  routes: listOf(routeSchema, 'a list of routes')
    .optional()
    .describe('Route to bucket and cost; the first match wins.'),
  majorParameters: listOf(
    checkedText(majorParameterProblem, 'a path template such as "/channels/{id}"'),
    'a list of path templates',
  )
    .optional()
    .describe('Path prefixes route limits are kept per (Discord style).'),
  pacing: options({
    safetyMargin: fraction({ minimum: 'inclusive', maximum: 'exclusive' })
      .optional()
      .describe('Share of every budget left unused. Default 0.01.'),
    discovery: options({
      initialRate: positiveNumber().optional().describe('Calls per window to start at. Default 5.'),
      window: duration('positive').optional().describe('Default 1s.'),
    })
      .optional()
      .describe('For upstreams that state no limits: the rate AIMD starts from.'),
  }).optional(),
  retry: retrySchema.optional(),
  queue: queueSchema.optional(),
  breaker: breakerSchema.optional(),
  timeouts: timeoutsSchema.optional(),
  cache: cacheSchema.optional(),
  coalesce: coalesceSchema.optional(),
  batch: batchSchema.optional().describe('Single-item GET routes collected into one upstream batch call.'),
  maxRequestBytes: positiveInteger().optional().describe('Larger request bodies are refused (413). Default 10485760.'),
  maxResponseBytes: positiveInteger().optional().describe('Larger responses are cut off (502). Default 104857600.'),
  headers: headersSchema.optional(),
  credentialDefaults: credentialDefaultsSchema.optional(),
  credentials: z
    .record(name('a tenant name (or "default")'), credentialSchema)
    .optional()
    .describe('Per tenant (or "default"): the credential its calls use, and so the budget they count against.'),
};

const location = {
  url: httpUrl().optional().describe('The upstream base URL: /<upstream>/<rest> is sent to <url>/<rest>.'),
  endpoints: listOf(endpointSchema, 'a list of endpoints')
    .min(1, { error: () => 'expected at least one endpoint' })
    .optional()
    .describe('Several base URLs to balance over, instead of url.'),
  balance: oneOf(BALANCES).optional().describe('How calls are spread over endpoints. Default weighted.'),
};

export const upstreamOptionsSchema = options({ ...location, ...commonShape }, 'the options of an upstream');

/** The library client's options: the upstream's, with `baseUrl` (required) in place of `url`. */
export const clientOptionsSchema = options(
  { baseUrl: httpUrl().describe('The base URL calls are relative to.'), ...commonShape },
  'the client options',
);

export type UpstreamOptionsInput = z.input<typeof upstreamOptionsSchema>;
export type ClientOptionsInput = z.input<typeof clientOptionsSchema>;
export type RouteInput = z.input<typeof routeSchema>;
export type CredentialInput = z.input<typeof credentialSchema>;

/** The keys of `credentials` are tenant names; this one is used by calls of no tenant or a tenant without its own. */
export const DEFAULT_CREDENTIAL = 'default';
