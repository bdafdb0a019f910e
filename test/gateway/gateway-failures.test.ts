import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/config/load.js';
import { startGateway } from '../../src/gateway/server.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()?.();
});

async function rudeUpstream(behaviour: 'reset-before-reply' | 'reset-mid-body' | 'garbage'): Promise<string> {
  const server: Server = createServer((request, response) => {
    const socket = request.socket as Socket;
    if (behaviour === 'reset-before-reply') socket.destroy();
    else if (behaviour === 'reset-mid-body') {
      response.writeHead(200, { 'content-length': '1000' });
      response.write('x'.repeat(100), () => socket.destroy());
    } else socket.end('this is not HTTP at all\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function gatewayFor(url: string) {
  const healthy = createServer((_request, response) => response.end('fine'));
  await new Promise<void>((resolve) => healthy.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => healthy.close(resolve)));
  const gateway = await startGateway({
    admin: false,
    config: normalizeConfig({
      listen: { host: '127.0.0.1', port: 0 },
      upstreams: {
        rude: { url, retry: { attempts: 2, baseDelay: 1 } },
        healthy: { url: `http://127.0.0.1:${(healthy.address() as AddressInfo).port}` },
      },
    }),
  });
  closers.push(() => gateway.close(100));
  return gateway;
}

describe('an upstream that misbehaves', () => {
  it('resetting the connection before replying gets a 502 problem, and the gateway keeps serving', async () => {
    const gateway = await gatewayFor(await rudeUpstream('reset-before-reply'));
    const answer = await fetch(`${gateway.url}/rude/x`);
    expect(answer.status).toBe(502);
    expect(await answer.json()).toMatchObject({ type: 'urn:sluice:problem:upstream-unreachable', upstream: 'rude' });
    expect(await (await fetch(`${gateway.url}/healthy/x`)).text()).toBe('fine');
  });

  it('answering with something that is not HTTP gets a 502 problem', async () => {
    const gateway = await gatewayFor(await rudeUpstream('garbage'));
    const answer = await fetch(`${gateway.url}/rude/x`);
    expect(answer.status).toBe(502);
    expect(await answer.json()).toMatchObject({ type: 'urn:sluice:problem:upstream-protocol' });
  });

  it('resetting mid-body cuts the answer (the status was already sent) without taking the gateway down', async () => {
    const gateway = await gatewayFor(await rudeUpstream('reset-mid-body'));
    const answer = await fetch(`${gateway.url}/rude/x`);
    expect(answer.status).toBe(200);
    await expect(answer.text()).rejects.toThrow();
    expect(await (await fetch(`${gateway.url}/healthy/x`)).text()).toBe('fine');
  });
});

describe('sluice start', () => {
  it('refuses a malformed configuration with every problem and its path, and exits 1', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'sluice-start-'));
    const file = join(directory, 'bad.yaml');
    writeFileSync(file, 'listen: { port: -1 }\nupstreams:\n  api: { url: not-a-url, retyr: {} }\n');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', '--config', file], {
      cwd: process.cwd(),
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('listen.port');
    expect(stderr).toContain('upstreams.api.url');
    expect(stderr).toContain('upstreams.api.retyr: unknown option (did you mean "retry"?)');
  });
});
