/**
 * Reads the rate-limit signal of an upstream reply once, where the reply arrives (the end of the transport), and
 * keeps it on the reply: the breaker, the attempt's events and the pacer all read it from there. Some dialects put
 * it in the body of errors (Google's RetryInfo, AWS error codes, Shopify GraphQL's cost): small bodies are then read
 * whole and handed on as a fresh stream.
 */
import { Readable } from 'node:stream';
import type { RateLimitSignal } from '../signals/types.js';
import type { Call, Reply } from './stage.js';

/** Error and throttling bodies are small; larger ones are never buffered for signal reading. */
const MAX_SIGNAL_BODY_BYTES = 64 * 1024;

export interface SignalReading {
  /** Reads a reply's signal. The body is given only when `needsBody` said so (and it is small). */
  readSignal(reply: { status: number; headers: Reply['headers']; body?: string }, nowEpochMs: number): RateLimitSignal;
  /** Whether this reply's signal may be in its body. */
  needsBody(reply: Reply, call: Call): boolean;
}

/** Sets (and returns) `reply.signal`. */
export async function attachSignal(
  reply: Reply,
  call: Call,
  reading: SignalReading,
  nowEpochMs: number,
): Promise<RateLimitSignal> {
  let body: string | undefined;
  if (reply.body && reading.needsBody(reply, call)) {
    const buffered = await bufferSmallBody(reply);
    if (buffered !== null) body = buffered;
  }
  const signal = reading.readSignal({ status: reply.status, headers: reply.headers, body }, nowEpochMs);
  reply.signal = signal;
  return signal;
}

/**
 * Reads a reply body whole when it is small, and puts it back as a fresh stream. Returns null (leaving the
 * body untouched) when it is declared larger than the limit.
 */
async function bufferSmallBody(reply: Reply): Promise<string | null> {
  const declared = Number(reply.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_SIGNAL_BODY_BYTES) return null;
  // Iterate by hand: leaving a for-await loop early would destroy the stream we may have to hand back.
  const iterator = (reply.body as Readable)[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const chunks: Buffer[] = [];
  let size = 0;
  for (let step = await iterator.next(); !step.done; step = await iterator.next()) {
    const buffer = typeof step.value === 'string' ? Buffer.from(step.value) : step.value;
    chunks.push(buffer);
    size += buffer.length;
    if (size > MAX_SIGNAL_BODY_BYTES) {
      reply.body = Readable.from(readThenRest(chunks, iterator), { objectMode: false });
      return null;
    }
  }
  const whole = Buffer.concat(chunks);
  // Not object mode: an empty chunk in object mode would never end a web Response's body.
  reply.body = Readable.from([whole], { objectMode: false });
  return whole.toString('utf8');
}

async function* readThenRest(read: Buffer[], rest: AsyncIterator<Buffer | string>): AsyncGenerator<Buffer> {
  yield* read;
  for (let step = await rest.next(); !step.done; step = await rest.next()) {
    yield typeof step.value === 'string' ? Buffer.from(step.value) : step.value;
  }
}
