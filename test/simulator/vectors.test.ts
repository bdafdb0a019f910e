import { describe, expect, it } from 'vitest';
import type { SimulatorProfileName } from '../../src/simulator/types.js';
import { dialectHeaders, loadVectors, simulate } from './support.js';

const vectors = loadVectors();

/**
 * The simulator must speak each provider's dialect exactly as its documentation shows: every header it sends
 * appears in a documented example of that provider, with a value of the same form.
 */
const dialects: Array<{ profile: SimulatorProfileName; vectorIds: RegExp; drive: string[] }> = [
  { profile: 'github', vectorIds: /^github-rest/, drive: ['/a', '/search/x'] },
  { profile: 'openai', vectorIds: /^openai-/, drive: ['/v1/chat/completions'] },
  { profile: 'shopify', vectorIds: /^shopify-rest/, drive: ['/admin/x.json'] },
  { profile: 'discord', vectorIds: /^discord-/, drive: ['/channels/1/messages'] },
  { profile: 'ietf', vectorIds: /^ietf-draft-10/, drive: ['/a'] },
];

/**
 * The shape of a header value: numbers by magnitude (epoch seconds, epoch milliseconds, small) and with or without
 * a fraction, names and hashes as tokens, Go durations as one kind: "1700000002" and "1377013266" share a shape,
 * "1700000002000" does not.
 */
function numberShape(number: string): string {
  const [whole = '', fraction] = number.split('.');
  const magnitude = whole.length >= 12 ? 'E13' : whole.length >= 9 ? 'E10' : '9';
  return fraction === undefined ? magnitude : `${magnitude}.9`;
}

const shape = (value: string) =>
  /^(?=.*[a-f])[0-9a-f]{8,}$/.test(value) || /^[a-z]+$/.test(value)
    ? 'token'
    : value
        .replace(/\d+(\.\d+)?/g, numberShape)
        .replace(/"[^"]*"/g, '"name"')
        .replace(/9(\.9)?(h|ms|m|s)/g, 'duration')
        .replace(/(duration)+/g, 'duration');

describe('dialects match the documented provider examples', () => {
  for (const { profile, vectorIds, drive } of dialects) {
    it(`${profile}: every header sent, accepted or rejected, is documented in that form`, async () => {
      const documented = new Map<string, Set<string>>();
      for (const vector of vectors) {
        if (!vectorIds.test(vector.id)) continue;
        for (const [name, value] of Object.entries(vector.headers)) {
          const shapes = documented.get(name.toLowerCase()) ?? new Set<string>();
          shapes.add(shape(value));
          documented.set(name.toLowerCase(), shapes);
        }
      }
      expect(documented.size).toBeGreaterThan(0);
      const { call } = await simulate({ profile, limits: { limit: 1 } });
      const seen = new Set<number>();
      for (const path of drive) {
        for (let index = 0; index < 3; index++) {
          const reply = await call(path);
          seen.add(reply.status);
          for (const [name, value] of Object.entries(dialectHeaders(reply.headers))) {
            expect(documented.has(name), `${name} is not in ${profile}'s documented examples`).toBe(true);
            expect([...(documented.get(name) ?? [])], `${name}: ${value}`).toContain(shape(value));
          }
        }
      }
      expect(seen.has(200) && seen.size > 1).toBe(true);
    });
  }
});
