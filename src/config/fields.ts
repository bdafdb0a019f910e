/**
 * Building blocks of the configuration schema. Each carries its own error message, written for the person editing
 * the file ("expected a positive integer, got 0"), so that messages read the same wherever the field is used.
 */
import { z } from 'zod';
import { parseDurationText } from '../time.js';
import { expectedMessage, listNames, showValue, suggestion } from './problems.js';

/** What zod hands an error function: enough to say what was given. */
interface RawIssue {
  readonly code?: string;
  readonly input?: unknown;
  readonly keys?: readonly string[];
}

const expecting = (expectation: string) => (issue: RawIssue) => expectedMessage(expectation, issue.input);

export function positiveInteger(expectation = 'a positive integer') {
  const error = expecting(expectation);
  return z.number({ error }).int({ error }).positive({ error });
}

export function nonNegativeInteger(expectation = 'a non-negative integer') {
  const error = expecting(expectation);
  return z.number({ error }).int({ error }).nonnegative({ error });
}

export function positiveNumber(expectation = 'a positive number') {
  const error = expecting(expectation);
  return z.number({ error }).positive({ error });
}

export function nonNegativeNumber(expectation = 'a non-negative number') {
  const error = expecting(expectation);
  return z.number({ error }).nonnegative({ error });
}

/** A share of something: `0 <= x < 1`, or `0 < x <= 1` for ratios that must be positive. */
export function fraction(bounds: { minimum: 'inclusive' | 'exclusive'; maximum: 'inclusive' | 'exclusive' }) {
  const low = bounds.minimum === 'inclusive' ? '0 ≤' : '0 <';
  const high = bounds.maximum === 'inclusive' ? '≤ 1' : '< 1';
  const error = expecting(`a number with ${low} x ${high}`);
  const atLeastZero = z.number({ error });
  const bottom = bounds.minimum === 'inclusive' ? atLeastZero.min(0, { error }) : atLeastZero.gt(0, { error });
  return bounds.maximum === 'inclusive' ? bottom.max(1, { error }) : bottom.lt(1, { error });
}

export function port() {
  const error = expecting('a port number from 0 to 65535 (0 picks a free port)');
  return z.number({ error }).int({ error }).min(0, { error }).max(65_535, { error });
}

export function boolean() {
  return z.boolean({ error: expecting('true or false') });
}

export function text(expectation = 'a non-empty text') {
  const error = expecting(expectation);
  return z.string({ error }).min(1, { error });
}

/** Mirrors `parseDurationText` in src/time.ts, for editors that read the JSON Schema. */
export const DURATION_TEXT = /^\s*(?:0|(?:(?:\d+(?:\.\d+)?|\.\d+)(?:ns|us|µs|ms|s|m|h|d))+)\s*$/;

export const DURATION_EXAMPLES = '500 (milliseconds), "250ms", "1.5s", "1m" or "1h30m"';

/**
 * A duration: whole milliseconds as a number, or text with units. `positive` durations (windows, intervals) may not
 * be zero; the others (delays) may.
 */
export function duration(kind: 'positive' | 'non-negative') {
  const error = (issue: RawIssue) => {
    if (typeof issue.input === 'number' && issue.input < 0) return `expected a ${kind} duration, got ${issue.input}`;
    return expectedMessage(`a duration such as ${DURATION_EXAMPLES}`, issue.input);
  };
  const schema = z.union(
    [
      z.number({ error }).nonnegative({ error }),
      z
        .string({ error })
        .regex(DURATION_TEXT, { error })
        .refine((value) => parseDurationText(value) !== null, { error }),
    ],
    { error },
  );
  if (kind === 'non-negative') return schema;
  return schema.refine((value) => (typeof value === 'number' ? value > 0 : parseDurationText(value) !== 0), {
    error: (issue: RawIssue) => `expected a positive duration, got ${showValue(issue.input)}`,
  });
}

/** Turns a validated duration into whole milliseconds (rounded up, like `toMilliseconds`). */
export function durationMs(value: number | string): number {
  return typeof value === 'number' ? Math.ceil(value) : (parseDurationText(value) as number);
}

/** Shows a URL without any credentials written into it. */
export function redactUrl(value: string): string {
  return value.replace(/\/\/[^/@?#]*@/, '//***@');
}

/** Why `value` is not a usable upstream base URL, or null when it is. */
export function httpUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `expected an absolute http(s) URL such as "https://api.example.com", got ${showValue(redactUrl(value))}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `expected an http:// or https:// URL, got ${showValue(redactUrl(value))}`;
  }
  if (url.username !== '' || url.password !== '') {
    return `must not contain credentials (${redactUrl(value)}): give them under credentials as { env: NAME } or { file: PATH }`;
  }
  if (url.search !== '' || url.hash !== '') {
    return `a base URL cannot carry a query or fragment, got ${showValue(value)}: set query credentials under credentials`;
  }
  return null;
}

