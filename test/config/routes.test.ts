import { describe, expect, it } from 'vitest';
import {
  findMajorParameter,
  findRoute,
  majorParameterProblem,
  parseRoutePattern,
  routePatternProblem,
  type UpstreamRoute,
} from '../../src/config/routes.js';

const route = (match: string, bucket: string): UpstreamRoute => ({
  match,
  ...parseRoutePattern(match),
  bucket,
  cost: {},
});

describe('route patterns', () => {
  it('parse into a method (or any) and segments, placeholders matching like *', () => {
    expect(parseRoutePattern('get /search/*')).toEqual({ method: 'GET', segments: ['search', '*'] });
    expect(parseRoutePattern('* /**')).toEqual({ method: null, segments: ['**'] });
    expect(parseRoutePattern('/repos/{owner}/{repo}')).toEqual({ method: null, segments: ['repos', '*', '*'] });
  });

  it.each(['search', 'GET search/x', 'GET /a?b=1', 'GET  ', 'GET /a/**/b', '/a/{b', '/a/x{b}'])(
    '%j is not a pattern',
    (text) => {
      expect(routePatternProblem(text)).not.toBeNull();
    },
  );

  const routes = [
    route('GET /search/code', 'code_search'),
    route('GET /search/*', 'search'),
    route('POST /graphql', 'graphql'),
    route('/repos/{owner}/{repo}/**', 'repos'),
    route('* /**', 'core'),
  ];

  it.each([
    ['GET', '/search/code', 'code_search'],
    ['get', '/search/issues?q=x', 'search'],
    ['GET', '/search/issues/extra', 'core'],
    ['POST', '/graphql', 'graphql'],
    ['GET', '/graphql', 'core'],
    ['DELETE', '/repos/nodejs/node', 'repos'],
    ['GET', '/repos/nodejs/node/pulls/1', 'repos'],
    ['GET', '/repos/nodejs', 'core'],
    ['GET', '/', 'core'],
  ])('%s %s goes to %s (first match wins)', (method, path, bucket) => {
    expect(findRoute(routes, method, path)?.bucket).toBe(bucket);
  });

  it('finds nothing when no route matches', () => {
    expect(findRoute([route('GET /a', 'a')], 'GET', '/b')).toBeNull();
    expect(findRoute([route('GET /a', 'a')], 'POST', '/a')).toBeNull();
  });
});

describe('major parameters', () => {
  const templates = ['/channels/{id}', '/guilds/{id}', '/webhooks/{id}/{token}', '/webhooks/{id}'];

  it.each([
    ['/channels/123/messages', '/channels/123'],
    ['/guilds/9/members/1', '/guilds/9'],
    ['/webhooks/5/abc/messages/1', '/webhooks/5/abc'],
    ['/webhooks/5', '/webhooks/5'],
    ['/users/@me', null],
    ['/channels', null],
  ])('%s is kept per %s', (path, expected) => {
    expect(findMajorParameter(templates, path)).toBe(expected);
  });

  it.each(['/channels', 'channels/{id}', 'GET /channels/{id}', '/channels/*', '/channels/{id'])(
    '%j is not a template',
    (text) => {
      expect(majorParameterProblem(text)).not.toBeNull();
    },
  );
});
