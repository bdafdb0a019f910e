/**
 * Finds where JSON text stops being JSON, and why. `JSON.parse` says so on Node 20 only for some errors (and without
 * a line), so when it fails this small scanner walks the text again to point at the spot.
 */

export interface JsonSyntaxError {
  /** 0-based offset into the text. */
  offset: number;
  message: string;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERALS = ['true', 'false', 'null'] as const;

class Stop extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

function describeAt(text: string, offset: number): string {
  return offset >= text.length ? 'the end of the file' : JSON.stringify(text[offset]);
}

export function findJsonSyntaxError(text: string): JsonSyntaxError | null {
  let offset = 0;
  const skipSpace = () => {
    while (offset < text.length && ' \t\n\r'.includes(text[offset] as string)) offset++;
  };
  const fail = (expected: string): never => {
    throw new Stop(offset, `unexpected ${describeAt(text, offset)}, expected ${expected}`);
  };
  const expect = (character: string, expected: string) => {
    skipSpace();
    if (text[offset] !== character) fail(expected);
    offset++;
  };
  const string = () => {
    offset++; // the opening quote
    while (offset < text.length) {
      const character = text[offset] as string;
      if (character === '"') {
        offset++;
        return;
      }
      if (character === '\\') {
        const escaped = text[offset + 1];
        if (escaped === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(offset + 2, offset + 6))) fail('four hex digits after \\u');
          offset += 6;
        } else if (escaped !== undefined && '"\\/bfnrt'.includes(escaped)) offset += 2;
        else {
          offset++;
          fail('an escape such as \\n or \\"');
        }
        continue;
      }
      if (character < ' ') fail('no line break or control character inside a string (write \\n)');
      offset++;
    }
    fail('a closing quote');
  };
  const value = (): void => {
    skipSpace();
    const character = text[offset];
    if (character === '{') {
      offset++;
      skipSpace();
      if (text[offset] === '}') {
        offset++;
        return;
      }
      for (;;) {
        skipSpace();
        if (text[offset] !== '"') fail('a key in double quotes');
        string();
        expect(':', '":" after the key');
        value();
        skipSpace();
        if (text[offset] === ',') {
          offset++;
          continue;
        }
        if (text[offset] === '}') {
          offset++;
          return;
        }
        fail('"," or "}"');
      }
    }
    if (character === '[') {
      offset++;
      skipSpace();
      if (text[offset] === ']') {
        offset++;
        return;
      }
      for (;;) {
        value();
        skipSpace();
        if (text[offset] === ',') {
          offset++;
          continue;
        }
        if (text[offset] === ']') {
          offset++;
          return;
        }
        fail('"," or "]"');
      }
    }
    if (character === '"') {
      string();
      return;
    }
    for (const literal of LITERALS) {
      if (text.startsWith(literal, offset)) {
        offset += literal.length;
        return;
      }
    }
    NUMBER.lastIndex = offset;
    if (NUMBER.test(text)) {
      offset = NUMBER.lastIndex;
      return;
    }
    fail('a value (a string in double quotes, a number, true, false, null, an object or a list)');
  };
  try {
    value();
    skipSpace();
    if (offset < text.length) fail('the end of the file (only one value is allowed)');
    return null;
  } catch (error) {
    if (error instanceof Stop) return { offset: error.offset, message: error.message };
    // Nesting deep enough to exhaust the stack: say so, without a position.
    return { offset: 0, message: 'the document is nested too deeply to read' };
  }
}
