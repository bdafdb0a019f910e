import { isIPv6, SocketAddress } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clientAddressKey, ipv6Groups } from '../../src/inbound/address.js';

/** Node's own canonical form (inet_ntop, RFC 5952) of eight groups: the reference our formatter must match. */
function nodeForm(groups: readonly number[]): string {
  return new SocketAddress({ address: groups.map((group) => group.toString(16)).join(':'), family: 'ipv6' }).address;
}

const group = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
const groups = fc.array(group, { minLength: 8, maxLength: 8 });

/** The ways one address can be written: full with leading zeros, upper case, compressed, mixed with IPv4. */
function spellings(address: readonly number[]): string[] {
  const padded = address.map((part) => part.toString(16).padStart(4, '0')).join(':');
  const forms = [
    padded,
    padded.toUpperCase(),
    nodeForm(address),
    `[${nodeForm(address)}]`,
    `${nodeForm(address)}%eth0`,
  ];
  const high = address[6] as number;
  const low = address[7] as number;
  const dotted = `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  forms.push(
    `${address
      .slice(0, 6)
      .map((part) => part.toString(16))
      .join(':')}:${dotted}`,
  );
  return forms;
}

describe('clientAddressKey', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::FFFF:192.0.2.1', '192.0.2.1'],
    ['::ffff:c000:201', '192.0.2.1'],
    ['0:0:0:0:0:ffff:c000:0201', '192.0.2.1'],
    ['2001:db8::1', '2001:db8::/64'],
    ['2001:DB8:0:0:8:800:200C:417A', '2001:db8::/64'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::ffff', '2001:db8:1:2::/64'],
    ['2001:0db8:0000:0001:0000:0000:0000:0001', '2001:db8:0:1::/64'],
    ['2001:0:0:1::', '2001:0:0:1::/64'],
    ['fe80::1%eth0', 'fe80::/64'],
    ['[2001:db8:a:b::1]', '2001:db8:a:b::/64'],
    ['::1', '::/64'],
    ['::', '::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b::/64'],
    ['1:2:3:4:5:6:7.8.9.10', '1:2:3:4::/64'],
  ])('%s is limited as %s', (address, key) => {
    expect(clientAddressKey(address)).toBe(key);
  });

  it.each([
    '',
    'garbage',
    '192.0.2',
    '192.0.2.256',
    '01.2.3.4',
    '2001:db8::1::2',
    '1:2:3:4:5:6:7:8:9',
    '2001:db8:::1',
    ':::',
    '[::1',
  ])('%j is not an address: null', (address) => {
    expect(clientAddressKey(address)).toBeNull();
  });

  it.each([undefined, null, 42, {}, ['::1']])('a non-string (%j) is null, never a throw', (address) => {
    expect(clientAddressKey(address)).toBeNull();
  });

  it('every address of one /64 shares its key; another /64 has another key', () => {
    const base = '2001:db8:1234:5678';
    const keys = new Set(
      ['::1', '::ffff:ffff', ':abcd:ef01:2345:6789', ':1:2:3:4'].map((rest) => clientAddressKey(`${base}${rest}`)),
    );
    expect(keys).toEqual(new Set(['2001:db8:1234:5678::/64']));
    expect(clientAddressKey('2001:db8:1234:5679::1')).toBe('2001:db8:1234:5679::/64');
  });
});

describe('IPv6 parsing and formatting (Node as the reference)', () => {
  it('accepts exactly the texts Node accepts as IPv6 (random garbage included)', () => {
    const alphabet = fc.constantFrom(...'0123456789abcdefABCDEF:::::....%'.split(''), 'ffff', '::', '1.2.3.4', 'eth0');
    const text = fc.array(alphabet, { maxLength: 24 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(text, (candidate) => {
        expect(ipv6Groups(candidate) !== null, candidate).toBe(isIPv6(candidate));
      }),
      { numRuns: 20_000 },
    );
  });

  it.each([
    ['1:2:3:4:5:6:7::', [1, 2, 3, 4, 5, 6, 7, 0]],
    ['::2:3:4:5:6:7:8', [0, 2, 3, 4, 5, 6, 7, 8]],
    ['1::8', [1, 0, 0, 0, 0, 0, 0, 8]],
    ['::ffff:255.255.255.255', [0, 0, 0, 0, 0, 0xffff, 0xffff, 0xffff]],
    ['1:2:3:4:5::6.7.8.9', [1, 2, 3, 4, 5, 0, 0x607, 0x809]],
  ])('reads %s', (text, groups) => {
    expect(ipv6Groups(text)).toEqual(groups);
    expect(isIPv6(text)).toBe(true);
  });

  it.each([
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6::1.2.3.4',
    '::ffff:1.2.3.04',
    '::ffff:1.2.3',
    '::ffff:1.2.3.4.5',
    '12345::',
    '1:',
    ':1',
    '1::2%',
    '[::1]x',
  ])('rejects %s, as Node does', (text) => {
    expect(ipv6Groups(text)).toBeNull();
  });

  it('reads every spelling of an address back to its groups', () => {
    fc.assert(
      fc.property(groups, (address) => {
        for (const spelling of spellings(address)) expect(ipv6Groups(spelling)).toEqual(address);
      }),
      { numRuns: 1000 },
    );
  });

  it('keys every address by its /64 (or its IPv4 address when mapped), whatever the spelling', () => {
    fc.assert(
      fc.property(groups, (address) => {
        const mapped = address.slice(0, 5).every((part) => part === 0) && address[5] === 0xffff;
        const high = address[6] as number;
        const low = address[7] as number;
        const expected = mapped
          ? `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`
          : `${nodeForm([...address.slice(0, 4), 0, 0, 0, 0])}/64`;
        for (const spelling of spellings(address)) expect(clientAddressKey(spelling)).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });
});
