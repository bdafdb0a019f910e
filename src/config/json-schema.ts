import { z } from 'zod';
import { configSchema } from './gateway.js';

/**
 * The JSON Schema of the configuration file, for editors (completion, inline errors). It describes what may be
 * written; rules across fields (url or endpoints, tenants that exist) are checked by `sluice check-config` only.
 */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-7' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    description:
      'Sluice gateway configuration (YAML or JSON). Run `sluice check-config FILE` for the checks a schema cannot express.',
    ...rest,
  };
}

/** The schema as committed: two-space indented, with a final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
