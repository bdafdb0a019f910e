import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../src/config/json-schema.js';

const committed = readFileSync(new URL('../../schema/sluice.schema.json', import.meta.url), 'utf8');
const documentation = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

/** Every property name the schema defines, at any depth. */
function propertyNames(schema: unknown, names = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) {
    for (const item of schema) propertyNames(item, names);
  } else if (schema !== null && typeof schema === 'object') {
    for (const [key, value] of Object.entries(schema)) {
      if (key === 'properties' && value !== null && typeof value === 'object') {
        for (const name of Object.keys(value)) names.add(name);
      }
      propertyNames(value, names);
    }
  }
  return names;
}

describe('the JSON Schema', () => {
  it('committed in schema/sluice.schema.json is current (run `npm run schema` after changing the schema)', () => {
    expect(JSON.parse(committed)).toEqual(configJsonSchema());
  });

  it('forbids unknown keys, so that editors flag typos as check-config does', () => {
    const schema = configJsonSchema() as { additionalProperties?: unknown; required?: unknown };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['upstreams']);
    expect(JSON.stringify(schema)).not.toContain('"additionalProperties":{}');
  });

  it('every option it defines is documented in docs/configuration.md', () => {
    // As `name`, or as a segment of a path such as `retry.budget.ratio` or `{ env: NAME }`.
    const mentioned = (name: string) =>
      new RegExp(`\`([^\`\\n]*[.{ ])?${name.replace('$', '\\$')}([.: }][^\`\\n]*)?\``).test(documentation);
    const undocumented = [...propertyNames(configJsonSchema())].filter((name) => !mentioned(name));
    expect(undocumented).toEqual([]);
  });
});
