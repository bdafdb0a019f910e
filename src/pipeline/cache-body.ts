/**
 * Bodies the economy stages keep: read whole when small enough to store or share, and handed back as a fresh
 * stream. A body larger than the bound (declared or found while reading) is never held: the caller gets what was
 * read followed by the rest, still streaming.
 */
import { Readable } from 'node:stream';
import type { Reply } from './stage.js';

export function bytesStream(bytes: Uint8Array): Readable {
  return Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)], { objectMode: false });
}

/** True when the reply says its body is larger than `maxBytes`. */
export function declaredLarger(reply: Reply, maxBytes: number): boolean {
  const declared = Number(reply.headers['content-length']);
  return Number.isFinite(declared) && declared > maxBytes;
}

/**
 * Reads the reply's body whole when it holds at most `maxBytes`, replacing `reply.body` with a replay of it.
 * Returns null, leaving a stream of the same bytes in `reply.body`, when the body is larger or fails mid-way (the
 * caller then sees the failure as it would have without Sluice).
 */
export async function readWholeBody(reply: Reply, maxBytes: number): Promise<Buffer | null> {
  if (reply.body === null) return Buffer.alloc(0);
  if (declaredLarger(reply, maxBytes)) return null;
  // Iterate by hand: leaving a for-await loop early would destroy the stream we may have to hand back.
  const iterator = reply.body[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for (let step = await iterator.next(); !step.done; step = await iterator.next()) {
      const chunk = typeof step.value === 'string' ? Buffer.from(step.value) : step.value;
      chunks.push(chunk);
      size += chunk.length;
      if (size > maxBytes) {
        reply.body = Readable.from(readThenRest(chunks, iterator), { objectMode: false });
        return null;
      }
    }
  } catch (error) {
    reply.body = Readable.from(readThenFail(chunks, error), { objectMode: false });
    return null;
  }
  const whole = Buffer.concat(chunks, size);
  reply.body = bytesStream(whole);
  return whole;
}

async function* readThenRest(read: Buffer[], rest: AsyncIterator<Buffer | string>): AsyncGenerator<Buffer> {
  yield* read;
  for (let step = await rest.next(); !step.done; step = await rest.next()) {
    yield typeof step.value === 'string' ? Buffer.from(step.value) : step.value;
  }
}

async function* readThenFail(read: Buffer[], error: unknown): AsyncGenerator<Buffer> {
  yield* read;
  throw error;
}

/** Lets a reply that will not be returned release its connection. */
export function discardBody(reply: Reply): void {
  if (!reply.body) return;
  reply.body.on('error', () => {});
  reply.body.resume();
}
