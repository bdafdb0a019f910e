/**
 * Reading a configuration file: YAML or JSON text to a validated Config, with every problem located by line and
 * column so that `sluice check-config` can point at it.
 */
import { readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { buildConfig, type Config, type ConfigInput, configProblems } from './gateway.js';
import { findJsonSyntaxError } from './json-syntax.js';
import { ConfigError, type ConfigPath, type ConfigProblem, formatPath, type PathProblem } from './problems.js';

export type ConfigFormat = 'yaml' | 'json';

export interface ParseConfigOptions {
  /** Default `yaml` (which also reads most JSON). */
  format?: ConfigFormat;
  /** The file name, for messages. */
  source?: string;
  /** Relative secret file paths are resolved from here. Default: the working directory. */
  baseDirectory?: string;
}

interface Position {
  line: number;
  column: number;
}

type Locate = (segments: ConfigPath) => Position | undefined;

interface ParsedText {
  data: unknown;
  locate: Locate;
}

const nowhere: Locate = () => undefined;

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/**
 * Where a path's value starts in a YAML (or JSON) document: the value when it is a scalar on the key's line, else
 * the key; for a path that does not exist (a missing option), the deepest part that does.
 */
function locator(document: Document, lineCounter: LineCounter): Locate {
  return (segments) => {
    let node: unknown = document.contents;
    let offset = (node as Node | null)?.range?.[0];
    for (let index = 0; index < segments.length; index++) {
      const segment = segments[index] as string | number;
      const last = index === segments.length - 1;
      if (isAlias(node)) node = node.resolve(document);
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && keyText(item.key) === String(segment));
        if (!pair) break;
        const keyOffset = (pair.key as Node | null)?.range?.[0];
        const valueOffset = (pair.value as Node | null)?.range?.[0];
        offset = last && isScalar(pair.value) && valueOffset !== undefined ? valueOffset : (keyOffset ?? offset);
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment] as Node | undefined;
        if (!item) break;
        offset = item.range?.[0] ?? offset;
        node = item;
      } else break;
    }
    if (offset === undefined) return undefined;
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
}

function positionOf(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let index = text.indexOf('\n'); index !== -1 && index < offset; index = text.indexOf('\n', index + 1)) {
    line++;
    lineStart = index + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

function syntaxError(problems: ConfigProblem[], source: string | undefined): ConfigError {
  return new ConfigError(problems, source);
}

/** The first line of one of yaml's messages, without the position it repeats. */
const yamlMessage = (message: string) => (message.split('\n')[0] as string).replace(/ at line \d+, column \d+:?$/, '');

function readYaml(text: string, source: string | undefined): ParsedText {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw syntaxError(
      document.errors.map((error) => ({
        path: '',
        message: `YAML: ${yamlMessage(error.message)}`,
        line: error.linePos?.[0].line,
        column: error.linePos?.[0].col,
      })),
      source,
    );
  }
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw syntaxError([{ path: '', message: `YAML: ${(error as Error).message}` }], source);
  }
  return { data, locate: locator(document, lineCounter) };
}

function readJson(text: string, source: string | undefined): ParsedText {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    const found = findJsonSyntaxError(text) ?? { offset: 0, message: 'not valid JSON' };
    const { line, column } = positionOf(text, found.offset);
    throw syntaxError([{ path: '', message: `JSON: ${found.message}`, line, column }], source);
  }
  // JSON is YAML too: read it once more for positions, and for duplicate keys, which JSON.parse lets through.
  const lineCounter = new LineCounter();
  let document: Document;
  try {
    document = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  } catch {
    return { data, locate: nowhere };
  }
  const duplicates = document.errors.filter((error) => error.code === 'DUPLICATE_KEY');
  if (duplicates.length > 0) {
    throw syntaxError(
      duplicates.map((error) => ({
        path: '',
        message: 'JSON: the same key twice in one object (only the last would count)',
        line: error.linePos?.[0].line,
        column: error.linePos?.[0].col,
      })),
      source,
    );
  }
  return { data, locate: document.errors.length === 0 ? locator(document, lineCounter) : nowhere };
}

/** Problems with their positions, in the order they appear in the file (those without a position last). */
export function locateProblems(problems: readonly PathProblem[], locate: Locate): ConfigProblem[] {
  const seen = new Set<string>();
  const located: ConfigProblem[] = [];
  for (const problem of problems) {
    const path = formatPath(problem.segments);
    const key = `${path}\n${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const position = locate(problem.segments);
    located.push(position ? { path, message: problem.message, ...position } : { path, message: problem.message });
  }
  const line = (problem: ConfigProblem) => problem.line ?? Number.MAX_SAFE_INTEGER;
  // A stable sort: problems at the same place keep the order they were found in.
  return located.sort((left, right) => line(left) - line(right) || (left.column ?? 0) - (right.column ?? 0));
}

function validated(parsed: ParsedText, options: ParseConfigOptions): Config {
  if (parsed.data === null || parsed.data === undefined) {
    throw new ConfigError(
      [{ path: '(top level)', message: 'the configuration is empty: it needs at least upstreams' }],
      options.source,
    );
  }
  const problems = configProblems(parsed.data);
  if (problems.length > 0) throw new ConfigError(locateProblems(problems, parsed.locate), options.source);
  return buildConfig(parsed.data as ConfigInput, { baseDirectory: options.baseDirectory });
}

/**
 * Parses and validates configuration text. Throws a ConfigError listing every problem (syntax errors with their line
 * and column; otherwise every invalid option with its path and position).
 */
export function parseConfig(text: string, options: ParseConfigOptions = {}): Config {
  const parsed = options.format === 'json' ? readJson(text, options.source) : readYaml(text, options.source);
  return validated(parsed, options);
}

/** Validates a configuration given as an object (an embedded default, a test), as parseConfig does text. */
export function normalizeConfig(input: unknown, options: Omit<ParseConfigOptions, 'format'> = {}): Config {
  return validated({ data: input, locate: nowhere }, options);
}

/** `.json` files are JSON; anything else is read as YAML. */
export function formatOfFile(path: string): ConfigFormat {
  return extname(path).toLowerCase() === '.json' ? 'json' : 'yaml';
}

/** Reads, parses and validates a configuration file. Relative secret files are resolved from the file's directory. */
export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? 'unreadable');
    throw new ConfigError([{ path: '', message: `cannot read the file: ${reason}` }], path);
  }
  return parseConfig(text, { format: formatOfFile(path), source: path, baseDirectory: dirname(resolve(path)) });
}
