import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/problems.js';
import { normalizeUpstreamOptions } from '../../src/config/upstream.js';

/** Bad input never crashes: it either passes or throws a ConfigError whose problems all have a message. */
function onlyConfigErrors(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.length > 0 && error.problems.every((problem) => problem.message.length > 0);
  }
}

const optionNames = fc.constantFrom(
  'url',
  'endpoints',
  'preset',
  'dialect',
  'limits',
  'routes',
  'retry',
  'queue',
  'breaker',
  'timeouts',
  'credentials',
  'headers',
  'algorithm',
  'limit',
  'window',
  'env',
  'file',
  'match',
  'bucket',
  'upstreams',
  'tenants',
  'keys',
  'store',
  'redis',
  'inbound',
  'rules',
);

/** Values shaped like configurations: known option names with arbitrary values, nested. */
const configLike = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.anything(),
    fc.dictionary(optionNames, tie('value'), { maxKeys: 5 }),
    fc.array(tie('value'), { maxLength: 3 }),
  ),
})).value;

describe('garbage never crashes', () => {
  it('arbitrary values as a configuration', () => {
    fc.assert(fc.property(configLike, (value) => onlyConfigErrors(() => normalizeConfig({ upstreams: value }))));
    fc.assert(fc.property(fc.anything(), (value) => onlyConfigErrors(() => normalizeConfig(value))));
  });

  it('arbitrary values as one upstream’s options', () => {
    fc.assert(fc.property(configLike, (value) => onlyConfigErrors(() => normalizeUpstreamOptions(value, 'x'))));
  });

  it('arbitrary text as YAML and as JSON', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => onlyConfigErrors(() => parseConfig(text))));
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) =>
        onlyConfigErrors(() => parseConfig(text, { format: 'json' })),
      ),
    );
    fc.assert(fc.property(fc.json(), (text) => onlyConfigErrors(() => parseConfig(text, { format: 'json' }))));
  });

  it('deeply nested documents', () => {
    expect(onlyConfigErrors(() => parseConfig('['.repeat(100_000), { format: 'json' }))).toBe(true);
    expect(onlyConfigErrors(() => parseConfig(`a: ${'['.repeat(5_000)}`))).toBe(true);
  });
});
