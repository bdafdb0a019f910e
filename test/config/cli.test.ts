import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const directory = mkdtempSync(join(tmpdir(), 'sluice-check-config-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** `sluice check-config` as a real child process, the way a user runs it. */
async function checkConfig(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'src/cli.ts', 'check-config', ...args], {
      cwd: root,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const file = (name: string, text: string) => {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
};

describe('sluice check-config', () => {
  it('prints a summary and exits 0 for a good file', async () => {
    const outcome = await checkConfig(['examples/sluice.full.yaml']);
    expect(outcome).toEqual({ code: 0, stdout: 'ok: 5 upstreams, 2 tenants, 2 inbound rules\n', stderr: '' });
  });

  it('prints every problem, one per line with file, line and column, and exits 1', async () => {
    const path = file(
      'bad.yaml',
      [
        'upstreams:',
        '  github:',
        '    url: https://api.github.com',
        '    retyr: { attempts: 3 }',
        '    retry: { attempts: 0 }',
        '    credentials: { default: { value: ghp_plaintext_token } }',
      ].join('\n'),
    );
    const outcome = await checkConfig([path]);
    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr.trimEnd().split('\n')).toEqual([
      `${path}:4:5: upstreams.github.retyr: unknown option (did you mean "retry"?)`,
      `${path}:5:24: upstreams.github.retry.attempts: expected a positive integer, got 0`,
      `${path}:6:38: upstreams.github.credentials.default.value: a secret must not be written into the configuration: use a reference, { env: NAME } (an environment variable) or { file: PATH } (a file holding the secret)`,
    ]);
    expect(outcome.stderr).not.toContain('ghp_plaintext_token');
  });

  it('reads JSON, and reports its syntax errors with their position', async () => {
    const good = file('good.json', JSON.stringify({ upstreams: { stripe: { preset: 'stripe' } } }));
    expect(await checkConfig([good])).toEqual({ code: 0, stdout: 'ok: 1 upstream, 0 tenants\n', stderr: '' });
    const bad = file('bad.json', '{\n  "upstreams": {\n    "stripe": { "preset": "stripe" },\n  }\n}\n');
    const outcome = await checkConfig([bad]);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toBe(`${bad}:4:3: JSON: unexpected "}", expected a key in double quotes\n`);
  });

  it('reports a YAML syntax error with its line', async () => {
    const path = file('broken.yaml', 'upstreams:\n  github:\n    url: https://api.github.com\n   retry: {}\n');
    const outcome = await checkConfig([path]);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(new RegExp(`^${path}:4:\\d+: YAML: `));
  });

  it('fails clearly on a file that does not exist', async () => {
    const path = join(directory, 'missing.yaml');
    expect(await checkConfig([path])).toEqual({
      code: 1,
      stdout: '',
      stderr: `${path}: cannot read the file: no such file\n`,
    });
  });

  it('with --secrets, checks that every reference resolves without printing any value', async () => {
    const path = file(
      'secrets.yaml',
      [
        'tenants: { team-a: { keys: [{ env: SLUICE_CLI_TEAM_KEY }] } }',
        'upstreams:',
        '  github: { preset: github, credentials: { team-a: { value: { file: token } } } }',
      ].join('\n'),
    );
    const missing = await checkConfig([path, '--secrets'], { SLUICE_CLI_TEAM_KEY: 'team-key-value' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `${path}: upstreams.github.credentials.team-a.value: secret file ${join(directory, 'token')} does not exist\n`,
    );
    file('token', 'github-token-value\n');
    const resolved = await checkConfig([path, '--secrets'], { SLUICE_CLI_TEAM_KEY: 'team-key-value' });
    expect(resolved).toEqual({ code: 0, stdout: 'ok: 1 upstream, 1 tenant, 2 secrets resolved\n', stderr: '' });
    expect(JSON.stringify([missing, resolved])).not.toMatch(/team-key-value|github-token-value/);
  });
});