export function httpUrl() {
  return z
    .string({ error: expecting('an absolute http(s) URL such as "https://api.example.com"') })
    .superRefine((value, context) => {
      const problem = httpUrlProblem(value);
      if (problem) context.addIssue({ code: 'custom', message: problem, input: value });
    })
    .meta({ format: 'uri' });
}

/** A base URL in one form: no trailing slash, so that `<url>/<rest>` joins cleanly. */
export function normalizeBaseUrl(value: string): string {
  const url = new URL(value);
  return url.href.replace(/\/+$/, '');
}

export function redisUrl() {
  return z
    .string({ error: expecting('a Redis URL such as "redis://127.0.0.1:6379"') })
    .superRefine((value, context) => {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        context.addIssue({
          code: 'custom',
          message: `expected a Redis URL such as "redis://127.0.0.1:6379", got ${showValue(redactUrl(value))}`,
          input: value,
        });
        return;
      }
      if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
        context.addIssue({
          code: 'custom',
          message: `expected a redis:// or rediss:// URL, got ${showValue(redactUrl(value))}`,
          input: value,
        });
      } else if (url.password !== '') {
        context.addIssue({
          code: 'custom',
          message: `must not contain a password (${redactUrl(value)}): use store.redis.password: { env: NAME }`,
          input: value,
        });
      }
    })
    .meta({ format: 'uri' });
}

/** Names that become URL path segments, metric labels and budget keys. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const NAME_RULE = 'lower-case letters, digits, ".", "_" or "-", starting with a letter or digit, at most 64 long';

export function name(noun: string) {
  const error = (issue: RawIssue) => {
    const given = issue.input;
    const lowered = typeof given === 'string' ? given.toLowerCase() : undefined;
    const hint =
      lowered !== undefined && lowered !== given && NAME_PATTERN.test(lowered) ? ` (did you mean "${lowered}"?)` : '';
    return `${expectedMessage(`${noun} of ${NAME_RULE}`, given)}${hint}`;
  };
  return z.string({ error }).regex(NAME_PATTERN, { error });
}

/** Names of inbound rules and their policies appear in RateLimit-Policy fields, so they follow the sf-key syntax. */
export const POLICY_NAME_PATTERN = /^[a-z][a-z0-9._-]{0,63}$/;

export function policyName() {
  const error = expecting('a name of lower-case letters, digits, ".", "_" or "-", starting with a letter');
  return z.string({ error }).regex(POLICY_NAME_PATTERN, { error });
}

/** Route bucket names label budgets; providers' own names (Slack's `chat.postMessage`) are kept as they are. */
export const BUCKET_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function bucketName() {
  const error = expecting('a bucket name of letters, digits, ".", "_" or "-", starting with a letter or digit');
  return z.string({ error }).regex(BUCKET_NAME_PATTERN, { error });
}

/** RFC 9110 field-name (a token). Header names are compared and kept in lower case. */
export const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function headerName() {
  const error = expecting('an HTTP header name such as "x-api-key"');
  return z.string({ error }).regex(HEADER_NAME_PATTERN, { error });
}

/** Control characters other than tab: in a header they would split the request (or be refused by undici). */
export function hasControlCharacter(value: string): boolean {
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

/** A header value may not contain line breaks or other control characters. */
export function headerValue() {
  const error = expecting('a header value without line breaks or control characters');
  return z.string({ error }).refine((value) => !hasControlCharacter(value), { error });
}

/** One of a fixed list of words, suggesting the closest when the word is misspelt. */
export function oneOf<const Values extends readonly [string, ...string[]]>(values: Values) {
  return z.enum(values, {
    error: (issue: RawIssue) =>
      `${expectedMessage(`one of ${listNames(values)}`, issue.input)}${suggestion(issue.input, values)}`,
  });
}

/**
 * The message for options zod did not recognise. One line per key, in the order of `keys`: the translation into
 * problems (see issues.ts) splits them again, one problem per unknown key with its own path.
 */
export function unknownKeysMessage(keys: readonly string[], known: readonly string[]): string {
  return keys
    .map((key) => {
      const hint = suggestion(key, known);
      if (hint !== '') return `unknown option${hint}`;
      return known.length <= 8 ? `unknown option (expected one of ${listNames(known)})` : 'unknown option';
    })
    .join('\n');
}

/**
 * A mapping of options where unknown keys are errors: a typo must not pass silently. `expectation` describes the
 * mapping for the message given when something else (a number, a list) stands in its place.
 */
export function options<Shape extends z.core.$ZodLooseShape>(shape: Shape, expectation = 'a mapping of options') {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue: RawIssue) =>
      issue.code === 'unrecognized_keys'
        ? unknownKeysMessage(issue.keys ?? [], known)
        : expectedMessage(expectation, issue.input),
  });
}
