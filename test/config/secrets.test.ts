import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listSecretReferences, secretProblems } from '../../src/config/check.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/problems.js';
import { resolveSecret, type SecretReference } from '../../src/config/secrets.js';
import { problemsOf } from './support.js';

const directory = mkdtempSync(join(tmpdir(), 'sluice-secrets-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const SECRET = 'ghp_s3cr3t-value-that-must-never-be-printed';
const at = 'upstreams.github.credentials.team-a.value';

describe('resolveSecret', () => {
  it('reads an environment variable', () => {
    expect(resolveSecret({ env: 'GITHUB_TOKEN', configPath: at }, { env: { GITHUB_TOKEN: SECRET } })).toBe(SECRET);
  });

  it('reads process.env by default', () => {
    process.env.SLUICE_TEST_SECRET_READ = SECRET;
    try {
      expect(resolveSecret({ env: 'SLUICE_TEST_SECRET_READ', configPath: at })).toBe(SECRET);
    } finally {
      delete process.env.SLUICE_TEST_SECRET_READ;
    }
  });

  it('reads a real file, without the newline files usually end with', () => {
    const file = join(directory, 'token');
    writeFileSync(file, `${SECRET}\n`);
    expect(resolveSecret({ file, configPath: at })).toBe(SECRET);
  });

  it('a variable that is not set fails naming the option and the variable', () => {
    expect(problemsOf(() => resolveSecret({ env: 'GITHUB_TOKEN', configPath: at }, { env: {} }))).toEqual([
      { path: at, message: 'environment variable GITHUB_TOKEN is not set' },
    ]);
    expect(() => resolveSecret({ env: 'GITHUB_TOKEN', configPath: at }, { env: {} })).toThrow(ConfigError);
  });

  it('a missing file fails naming the option and the file', () => {
    const file = join(directory, 'absent');
    expect(problemsOf(() => resolveSecret({ file, configPath: at }))).toEqual([
      { path: at, message: `secret file ${file} does not exist` },
    ]);
    expect(problemsOf(() => resolveSecret({ file: directory, configPath: at }))[0]?.message).toBe(
      `secret file ${directory} is a directory, not a file`,
    );
  });

  it.skipIf(process.getuid?.() === 0)('an unreadable file says so', () => {
    const file = join(directory, 'locked');
    writeFileSync(file, SECRET);
    chmodSync(file, 0o000);
    expect(problemsOf(() => resolveSecret({ file, configPath: at }))[0]?.message).toBe(
      `secret file ${file} cannot be read (permission denied)`,
    );
  });

  it('refuses empty values, values with line breaks, and files far too large to be a secret, never printing them', () => {
    const reference = (env: string): SecretReference => ({ env, configPath: at });
    const environment = { EMPTY: '  ', BROKEN: `${SECRET}\r\nx-injected: 1` };
    expect(problemsOf(() => resolveSecret(reference('EMPTY'), { env: environment }))[0]?.message).toBe(
      'environment variable EMPTY is empty',
    );
    const broken = problemsOf(() => resolveSecret(reference('BROKEN'), { env: environment }));
    expect(broken[0]?.message).toBe('environment variable BROKEN contains a line break or control character');
    const large = join(directory, 'large');
    writeFileSync(large, `${SECRET}${'x'.repeat(70_000)}`);
    const tooLarge = problemsOf(() => resolveSecret({ file: large, configPath: at }));
    expect(tooLarge[0]?.message).toMatch(/is 70043 bytes, more than a secret/);
    expect(JSON.stringify([broken, tooLarge])).not.toContain(SECRET);
  });
});

describe('every reference of a configuration', () => {
  const keys = join(directory, 'keys');
  mkdirSync(keys, { recursive: true });
  writeFileSync(join(keys, 'team-b'), 'team-b-key\n');
  const config = parseConfig(
    [
      'admin: { token: { env: ADMIN_TOKEN } }',
      'store: { redis: { url: "redis://127.0.0.1:6379", password: { env: REDIS_PASSWORD } } }',
      'tenants:',
      '  team-a: { keys: [{ env: TEAM_A_KEY }] }',
      '  team-b: { keys: [{ file: keys/team-b }] }',
      'upstreams:',
      '  twilio:',
      '    preset: twilio',
      '    credentials: { team-a: { username: AC123, value: { env: TWILIO_TOKEN } } }',
    ].join('\n'),
    { baseDirectory: directory },
  );

  it('are listed, in file order', () => {
    expect(listSecretReferences(config).map((reference) => reference.configPath)).toEqual([
      'admin.token',
      'store.redis.password',
      'tenants.team-a.keys[0]',
      'tenants.team-b.keys[0]',
      'upstreams.twilio.credentials.team-a.value',
    ]);
  });

  it('resolve, or report every one that does not', () => {
    const all = { ADMIN_TOKEN: 'a', REDIS_PASSWORD: 'b', TEAM_A_KEY: 'c', TWILIO_TOKEN: 'd' };
    expect(secretProblems(config, { env: all })).toEqual([]);
    expect(secretProblems(config, { env: { TEAM_A_KEY: SECRET } })).toEqual([
      { path: 'admin.token', message: 'environment variable ADMIN_TOKEN is not set' },
      { path: 'store.redis.password', message: 'environment variable REDIS_PASSWORD is not set' },
      { path: 'upstreams.twilio.credentials.team-a.value', message: 'environment variable TWILIO_TOKEN is not set' },
    ]);
  });
});
