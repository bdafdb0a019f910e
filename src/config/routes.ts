/**
 * Route patterns: `"GET /search/*"`, `"POST /v1/chat/completions"`, `"/repos/{owner}/{repo}"`, `"* /**"`.
 * A pattern is an optional method (or `*`, any) and a path. In the path, `*` and `{name}` match exactly one segment
 * and a final `**` matches whatever is left (nothing included). The query string is not part of the match.
 */
import type { Cost } from '../pipeline/stage.js';

/** A validated route: where a call's budget is kept and what it costs. */
export interface UpstreamRoute {
  /** The pattern as written in the configuration. */
  match: string;
  /** Upper-case method, or null for any. */
  method: string | null;
  /** The path's segments: literal text, `*` (any one segment) or `**` (the rest). */
  segments: readonly string[];
  /** The budget bucket calls on this route count against (limits with the same `bucket`); null: no bucket. */
  bucket: string | null;
  /** What a call costs up front, per unit (`requests` defaults to 1 when absent); settled from the response. */
  cost: Cost;
}

const PATTERN = /^(?:([A-Za-z]+|\*)[ \t]+)?(\/[^\s?#]*)$/;
const PLACEHOLDER = /^\{[A-Za-z_][A-Za-z0-9_]*\}$/;

/** Why `text` is not a route pattern, or null when it is. */
export function routePatternProblem(text: string): string | null {
  const match = PATTERN.exec(text.trim());
  if (!match) {
    return `expected a route such as "GET /search/*" or "/v1/chat/completions" (an optional method, then a path starting with "/", no query), got ${JSON.stringify(text)}`;
  }
  const segments = splitPath(match[2] as string);
  const rest = segments.indexOf('**');
  if (rest !== -1 && rest !== segments.length - 1)
    return `"**" may only end a route pattern, got ${JSON.stringify(text)}`;
  const badPlaceholder = segments.find((segment) => segment.includes('{') && !PLACEHOLDER.test(segment));
  if (badPlaceholder !== undefined) {
    return `a placeholder must fill a whole segment, like "{id}", got ${JSON.stringify(badPlaceholder)}`;
  }
  return null;
}

function splitPath(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}

/** Placeholders match like `*`: one segment. */
function patternSegments(path: string): string[] {
  return splitPath(path).map((segment) => (PLACEHOLDER.test(segment) ? '*' : segment));
}

/** Splits a validated pattern (see routePatternProblem) into method and segments. */
export function parseRoutePattern(text: string): { method: string | null; segments: string[] } {
  const match = PATTERN.exec(text.trim());
  if (!match) throw new Error(`not a route pattern: ${text}`);
  const method = match[1] === undefined || match[1] === '*' ? null : match[1].toUpperCase();
  return { method, segments: patternSegments(match[2] as string) };
}

function segmentsMatch(pattern: readonly string[], path: readonly string[], prefixOnly: boolean): boolean {
  for (let index = 0; index < pattern.length; index++) {
    const expected = pattern[index] as string;
    if (expected === '**') return true;
    const actual = path[index];
    if (actual === undefined) return false;
    if (expected !== '*' && expected !== actual) return false;
  }
  return prefixOnly || pattern.length === path.length;
}

function pathSegments(path: string): string[] {
  const end = path.search(/[?#]/);
  return splitPath(end === -1 ? path : path.slice(0, end));
}

/** The first route that matches the call, in configuration order, or null. */
export function findRoute(routes: readonly UpstreamRoute[], method: string, path: string): UpstreamRoute | null {
  const upperMethod = method.toUpperCase();
  const segments = pathSegments(path);
  for (const route of routes) {
    if (route.method !== null && route.method !== upperMethod) continue;
    if (segmentsMatch(route.segments, segments, false)) return route;
  }
  return null;
}

/** Why `text` is not a major-parameter template (a path with at least one placeholder, no wildcards), or null. */
export function majorParameterProblem(text: string): string | null {
  const expectation = `expected a path template with a placeholder, such as "/channels/{id}", got ${JSON.stringify(text)}`;
  const trimmed = text.trim();
  if (!trimmed.startsWith('/') || /[\s?#*]/.test(trimmed)) return expectation;
  const segments = splitPath(trimmed);
  const badPlaceholder = segments.find((segment) => segment.includes('{') && !PLACEHOLDER.test(segment));
  if (badPlaceholder !== undefined) {
    return `a placeholder must fill a whole segment, like "{id}", got ${JSON.stringify(badPlaceholder)}`;
  }
  return segments.some((segment) => PLACEHOLDER.test(segment)) ? null : expectation;
}

/**
 * The major parameter of a call (Discord's notion: the top-level resource a route limit is kept per), as the path
 * prefix matched by the first template that matches: `/channels/123` for `/channels/123/messages` and the template
 * `/channels/{id}`. Null when no template matches.
 */
export function findMajorParameter(templates: readonly string[], path: string): string | null {
  const segments = pathSegments(path);
  for (const template of templates) {
    const pattern = patternSegments(template);
    if (segmentsMatch(pattern, segments, true)) return `/${segments.slice(0, pattern.length).join('/')}`;
  }
  return null;
}
