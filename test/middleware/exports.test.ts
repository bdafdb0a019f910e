import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as express from '../../src/middleware/express.js';
import * as fastify from '../../src/middleware/fastify.js';
import * as hono from '../../src/middleware/hono.js';

const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, { types: string; import: string }>;
};

// dist/middleware/<name>.js is what tsc builds from src/middleware/<name>.ts.
const sources: Record<string, Record<string, unknown>> = { express, fastify, hono };

describe('package exports for the middleware', () => {
  it.each(Object.keys(sources))('sluice/%s points at the built middleware and its types', (name) => {
    expect(manifest.exports[`./${name}`]).toEqual({
      types: `./dist/middleware/${name}.d.ts`,
      import: `./dist/middleware/${name}.js`,
    });
    expect(typeof sources[name]?.rateLimit).toBe('function');
    expect(typeof sources[name]?.clientAddressKey).toBe('function');
  });
});
