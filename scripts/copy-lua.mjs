// Copies the Lua scripts next to the compiled store modules (npm run build): src/stores/redis/scripts.ts reads them
// from its own directory at run time.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const from = fileURLToPath(new URL('../src/stores/redis/', import.meta.url));
const to = fileURLToPath(new URL('../dist/stores/redis/', import.meta.url));
mkdirSync(to, { recursive: true });
for (const file of readdirSync(from)) if (file.endsWith('.lua')) copyFileSync(from + file, to + file);
