import { SluiceError } from '../errors.js';

/** Where a value sits in a configuration: object keys and list indexes from the top. */
export type ConfigPath = ReadonlyArray<string | number>;

/** One thing wrong with a configuration, with where it is. */
export interface ConfigProblem {
  /**
   * The option's path as people write it: `upstreams.github.retry.attempts`, `inbound.rules[0].limits[1]`; empty
   * for problems of the file itself (unreadable, not YAML).
   */
  path: string;
  /** What is wrong and what was expected, never a secret's value. */
  message: string;
  /** 1-based line and column in the file, when the problem could be located. */
  line?: number;
  column?: number;
}

/**
 * A configuration (a file, or a client's options) is invalid. `problems` lists every problem found, not only the
 * first, so that a user fixes them all in one pass.
 */
export class ConfigError extends SluiceError {
  readonly problems: readonly ConfigProblem[];
  /** The file the configuration came from, when there was one. */
  readonly source: string | undefined;

  constructor(problems: readonly ConfigProblem[], source?: string) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    const heading = source ? `Invalid configuration in ${source} (${count}):` : `Invalid configuration (${count}):`;
    super('ERR_SLUICE_CONFIG', [heading, ...problems.map((problem) => `  ${formatProblem(problem)}`)].join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
    this.source = source;
  }
}

export function isConfigError(error: unknown): error is ConfigError {
  return error instanceof ConfigError;
}

const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/** `upstreams.github.retry.attempts`, `rules[0]`, and `upstreams["api.github"]` for keys that would be ambiguous. */
export function formatPath(segments: ConfigPath): string {
  let text = '';
  for (const segment of segments) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text === '' ? '(top level)' : text;
}

/**
 * One line for a problem: `path: message`, with the position when known. With `source`, the position comes first in
 * the `file:line:column:` form that terminals and editors turn into links.
 */
export function formatProblem(problem: ConfigProblem, source?: string): string {
  const text = problem.path === '' ? problem.message : `${problem.path}: ${problem.message}`;
  if (problem.line === undefined) return source ? `${source}: ${text}` : text;
  const position = `${problem.line}:${problem.column ?? 1}`;
  return source ? `${source}:${position}: ${text}` : `${text} (line ${problem.line}, column ${problem.column ?? 1})`;
}

/** A problem still holding its path as segments, so that it can be located in the file before it is reported. */
export interface PathProblem {
  segments: ConfigPath;
  message: string;
}

export function problemAt(segments: ConfigPath, message: string): PathProblem {
  return { segments, message };
}

const MAX_SHOWN_TEXT = 48;

/** A short, safe rendering of a value the user gave, for "got ..." in messages. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (typeof value === 'string') {
    const shown = value.length > MAX_SHOWN_TEXT ? `${value.slice(0, MAX_SHOWN_TEXT)}…` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return `a date (${value.toISOString()})`;
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/** "expected X, got Y", or "missing (expected X)" when nothing was given. */
export function expectedMessage(expectation: string, input: unknown): string {
  return input === undefined ? `missing (expected ${expectation})` : `expected ${expectation}, got ${showValue(input)}`;
}

/** Edits (insert, delete, substitute, swap two neighbours) from one text to the other: "retyr" is 1 from "retry". */
function editDistance(left: string, right: string): number {
  const rows = Array.from({ length: left.length + 1 }, (_, row) =>
    Array.from({ length: right.length + 1 }, (_, column) => (row === 0 ? column : column === 0 ? row : 0)),
  );
  const at = (row: number, column: number) => (rows[row] as number[])[column] as number;
  for (let row = 1; row <= left.length; row++) {
    for (let column = 1; column <= right.length; column++) {
      const same = left[row - 1] === right[column - 1];
      let best = Math.min(at(row - 1, column) + 1, at(row, column - 1) + 1, at(row - 1, column - 1) + (same ? 0 : 1));
      const swapped =
        row > 1 && column > 1 && left[row - 1] === right[column - 2] && left[row - 2] === right[column - 1];
      if (swapped) best = Math.min(best, at(row - 2, column - 2) + 1);
      (rows[row] as number[])[column] = best;
    }
  }
  return at(left.length, right.length);
}

const comparable = (text: string) => text.toLowerCase().replace(/[-_\s]/g, '');

/**
 * The known name closest to what was typed, if it is close enough to be a likely typo: same letters in another case
 * or spelling style (`base_delay` for `baseDelay`), a few edits away, or the one name that contains the typed one or
 * is contained in it (`url` for `baseUrl` and back).
 */
export function closestName(typed: string, known: readonly string[]): string | undefined {
  const wanted = comparable(typed);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    if (comparable(candidate) === wanted) return candidate;
    const distance = editDistance(typed.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  if (bestDistance <= Math.max(1, Math.floor(typed.length / 3))) return best;
  const overlapping = known.filter((candidate) => {
    const other = comparable(candidate);
    return Math.min(other.length, wanted.length) >= 3 && (other.includes(wanted) || wanted.includes(other));
  });
  return overlapping.length === 1 ? overlapping[0] : undefined;
}

/** ` (did you mean "retry"?)` or an empty string. */
export function suggestion(typed: unknown, known: readonly string[]): string {
  if (typeof typed !== 'string') return '';
  const closest = closestName(typed, known);
  return closest === undefined ? '' : ` (did you mean ${JSON.stringify(closest)}?)`;
}

/** Lists short enough to print in full are printed; long ones are not (the suggestion and the docs do better). */
export function listNames(names: readonly string[]): string {
  return names.map((name) => JSON.stringify(name)).join(', ');
}
