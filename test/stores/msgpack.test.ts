import { describe, expect, it } from 'vitest';
import { packIntegerArrays } from '../../src/stores/redis/msgpack.js';

describe('packIntegerArrays', () => {
  it('writes MessagePack arrays of unsigned integers in the shortest form', () => {
    expect([...packIntegerArrays([[0, 127, 128, 255, 256, 65_535, 65_536]])]).toEqual([
      0x97, 0x00, 0x7f, 0xcc, 0x80, 0xcc, 0xff, 0xcd, 0x01, 0x00, 0xcd, 0xff, 0xff, 0xce, 0x00, 0x01, 0x00, 0x00,
    ]);
    // Above 2^32 (a 90-day window in ms), up to 2^53 - 1: 64-bit.
    expect([...packIntegerArrays([[7_776_000_000], [2 ** 53 - 1]])]).toEqual([
      0x91, 0xcf, 0x00, 0x00, 0x00, 0x01, 0xcf, 0x7c, 0x58, 0x00, 0x91, 0xcf, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff,
    ]);
  });

  it('refuses what the script could not read back exactly', () => {
    expect(() => packIntegerArrays([[-1]])).toThrow(RangeError);
    expect(() => packIntegerArrays([[1.5]])).toThrow(RangeError);
    expect(() => packIntegerArrays([[2 ** 53]])).toThrow(RangeError);
    expect(() => packIntegerArrays([Array(16).fill(0)])).toThrow(RangeError);
  });
});
