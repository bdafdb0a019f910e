/** Starts test/distributed/worker.ts as a real child process and collects its output. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

export interface Worker {
  child: ChildProcess;
  /** Resolves with the first line the worker prints. */
  firstLine: Promise<string>;
  /** Resolves with everything it printed once it exits (rejects on a non-zero exit). */
  finished: Promise<string>;
}

export function startWorker(config: Record<string, unknown>): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  let resolveLine: (line: string) => void = () => {};
  const firstLine = new Promise<string>((resolve) => {
    resolveLine = resolve;
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    const end = output.indexOf('\n');
    if (end >= 0) resolveLine(output.slice(0, end));
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  const finished = new Promise<string>((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (code === 0) resolve(output);
      else reject(new Error(`worker exited with ${code ?? signal}: ${errors.trim()}`));
    });
  });
  finished.catch(() => {});
  return { child, firstLine, finished };
}
