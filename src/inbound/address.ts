/**
 * Client addresses as limit keys. One IPv4 address is one caller; an IPv6 caller is its /64, because one host is
 * routinely given a whole /64 (SLAAC, privacy addresses) and could otherwise take a fresh key per request.
 */
import { isIPv4, isIPv6 } from 'node:net';

const GROUPS = 8;

/**
 * The key a client address is limited under: an IPv4 address in dotted form (`::ffff:a.b.c.d` included), or the
 * /64 of an IPv6 address in RFC 5952 form (`2001:db8:0:1::/64`). Brackets and a zone (`%eth0`) are ignored.
 * Null when the text is not an IP address.
 */
export function clientAddressKey(address: unknown): string | null {
  if (typeof address !== 'string') return null;
  if (isIPv4(address)) return address;
  const groups = ipv6Groups(address);
  if (groups === null) return null;
  if (isIPv4Mapped(groups)) return ipv4FromGroups(groups[6] as number, groups[7] as number);
  groups.fill(0, 4);
  return `${formatIPv6(groups)}/64`;
}

/** The eight 16-bit groups of an IPv6 address, or null when it is not one. */
export function ipv6Groups(text: string): number[] | null {
  let address = text;
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const zoneAt = address.indexOf('%');
  if (zoneAt !== -1) address = address.slice(0, zoneAt);
  if (!isIPv6(address)) return null;
  // From here the syntax is valid, so the split below only has to place the groups.
  const lastColon = address.lastIndexOf(':');
  if (address.includes('.', lastColon)) {
    // An embedded IPv4 address (`::ffff:192.0.2.1`) is the last two groups written in dotted form.
    const [a, b, c, d] = address
      .slice(lastColon + 1)
      .split('.')
      .map(Number) as [number, number, number, number];
    address = `${address.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const hex = (part: string) => Number.parseInt(part, 16);
  const compressedAt = address.indexOf('::');
  if (compressedAt === -1) {
    const groups = address.split(':').map(hex);
    return groups.length === GROUPS ? groups : null;
  }
  const head = address.slice(0, compressedAt);
  const tail = address.slice(compressedAt + 2);
  const headGroups = head === '' ? [] : head.split(':').map(hex);
  const tailGroups = tail === '' ? [] : tail.split(':').map(hex);
  const missing = GROUPS - headGroups.length - tailGroups.length;
  if (missing < 1) return null;
  const groups = [...headGroups, ...new Array<number>(missing).fill(0), ...tailGroups];
  return groups.length === GROUPS ? groups : null;
}

function isIPv4Mapped(groups: readonly number[]): boolean {
  return (
    groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff
  );
}

function ipv4FromGroups(high: number, low: number): string {
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/**
 * RFC 5952: lower-case hex without leading zeros, the longest run of two or more zero groups (the first of equal
 * runs) written as `::`.
 */
export function formatIPv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let index = 0; index < GROUPS; ) {
    if (groups[index] !== 0) {
      index++;
      continue;
    }
    let end = index;
    while (end < GROUPS && groups[end] === 0) end++;
    if (end - index > bestLength) {
      bestStart = index;
      bestLength = end - index;
    }
    index = end;
  }
  const hex = (group: number | undefined) => (group ?? 0).toString(16);
  if (bestStart === -1) return groups.map(hex).join(':');
  const head = groups.slice(0, bestStart).map(hex).join(':');
  const tail = groups
    .slice(bestStart + bestLength)
    .map(hex)
    .join(':');
  return `${head}::${tail}`;
}
