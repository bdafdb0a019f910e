/**
 * The Lua scripts, read from the .lua files next to this module (copied beside the compiled output by the build).
 * A script is identified by the SHA-1 of its source, so it can be run with EVALSHA without loading it first: the
 * first call after Redis (re)started gets NOSCRIPT and runs it with EVAL, which loads it (see connection.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Algorithm } from '../../limits/types.js';

export interface RedisScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

const read = (file: string) => readFileSync(new URL(file, import.meta.url), 'utf8');

function script(name: string, source: string): RedisScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Algorithm codes understood by evaluate.lua, and the module implementing each. */
export const ALGORITHM_CODES: Readonly<Record<Algorithm, number>> = {
  'fixed-window': 1,
  'sliding-window': 2,
  'sliding-log': 3,
  'token-bucket': 4,
  'leaky-bucket': 5,
  concurrency: 6,
};

const MODULES: Readonly<Record<Algorithm, { file: string; name: string }>> = {
  'fixed-window': { file: './fixed-window.lua', name: 'fixed_window' },
  'sliding-window': { file: './sliding-window.lua', name: 'sliding_window' },
  'sliding-log': { file: './sliding-log.lua', name: 'sliding_log' },
  'token-bucket': { file: './gcra.lua', name: 'gcra' },
  'leaky-bucket': { file: './gcra.lua', name: 'gcra' },
  concurrency: { file: './concurrency.lua', name: 'concurrency' },
};

const COMMON = read('./common.lua');
const EVALUATE = read('./evaluate.lua');
const limitScripts = new Map<number, RedisScript>();

/** One bit per algorithm code: the set of algorithms a script must hold. */
export function algorithmBit(algorithm: Algorithm): number {
  return 1 << ALGORITHM_CODES[algorithm];
}

/**
 * The script deciding limiter decisions (every algorithm and operation of src/limits/, each decision over all
 * policies of one key, all-or-nothing). It holds only the algorithms in `algorithms`, a set of `algorithmBit`s
 * (Redis runs a script's whole source on every call, so deciding fixed windows does not pay for defining the
 * sliding log): one script per set of algorithms, at most 63, whatever the policies' numbers.
 */
export function limitsScript(algorithms: number): RedisScript {
  let cached = limitScripts.get(algorithms);
  if (cached === undefined) {
    const used = (Object.keys(ALGORITHM_CODES) as Algorithm[]).filter(
      (algorithm) => algorithms & algorithmBit(algorithm),
    );
    const files = [...new Set(used.map((algorithm) => MODULES[algorithm].file))];
    const table = used.map((algorithm) => `[${ALGORITHM_CODES[algorithm]}] = ${MODULES[algorithm].name}`).join(', ');
    const source = [COMMON, ...files.map(read), `local ALGORITHMS = { ${table} }`, EVALUATE].join('\n');
    cached = script(`limits:${used.join(',')}`, source);
    limitScripts.set(algorithms, cached);
  }
  return cached;
}

/** An instance's heartbeat in a registry; returns the number of live instances. */
export const PRESENCE_SCRIPT = script('presence', read('./presence.lua'));

/** Budgets: reads records with their versions, Redis time and the live holders. */
export const BUDGET_READ_SCRIPT = script('budget-read', read('./budget-read.lua'));

/** Budgets: compare-and-set of the records the TypeScript core computed. */
export const BUDGET_WRITE_SCRIPT = script('budget-write', read('./budget-write.lua'));
