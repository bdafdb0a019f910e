import {
  type BareItem,
  type Dictionary,
  type InnerList,
  type Item,
  type List,
  type Parameters,
  parseDictionary,
  parseList,
  Token,
} from 'structured-headers';
import type { SignalHeaders } from './headers.js';
import { createLimit, type DialectReader } from './reading.js';
import { type ResetTime, resetFromNumber, resetFromText, type TimeFrame } from './time-frame.js';
import type { LimitUnit, SignalLimit } from './types.js';
import { parseCount, parseRemaining } from './values.js';

/**
 * The IETF RateLimit fields, every generation of draft-ietf-httpapi-ratelimit-headers:
 * - draft-polli-00 .. draft-06: separate `RateLimit-Limit` / `-Remaining` / `-Reset` (delta seconds; an
 *   HTTP-date in polli-00), quota policies after the first member of `RateLimit-Limit` (01..04) or in
 *   `RateLimit-Policy` (05, 06) as `100;w=10`;
 * - draft-07: one `RateLimit` Dictionary `limit=100, remaining=50, reset=5` next to `RateLimit-Policy`;
 * - draft-08 .. 10: `RateLimit-Policy` and `RateLimit` as Lists of named items (`"default";q=100;w=60`,
 *   `"default";r=50;t=30`) with quota unit `qu` and partition key `pk`.
 * The newest form present wins. Structured Fields are parsed with `structured-headers` (RFC 9651); a value
 * it rejects is ignored, as is any value longer than a header has any reason to be.
 */
export function readIetfLimits(headers: SignalHeaders, frame: TimeFrame): SignalLimit[] {
  return (
    readNamedPolicies(headers, frame) ?? readDictionaryField(headers, frame) ?? readSeparateFields(headers, frame) ?? []
  );
}

export const readIetf: DialectReader = (input) => ({
  limited: input.status === 429,
  limits: readIetfLimits(input.headers, input.frame),
});

/** True when the response carries any of the IETF fields. */
export function hasIetfFields(headers: SignalHeaders): boolean {
  return (
    headers.has('ratelimit') ||
    headers.has('ratelimit-policy') ||
    headers.has('ratelimit-limit') ||
    headers.has('ratelimit-remaining') ||
    headers.has('ratelimit-reset')
  );
}

const MAX_FIELD_LENGTH = 8192;

/** A quota policy, from any generation. */
interface Policy {
  name: string | null;
  quota: number | null;
  windowSeconds: number | null;
  unit: LimitUnit;
  partitionKey: string | undefined;
}

function readNamedPolicies(headers: SignalHeaders, frame: TimeFrame): SignalLimit[] | null {
  const current = namedItems(parseListSafely(headers.get('ratelimit')));
  const policies = namedItems(parseListSafely(headers.get('ratelimit-policy'))).map(([name, parameters]) =>
    policyFrom(name, parameters),
  );
  if (current.length === 0 && policies.length === 0) return null;
  const used = new Set<Policy>();
  const limits: SignalLimit[] = [];
  for (const [name, parameters] of current) {
    const partitionKey = byteSequence(parameters.get('pk'));
    const policy = policies.find((candidate) => candidate.name === name && !used.has(candidate));
    if (policy) used.add(policy);
    const remaining = numberOf(parameters.get('r'));
    const resetSeconds = numberOf(parameters.get('t'));
    limits.push(
      createLimit({
        name,
        unit: policy?.unit ?? 'requests',
        limit: policy?.quota ?? null,
        remaining: remaining === null ? null : Math.max(0, remaining),
        reset: resetSeconds === null ? null : resetFromNumber(frame, resetSeconds),
        windowMs: windowMs(policy),
        partitionKey: partitionKey ?? policy?.partitionKey,
      }),
    );
  }
  for (const policy of policies) if (!used.has(policy)) limits.push(informativeLimit(policy));
  return limits;
}

function readDictionaryField(headers: SignalHeaders, frame: TimeFrame): SignalLimit[] | null {
  const dictionary = parseDictionarySafely(headers.get('ratelimit'));
  if (dictionary === null || !(dictionary.has('limit') || dictionary.has('remaining') || dictionary.has('reset'))) {
    return null;
  }
  const resetSeconds = numberOf(memberValue(dictionary, 'reset'));
  const remaining = numberOf(memberValue(dictionary, 'remaining'));
  return withPolicies(
    numberOf(memberValue(dictionary, 'limit')),
    remaining === null ? null : Math.max(0, remaining),
    resetSeconds === null ? null : resetFromNumber(frame, resetSeconds),
    numericPolicies(parseListSafely(headers.get('ratelimit-policy'))),
  );
}

