import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPathRedactor, looksLikeCredential, scrubSecrets } from '../../src/observability/redact.js';

describe('createPathRedactor', () => {
  const redact = createPathRedactor({ queryParameters: ['hush', 'X-Custom'] });

  it('hides query values named like credentials, and those configured, keeping the rest byte for byte', () => {
    expect(redact('/search?q=rust+lang&api_key=abc&page=2')).toBe('/search?q=rust+lang&api_key=***&page=2');
    for (const name of ['key', 'apikey', 'access_token', 'client_secret', 'password', 'Signature', 'sig', 'auth']) {
      expect(redact(`/a?${name}=v1&b=2`)).toBe(`/a?${name}=***&b=2`);
    }
    expect(redact('/a?hush=1&HUSH=2&x-custom=3&other=4')).toBe('/a?hush=***&HUSH=***&x-custom=***&other=4');
    // Names may be percent-encoded; a name without a value is kept as it is.
    expect(redact('/a?acc%65ss_token=v&flag')).toBe('/a?acc%65ss_token=***&flag');
  });

  it('hides values that look like credentials whatever their name, and such path segments', () => {
    expect(redact('/a?q=ghp_16C7e42F292c6912E7710c838347Ae178B4a')).toBe('/a?q=***');
    expect(redact('/a?next=sk-proj-abc123')).toBe('/a?next=***');
    // Discord's documented webhook token is lower-case hex: its place in the path gives it away.
    const discordToken =
      '3d89bb7572e0fb30d8128367b3b1b44fecd1726de135cbe28a41f8b2f777c372ba2939e72279b94526ff5d1bd4358d65cf11';
    expect(redact(`/webhooks/223704706495545344/${discordToken}`)).toBe('/webhooks/223704706495545344/***');
    expect(redact(`/api/webhooks/1/${discordToken}/messages/@original`)).toBe('/api/webhooks/1/***/messages/@original');
    expect(redact(`/blobs/${discordToken}`)).toBe('/blobs/***');
    expect(redact('/hooks/Zq8xW3kP0vN6tR2yL5bM9cD1fG4hJ7sA-_x')).toBe('/hooks/***');
    // A Slack incoming webhook's secret.
    expect(redact('/services/T00000000/B00000000/vB3kT8qZ1mN4pR7sW2xY5cD9')).toBe('/services/T00000000/B00000000/***');
    expect(redact('/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe')).toBe('/***/getMe');
  });

  it('keeps ids, slugs, UUIDs and hashes, which are not credentials', () => {
    const paths = [
      '/repos/nodejs/node/commits/1f0b8a2c9d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a',
      '/v1/items/123e4567-e89b-12d3-a456-426614174000',
      '/channels/223704706495545344/messages',
      '/users/octocat/repos?per_page=100&sort=updated',
    ];
    for (const path of paths) expect(redact(path)).toBe(path);
  });

  it('hides the known secrets wherever they are, raw or URL-encoded', () => {
    const withSecrets = createPathRedactor({ secrets: () => ['plain secret value', 'tiny'] });
    expect(withSecrets('/a/plain secret value/b')).toBe('/a/***/b');
    expect(withSecrets('/a?q=plain%20secret%20value')).toBe('/a?q=***');
    expect(scrubSecrets('a tiny cat', ['tiny', 'abc'])).toBe('a *** cat');
    // Values under four characters would hide ordinary text and protect nothing.
    expect(scrubSecrets('abc', ['abc'])).toBe('abc');
  });

  it('never lets a value under a credential name through (property)', () => {
    const names = fc.constantFrom('key', 'token', 'api_key', 'x-api-key', 'secret', 'password', 'signature', 'hush');
    const value = fc.string({ minLength: 1, maxLength: 40, unit: fc.constantFrom(...'abcXYZ0189-_.~%'.split('')) });
    fc.assert(
      fc.property(names, value, fc.array(fc.tuple(fc.constantFrom('page', 'sort'), fc.nat())), (name, raw, others) => {
        const encoded = encodeURIComponent(raw);
        const query = [...others.map(([other, number]) => `${other}=${number}`), `${name}=${encoded}`].join('&');
        const redacted = redact(`/things?${query}`);
        const pairs = new URLSearchParams(redacted.split('?')[1]);
        expect(pairs.getAll(name)).toEqual(['***']);
      }),
    );
  });

  it('never throws on garbage', () => {
    fc.assert(
      fc.property(fc.string(), (path) => {
        expect(typeof redact(path)).toBe('string');
      }),
    );
    expect(redact('/a?%E0%A4%A=1&key=%')).toBe('/a?%E0%A4%A=1&key=***');
    expect(redact(42 as never)).toBe('42');
  });
});

describe('looksLikeCredential', () => {
  it('tells random keys from identifiers', () => {
    expect(looksLikeCredential('AKIAIOSFODNN7EXAMPLE')).toBe(true);
    expect(looksLikeCredential('xoxb-not-a-real-token')).toBe(true);
    expect(looksLikeCredential('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig')).toBe(true);
    expect(looksLikeCredential('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')).toBe(true);
    expect(looksLikeCredential('octocat')).toBe(false);
    expect(looksLikeCredential('my-very-long-repository-name-2024')).toBe(false);
    expect(looksLikeCredential('123e4567-e89b-12d3-a456-426614174000')).toBe(false);
  });
});
