import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_ROUTE_SHAPE_LENGTH, routeShape } from '../../src/inbound/route-shape.js';

/** The rule as the pipeline's budget keys write it (a regular expression per segment): the reference. */
const ID_SEGMENT = /^(?:\d+|[0-9a-f]{8,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;
function referenceShape(method: string, path: string): string {
  const bare = path.split(/[?#]/)[0] ?? '';
  const segments = bare.split('/').filter(Boolean);
  return `${method.toUpperCase()} /${segments.map((segment) => (ID_SEGMENT.test(segment) ? '{}' : segment)).join('/')}`;
}

describe('routeShape', () => {
  it.each([
    ['get', '/repos/1/issues?page=2', 'GET /repos/{}/issues'],
    ['GET', '/users/6ba7b810-9dad-11d1-80b4-00c04fd430c8/keys', 'GET /users/{}/keys'],
    ['GET', '/users/6BA7B810-9DAD-11D1-80B4-00C04FD430C8', 'GET /users/{}'],
    ['GET', '/commits/0123456789abcdef', 'GET /commits/{}'],
    ['GET', '/commits/deadbee', 'GET /commits/deadbee'],
    ['GET', '/v1/chat/completions', 'GET /v1/chat/completions'],
    ['POST', '//a///b/', 'POST /a/b'],
    ['GET', '/', 'GET /'],
    ['GET', '', 'GET /'],
    ['GET', '/a#fragment/1', 'GET /a'],
    ['GET', '/a?x=/1#y', 'GET /a'],
    ['GET', '/users/6ba7b810-9dad-11d1-80b4-00c04fd430cX', 'GET /users/6ba7b810-9dad-11d1-80b4-00c04fd430cX'],
  ])('%s %s is %s', (method, path, shape) => {
    expect(routeShape(method, path)).toBe(shape);
  });

  it('agrees with the reference rule on any path', () => {
    const segment = fc.oneof(
      fc.stringMatching(/^[0-9]{1,12}$/),
      fc.stringMatching(/^[0-9a-fA-F]{6,20}$/),
      fc.uuid(),
      fc.stringMatching(/^[a-z0-9_.-]{1,12}$/),
      fc.constantFrom('', '?q=1', '#top', 'a?b', 'x#y/z'),
    );
    const path = fc.array(segment, { maxLength: 8 }).map((segments) => `/${segments.join('/')}`);
    fc.assert(
      fc.property(fc.constantFrom('GET', 'post'), path, (method, candidate) => {
        expect(routeShape(method, candidate)).toBe(referenceShape(method, candidate).slice(0, MAX_ROUTE_SHAPE_LENGTH));
      }),
      { numRuns: 5000 },
    );
  });

  it('never grows past its cap, whatever the path', () => {
    expect(routeShape('GET', `/${'segment/'.repeat(1000)}`)).toHaveLength(MAX_ROUTE_SHAPE_LENGTH);
  });
});
