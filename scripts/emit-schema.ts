/**
 * Writes schema/sluice.schema.json from the configuration schema (npm run schema), formatted the way Biome formats
 * the rest of the repository. A test checks that the committed file matches the schema.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchemaText } from '../src/config/json-schema.js';

const target = fileURLToPath(new URL('../schema/sluice.schema.json', import.meta.url));
writeFileSync(target, configJsonSchemaText());
execFileSync('npx', ['biome', 'format', '--write', target], { stdio: 'ignore' });
console.log(`wrote ${target}`);
