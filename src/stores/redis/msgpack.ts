/**
 * The one MessagePack shape the limit script reads: arrays of non-negative whole numbers (below 2^53), which Redis's
 * cmsgpack decodes in C, far faster than Lua parses text. Encoded once per limiter, not per decision.
 */
export function packIntegerArrays(arrays: readonly (readonly number[])[]): Buffer {
  const bytes: number[] = [];
  for (const values of arrays) {
    if (values.length >= 16) throw new RangeError('packIntegerArrays: arrays of up to 15 numbers');
    bytes.push(0x90 | values.length);
    for (const value of values) packInteger(value, bytes);
  }
  return Buffer.from(bytes);
}

function packInteger(value: number, bytes: number[]): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`packIntegerArrays: expected a non-negative whole number below 2^53, got ${value}`);
  }
  if (value < 0x80) bytes.push(value);
  else if (value < 0x100) bytes.push(0xcc, value);
  else if (value < 0x10000) bytes.push(0xcd, value >>> 8, value & 0xff);
  else if (value < 0x100000000)
    bytes.push(0xce, value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
  else {
    const high = Math.floor(value / 0x100000000);
    const low = value >>> 0;
    bytes.push(0xcf, high >>> 24, (high >>> 16) & 0xff, (high >>> 8) & 0xff, high & 0xff);
    bytes.push(low >>> 24, (low >>> 16) & 0xff, (low >>> 8) & 0xff, low & 0xff);
  }
}
