import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createInboundLimits } from '../../src/inbound/engine.js';
import { createManualClock } from '../../src/time.js';

const guide = readFileSync(new URL('../../docs/protecting-apis.md', import.meta.url), 'utf8');

describe('docs/protecting-apis.md', () => {
  it('its configuration example is valid and behaves as the guide says', async () => {
    const yaml = /```yaml\n([\s\S]*?)```/.exec(guide)?.[1];
    expect(yaml).toBeDefined();
    const config = parseConfig(yaml as string);
    const limits = createInboundLimits(config.inbound, { clock: createManualClock(1_700_000_040_000) });
    const call = { key: 'k', tenant: 'globex', plan: 'free', ip: '192.0.2.1', upstream: 'github', method: 'GET' };
    // A burst of 40 from one key: per-key-burst refuses the 41st.
    let allowed = 0;
    for (let index = 0; index < 41; index++) {
      const verdict = await limits.check({ ...call, path: `/users/${index}` });
      if (verdict.allowed) allowed++;
      else expect(verdict.problem?.extra.policy).toBe('per-key-burst');
      await limits.release(verdict);
    }
    expect(allowed).toBe(40);
    // per-route holds a slot per call until released: 10 at once on one route.
    const held = [];
    for (let index = 0; index < 11; index++) {
      held.push(await limits.check({ ...call, key: `other-${index}`, path: '/search/code' }));
    }
    expect(held.filter((verdict) => verdict.allowed)).toHaveLength(10);
    expect(held[10]?.rule).toBe('per-route');
    await limits.release(held[0]!);
    expect((await limits.check({ ...call, key: 'another', path: '/search/code' })).allowed).toBe(true);
  });
});
