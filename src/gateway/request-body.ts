/**
 * A caller's request body as the pipeline carries it: read whole when it is small enough to be sent again on a
 * retry, streamed otherwise — never more than `maxRequestBytes` either way.
 */
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import type { CallBody } from '../pipeline/stage.js';

export class BodyTooLargeError extends Error {
  readonly limitBytes: number;
  constructor(limitBytes: number) {
    super(`the request body is larger than the ${limitBytes} bytes this upstream accepts (maxRequestBytes)`);
    this.name = 'BodyTooLargeError';
    this.limitBytes = limitBytes;
  }
}

/** Passes bytes through until there are too many, then fails the stream (and so the upload). */
export function byteLimit(limitBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > limitBytes) callback(new BodyTooLargeError(limitBytes));
      else callback(null, chunk);
    },
  });
}

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return request.headers['transfer-encoding'] !== undefined;
}

/**
 * Reads or wraps the body. Rejects with BodyTooLargeError when the declared length is over the limit, or when the
 * bytes read so far are.
 */
export async function callBodyOf(
  request: IncomingMessage,
  limits: { maxRequestBytes: number; maxReplayBytes: number },
): Promise<CallBody | null> {
  if (!hasBody(request)) return null;
  const declared = request.headers['content-length'] === undefined ? null : Number(request.headers['content-length']);
  if (declared !== null && declared > limits.maxRequestBytes) throw new BodyTooLargeError(limits.maxRequestBytes);
  if (declared !== null && declared <= limits.maxReplayBytes) {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > limits.maxRequestBytes) throw new BodyTooLargeError(limits.maxRequestBytes);
      chunks.push(chunk as Buffer);
    }
    return { kind: 'bytes', bytes: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks) };
  }
  const stream = request.pipe(byteLimit(limits.maxRequestBytes));
  request.on('error', (error) => stream.destroy(error));
  return { kind: 'stream', stream, ...(declared === null ? {} : { length: declared }) };
}
