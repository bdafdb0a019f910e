/**
 * Keeps credentials out of what Sluice writes down (logs, the admin view of budgets). Three nets, each cheap:
 * query parameters by name (the configured list plus anything named like a key, token, secret, password or
 * signature), values that look like credentials wherever they sit in a path (provider-prefixed keys, JWTs, long
 * mixed-case tokens such as Discord's webhook tokens), and the exact secret values the caller knows of.
 */

export const REDACTED = '***';

/** Query parameter names that always carry credentials, whatever the configured list says. */
const CREDENTIAL_NAME = /key|token|secret|passw|pwd|signature|sig$|^sig|auth|credential|session/i;

/** Prefixes that credentials of well-known providers carry: the value is a credential however short it looks. */
const CREDENTIAL_PREFIX =
  /^(?:sk-|sk_|rk_|pk_live|ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|glpat-|xox[abprs]-|AKIA|ASIA|AIza|ya29\.|eyJ)/;

/**
 * A credential-looking value: long, made of token characters, with upper and lower case letters and digits — what
 * random keys look like and what ids, slugs, UUIDs and hex digests (one case only) do not — or hex longer than any
 * digest.
 */
export function looksLikeCredential(value: string): boolean {
  if (value.length >= 8 && CREDENTIAL_PREFIX.test(value)) return true;
  if (value.length < 20) return false;
  if (!/^[A-Za-z0-9._~+/=:-]+$/.test(value)) return false;
  // Longer than any digest's hex (SHA-256: 64): a hex-encoded secret.
  if (value.length > 64 && /^[0-9a-fA-F]+$/.test(value)) return true;
  return /[a-z]/.test(value) && /[A-Z]/.test(value) && /[0-9]/.test(value);
}

/** The path with credential-bearing query values and credential-looking segments replaced by `***`. */
export type PathRedactor = (path: string) => string;

export interface PathRedactionOptions {
  /** Query parameter names whose values are always hidden (matched case-insensitively). */
  queryParameters?: readonly string[];
  /** Secret values to hide wherever they appear (raw or URL-encoded). Read on every use, so it may change. */
  secrets?: () => Iterable<string>;
}

function decoded(text: string): string {
  if (!text.includes('%') && !text.includes('+')) return text;
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return text;
  }
}

// Loops rather than split/map: this runs for every logged line, and callbacks created per call cost more than the
// work (tsx wraps each in a naming helper).

function redactPair(pair: string, hiddenNames: ReadonlySet<string>): string {
  const equals = pair.indexOf('=');
  const rawName = equals === -1 ? pair : pair.slice(0, equals);
  const name = decoded(rawName);
  const value = equals === -1 ? '' : decoded(pair.slice(equals + 1));
  const nameIsCredential = looksLikeCredential(name);
  const hidden =
    nameIsCredential || hiddenNames.has(name.toLowerCase()) || CREDENTIAL_NAME.test(name) || looksLikeCredential(value);
  if (!hidden) return pair;
  if (equals === -1) return REDACTED;
  return `${nameIsCredential ? REDACTED : rawName}=${REDACTED}`;
}

function redactQuery(query: string, hiddenNames: ReadonlySet<string>): string {
  let result = '';
  let start = 0;
  for (;;) {
    const end = query.indexOf('&', start);
    const pair = end === -1 ? query.slice(start) : query.slice(start, end);
    result += pair === '' ? '' : redactPair(pair, hiddenNames);
    if (end === -1) return result;
    result += '&';
    start = end + 1;
  }
}

/**
 * Webhook URLs carry their credential as the segment after the id (Discord's `/webhooks/{id}/{token}`, whose
 * documented examples are lower-case hex, which the shape test alone would let through).
 */
function redactSegments(path: string): string {
  let result = '';
  let start = 0;
  let previous = '';
  let beforePrevious = '';
  for (;;) {
    const end = path.indexOf('/', start);
    const segment = end === -1 ? path.slice(start) : path.slice(start, end);
    const hidden =
      segment !== '' &&
      (beforePrevious.toLowerCase() === 'webhooks' || (segment.length >= 8 && looksLikeCredential(decoded(segment))));
    result += hidden ? REDACTED : segment;
    if (end === -1) return result;
    result += '/';
    beforePrevious = previous;
    previous = segment;
    start = end + 1;
  }
}

/** Replaces every occurrence of each known secret (and its URL-encoded form) in `text`. */
export function scrubSecrets(text: string, secrets: Iterable<string>): string {
  let scrubbed = text;
  for (const secret of secrets) {
    // Very short values would hide ordinary text and protect nothing.
    if (typeof secret !== 'string' || secret.length < 4) continue;
    if (scrubbed.includes(secret)) scrubbed = scrubbed.replaceAll(secret, REDACTED);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret && scrubbed.includes(encoded)) scrubbed = scrubbed.replaceAll(encoded, REDACTED);
  }
  return scrubbed;
}

export function createPathRedactor(options: PathRedactionOptions = {}): PathRedactor {
  const hiddenNames = new Set((options.queryParameters ?? []).map((name) => String(name).toLowerCase()));
  const secrets = options.secrets;
  return (path) => {
    const text = typeof path === 'string' ? path : String(path);
    const queryAt = text.indexOf('?');
    const pathPart = queryAt === -1 ? text : text.slice(0, queryAt);
    let redacted = redactSegments(pathPart);
    if (queryAt !== -1) redacted += `?${redactQuery(text.slice(queryAt + 1), hiddenNames)}`;
    return secrets ? scrubSecrets(redacted, secrets()) : redacted;
  };
}
