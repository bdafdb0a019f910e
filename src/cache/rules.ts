/**
 * The configured side of caching: per-route overrides of the upstream's cache rule, and which other paths a write
 * to a route invalidates. Patterns are the route patterns of the configuration ("GET /users/{id}", "/repos/**"),
 * and placeholders captured by a pattern fill the same names in the related paths.
 */
import { routePatternProblem } from '../config/routes.js';
import { InvalidOptionError } from '../errors.js';
import type { CacheRule } from './freshness.js';

/** A route's overrides; what it leaves out comes from the upstream's rule. The first matching route wins. */
export interface CacheRouteRule extends Partial<CacheRule> {
  match: string;
}

/** A write (POST, PUT, PATCH, DELETE) matching `match` also invalidates `paths`. */
export interface InvalidationRule {
  match: string;
  /** Path templates; `{name}` takes what the same placeholder matched; a final `/**` drops everything under it. */
  paths: readonly string[];
}

/** A path to invalidate: one resource (every query and variant of it), or everything under a prefix. */
export interface InvalidationTarget {
  path: string;
  prefix: boolean;
}

type Segment = { kind: 'literal'; text: string } | { kind: 'one'; name: string | null } | { kind: 'rest' };

interface Pattern {
  method: string | null;
  segments: Segment[];
}

const PLACEHOLDER = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

function splitPath(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}

export function compilePattern(text: string, field: string): Pattern {
  const problem = routePatternProblem(text);
  if (problem) throw new InvalidOptionError(field, problem);
  const trimmed = text.trim();
  const space = trimmed.search(/[ \t]/);
  const methodText = space === -1 ? null : trimmed.slice(0, space);
  const path = space === -1 ? trimmed : trimmed.slice(space).trim();
  const method = methodText === null || methodText === '*' ? null : methodText.toUpperCase();
  const segments = splitPath(path).map((segment): Segment => {
    if (segment === '**') return { kind: 'rest' };
    if (segment === '*') return { kind: 'one', name: null };
    const placeholder = PLACEHOLDER.exec(segment);
    return placeholder ? { kind: 'one', name: placeholder[1] as string } : { kind: 'literal', text: segment };
  });
  return { method, segments };
}

/** The placeholders a pattern captured from a path (no query), or null when it does not match. */
export function matchPattern(pattern: Pattern, method: string, path: string): Record<string, string> | null {
  if (pattern.method !== null && pattern.method !== method.toUpperCase()) return null;
  const queryAt = path.indexOf('?');
  const segments = splitPath(queryAt === -1 ? path : path.slice(0, queryAt));
  const captures: Record<string, string> = Object.create(null);
  for (let index = 0; index < pattern.segments.length; index++) {
    const expected = pattern.segments[index] as Segment;
    if (expected.kind === 'rest') return captures;
    const actual = segments[index];
    if (actual === undefined) return null;
    if (expected.kind === 'literal') {
      if (expected.text !== actual) return null;
    } else if (expected.name !== null) {
      captures[expected.name] = actual;
    }
  }
  return pattern.segments.length === segments.length ? captures : null;
}

/** The placeholder names a template uses. */
export function templateNames(template: string): string[] {
  return [...template.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((match) => match[1] as string);
}

function fillTemplate(template: string, captures: Record<string, string>): InvalidationTarget {
  const filled = template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => captures[name] ?? '');
  if (filled.endsWith('/**')) return { path: filled.slice(0, -2), prefix: true };
  return { path: filled, prefix: false };
}

export interface CacheRules {
  /** The rule for a GET (or HEAD) of `path`. */
  ruleFor(path: string): CacheRule;
  /** What a successful write to `path` invalidates besides the path itself. */
  relatedTo(method: string, path: string): InvalidationTarget[];
}

export function createCacheRules(
  base: CacheRule,
  routes: readonly CacheRouteRule[] = [],
  invalidations: readonly InvalidationRule[] = [],
): CacheRules {
  const compiledRoutes = routes.map((route, index) => {
    const { match, ...overrides } = route;
    const rule: CacheRule = { ...base };
    for (const [name, value] of Object.entries(overrides)) {
      if (value !== undefined) (rule as unknown as Record<string, unknown>)[name] = value;
    }
    return { pattern: compilePattern(match, `cache.routes[${index}].match`), rule };
  });
  const compiledInvalidations = invalidations.map((invalidation, index) => {
    const pattern = compilePattern(invalidation.match, `cache.invalidate[${index}].match`);
    const known = new Set(
      pattern.segments.flatMap((segment) => (segment.kind === 'one' && segment.name ? [segment.name] : [])),
    );
    invalidation.paths.forEach((template, pathIndex) => {
      if (!template.startsWith('/')) {
        throw new InvalidOptionError(
          `cache.invalidate[${index}].paths[${pathIndex}]`,
          `expected a path starting with "/", got ${JSON.stringify(template)}`,
        );
      }
      const unknown = templateNames(template).find((name) => !known.has(name));
      if (unknown !== undefined) {
        throw new InvalidOptionError(
          `cache.invalidate[${index}].paths[${pathIndex}]`,
          `{${unknown}} is not a placeholder of "${invalidation.match}"`,
        );
      }
    });
    return { pattern, paths: [...invalidation.paths] };
  });
  return {
    ruleFor(path) {
      for (const route of compiledRoutes) if (matchPattern(route.pattern, 'GET', path)) return route.rule;
      return base;
    },
    relatedTo(method, path) {
      const targets: InvalidationTarget[] = [];
      for (const invalidation of compiledInvalidations) {
        const captures = matchPattern(invalidation.pattern, method, path);
        if (captures) for (const template of invalidation.paths) targets.push(fillTemplate(template, captures));
      }
      return targets;
    },
  };
}