function readSeparateFields(headers: SignalHeaders, frame: TimeFrame): SignalLimit[] | null {
  const limitText = headers.get('ratelimit-limit');
  const remainingText = headers.get('ratelimit-remaining');
  const resetText = headers.get('ratelimit-reset');
  if (limitText === undefined && remainingText === undefined && resetText === undefined) return null;
  // Drafts 01..04 list quota policies after the expiring limit: "10, 10;w=1, 50;w=60".
  const inlinePolicies = numericPolicies(parseListSafely(limitText)).filter((policy) => policy.windowSeconds !== null);
  const policies = [...inlinePolicies, ...numericPolicies(parseListSafely(headers.get('ratelimit-policy')))];
  return withPolicies(parseCount(limitText), parseRemaining(remainingText), resetFromText(frame, resetText), policies);
}

/** The current limit, with its window from the policy of the same quota; the other policies inform. */
function withPolicies(
  limit: number | null,
  remaining: number | null,
  reset: ResetTime | null,
  policies: Policy[],
): SignalLimit[] {
  const own = policies.find((policy) => policy.quota === limit) ?? (limit === null ? policies[0] : undefined);
  const primary = createLimit({
    name: own?.name ?? 'default',
    unit: own?.unit ?? 'requests',
    limit: limit ?? own?.quota ?? null,
    remaining,
    reset,
    windowMs: windowMs(own),
    partitionKey: own?.partitionKey,
  });
  return [primary, ...policies.filter((policy) => policy !== own).map(informativeLimit)];
}

/** A policy the response states without current numbers: the quota and window are still worth knowing. */
function informativeLimit(policy: Policy): SignalLimit {
  return createLimit({
    name: policy.name ?? `${policy.quota ?? '?'};w=${policy.windowSeconds ?? '?'}`,
    unit: policy.unit,
    limit: policy.quota,
    windowMs: windowMs(policy),
    partitionKey: policy.partitionKey,
  });
}

function policyFrom(name: string | null, parameters: Parameters): Policy {
  const quota = numberOf(parameters.get('q'));
  return {
    name,
    quota: quota === null ? null : Math.max(0, quota),
    windowSeconds: numberOf(parameters.get('w')),
    unit: unitOf(parameters.get('qu')),
    partitionKey: byteSequence(parameters.get('pk')),
  };
}

function numericPolicies(list: List | null): Policy[] {
  const policies: Policy[] = [];
  for (const member of list ?? []) {
    if (isInnerList(member)) continue;
    const quota = numberOf(member[0]);
    if (quota === null) continue;
    const policy = policyFrom(null, member[1]);
    policies.push({ ...policy, quota: Math.max(0, quota) });
  }
  return policies;
}

function windowMs(policy: Policy | undefined): number | null {
  const seconds = policy?.windowSeconds;
  return seconds === null || seconds === undefined ? null : Math.round(seconds * 1000);
}

/** The draft-10 quota units, mapped to Sluice's; units Sluice has no name for count as abstract points. */
function unitOf(value: BareItem | undefined): LimitUnit {
  const unit = textOf(value);
  if (unit === null || unit === 'requests') return 'requests';
  if (unit === 'concurrent-requests') return 'concurrency';
  if (unit === 'tokens') return 'tokens';
  return 'points';
}

function namedItems(list: List | null): Array<[string, Parameters]> {
  const named: Array<[string, Parameters]> = [];
  for (const member of list ?? []) {
    if (isInnerList(member)) continue;
    const name = textOf(member[0]);
    if (name !== null) named.push([name, member[1]]);
  }
  return named;
}

function memberValue(dictionary: Dictionary, key: string): BareItem | undefined {
  const member = dictionary.get(key);
  if (member === undefined || isInnerList(member)) return undefined;
  return member[0];
}

function isInnerList(member: Item | InnerList): member is InnerList {
  return Array.isArray(member[0]);
}

function textOf(value: BareItem | undefined): string | null {
  if (typeof value === 'string') return value;
  if (value instanceof Token) return value.toString();
  return null;
}

function numberOf(value: BareItem | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function byteSequence(value: BareItem | undefined): string | undefined {
  if (value instanceof ArrayBuffer) return Buffer.from(value).toString('base64');
  return undefined;
}

function parseListSafely(text: string | undefined): List | null {
  if (text === undefined || text.length > MAX_FIELD_LENGTH) return null;
  try {
    return parseList(text);
  } catch {
    return null;
  }
}

function parseDictionarySafely(text: string | undefined): Dictionary | null {
  if (text === undefined || text.length > MAX_FIELD_LENGTH) return null;
  try {
    return parseDictionary(text);
  } catch {
    return null;
  }
}
