/** Writes schema/sluice.schema.json from the configuration schema (npm run schema). A test checks it is current. */
import { writeFileSync } from 'node:fs';
import { configJsonSchemaText } from '../src/config/json-schema.js';

const target = new URL('../schema/sluice.schema.json', import.meta.url);
writeFileSync(target, configJsonSchemaText());
console.log(`wrote ${target.pathname}`);
