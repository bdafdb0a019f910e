/**
 * The Lua scripts, read from the .lua files next to this module (copied beside the compiled output by the build).
 * A script is identified by the SHA-1 of its source, so it can be run with EVALSHA without loading it first: the
 * first call after Redis (re)started gets NOSCRIPT and loads it (see `createScriptRunner`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface RedisScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

function script(name: string, files: readonly string[]): RedisScript {
  const source = files.map((file) => readFileSync(new URL(file, import.meta.url), 'utf8')).join('\n');
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Every limit algorithm and operation: one decision over all policies of one key, all-or-nothing. */
export const LIMITS_SCRIPT = script('limits', [
  './common.lua',
  './fixed-window.lua',
  './sliding-window.lua',
  './sliding-log.lua',
  './gcra.lua',
  './concurrency.lua',
  './evaluate.lua',
]);

/** An instance's heartbeat in a registry; returns the number of live instances. */
export const PRESENCE_SCRIPT = script('presence', ['./presence.lua']);

/** Budgets: reads records with their versions, Redis time and the live holders. */
export const BUDGET_READ_SCRIPT = script('budget-read', ['./budget-read.lua']);

/** Budgets: compare-and-set of the records the TypeScript core computed. */
export const BUDGET_WRITE_SCRIPT = script('budget-write', ['./budget-write.lua']);
