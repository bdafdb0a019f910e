import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Checks an `Authorization: Bearer <token>` header against the configured token in constant time: both sides are
 * hashed first, so neither the comparison nor the lengths say how much of a guess was right.
 */
export type TokenCheck = 'accepted' | 'not-configured' | 'missing' | 'wrong';

const BEARER = /^\s*Bearer\s+(\S+)\s*$/i;

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export function createTokenCheck(token: string | undefined): (authorization: string | undefined) => TokenCheck {
  if (token === undefined || token === '') return () => 'not-configured';
  const expected = digest(token);
  return (authorization) => {
    if (typeof authorization !== 'string') return 'missing';
    const presented = BEARER.exec(authorization)?.[1];
    if (presented === undefined) return 'missing';
    return timingSafeEqual(digest(presented), expected) ? 'accepted' : 'wrong';
  };
}
