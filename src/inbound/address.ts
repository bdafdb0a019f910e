/**
 * Client addresses as limit keys. One IPv4 address is one caller; an IPv6 caller is its /64, because one host is
 * routinely given a whole /64 (SLAAC, privacy addresses) and could otherwise take a fresh key per request.
 *
 * The IPv6 reader is a single pass over the text (this runs for every request of an `ip` rule); the tests hold it
 * to Node's own reading (`net.isIPv6`, `SocketAddress`) on every spelling and on random garbage.
 */
import { isIPv4 } from 'node:net';

const GROUPS = 8;
const COLON = 58;
const DOT = 46;

/**
 * The key a client address is limited under: an IPv4 address in dotted form (`::ffff:a.b.c.d` included), or the
 * /64 of an IPv6 address in RFC 5952 form (`2001:db8:0:1::/64`). Brackets and a zone (`%eth0`) are ignored.
 * Null when the text is not an IP address.
 */
export function clientAddressKey(address: unknown): string | null {
  if (typeof address !== 'string') return null;
  if (address.length <= 15 && isIPv4(address)) return address;
  const groups = ipv6Groups(address);
  if (groups === null) return null;
  if (
    groups[0] === 0 &&
    groups[1] === 0 &&
    groups[2] === 0 &&
    groups[3] === 0 &&
    groups[4] === 0 &&
    groups[5] === 0xffff
  ) {
    const high = groups[6] as number;
    const low = groups[7] as number;
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return prefix64(groups);
}

/**
 * The /64 in RFC 5952 form. With the last four groups zero, the longest run of zeros always reaches the end (a
 * run inside the first three groups is at most three long), so `::` replaces the trailing zero groups.
 */
function prefix64(groups: readonly number[]): string {
  let end = 4;
  while (end > 0 && groups[end - 1] === 0) end--;
  let text = '';
  for (let index = 0; index < end; index++)
    text += `${index === 0 ? '' : ':'}${(groups[index] as number).toString(16)}`;
  return `${text}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (brackets and a zone allowed), or null when it is not one. */
export function ipv6Groups(text: string): number[] | null {
  let start = 0;
  let end = text.length;
  if (text.charCodeAt(0) === 91 /* [ */) {
    if (text.charCodeAt(end - 1) !== 93 /* ] */) return null;
    start = 1;
    end--;
  }
  const zoneAt = text.indexOf('%', start);
  if (zoneAt !== -1 && zoneAt < end) {
    if (zoneAt === end - 1 || !validZone(text, zoneAt + 1, end)) return null;
    end = zoneAt;
  }
  if (end - start < 2 || end - start > 45) return null;

  const groups: number[] = [];
  let compressedAt = -1;
  let index = start;
  if (text.charCodeAt(index) === COLON) {
    if (text.charCodeAt(index + 1) !== COLON) return null;
    compressedAt = 0;
    index += 2;
  }
  while (index < end) {
    const groupStart = index;
    let value = 0;
    while (index < end && index - groupStart < 5) {
      const digit = hexValue(text.charCodeAt(index));
      if (digit === -1) break;
      value = value * 16 + digit;
      index++;
    }
    if (index < end && text.charCodeAt(index) === DOT) {
      // An embedded IPv4 address ends the text and fills the last two groups.
      const ipv4 = ipv4Groups(text, groupStart, end);
      if (ipv4 === null || groups.length > 6) return null;
      groups.push(ipv4[0], ipv4[1]);
      index = end;
      break;
    }
    const digits = index - groupStart;
    if (digits === 0 || digits > 4) return null;
    groups.push(value);
    if (groups.length > GROUPS) return null;
    if (index === end) break;
    if (text.charCodeAt(index) !== COLON) return null;
    index++;
    if (text.charCodeAt(index) === COLON && index < end) {
      if (compressedAt !== -1) return null;
      compressedAt = groups.length;
      index++;
    } else if (index === end) {
      return null; // a trailing single colon
    }
  }
  if (compressedAt === -1) return groups.length === GROUPS ? groups : null;
  if (groups.length > GROUPS - 1) return null;
  const missing = GROUPS - groups.length;
  groups.splice(compressedAt, 0, ...new Array<number>(missing).fill(0));
  return groups;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

/** Four decimal octets (no leading zeros, as Node reads them) as two 16-bit groups. */
function ipv4Groups(text: string, start: number, end: number): [number, number] | null {
  const octets: number[] = [];
  let index = start;
  while (octets.length < 4) {
    const octetStart = index;
    let value = 0;
    while (index < end) {
      const code = text.charCodeAt(index);
      if (code < 48 || code > 57) break;
      value = value * 10 + (code - 48);
      index++;
    }
    const digits = index - octetStart;
    if (digits === 0 || digits > 3 || value > 255 || (digits > 1 && text.charCodeAt(octetStart) === 48)) return null;
    octets.push(value);
    if (octets.length < 4) {
      if (text.charCodeAt(index) !== DOT || index >= end) return null;
      index++;
    }
  }
  if (index !== end) return null;
  return [((octets[0] as number) << 8) | (octets[1] as number), ((octets[2] as number) << 8) | (octets[3] as number)];
}

/** Zone ids as Node accepts them: letters, digits, `-`, `.`, `:`. */
function validZone(text: string, start: number, end: number): boolean {
  for (let index = start; index < end; index++) {
    const code = text.charCodeAt(index);
    const allowed =
      (code >= 48 && code <= 57) ||
      (code >= 65 && code <= 90) ||
      (code >= 97 && code <= 122) ||
      code === 45 ||
      code === DOT ||
      code === COLON;
    if (!allowed) return false;
  }
  return true;
}
