/**
 * RFC 9457 problem details: every answer the gateway gives itself (not the upstream's) says what went wrong, in a
 * body a program can read and a human can act on.
 */
import type { ServerResponse } from 'node:http';

export interface Problem {
  status: number;
  /** A short, stable identifier of the kind of problem (becomes the `type` URI). */
  kind: string;
  title: string;
  detail: string;
  /** Seconds to wait before trying again; sets `Retry-After` too. */
  retryAfterSeconds?: number;
  /** Extra members (upstream, tenant, limit...). */
  extra?: Record<string, unknown>;
}

export function problemType(kind: string): string {
  return `urn:sluice:problem:${kind}`;
}

export function sendProblem(response: ServerResponse, problem: Problem, headers: Record<string, string> = {}): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = JSON.stringify({
    type: problemType(problem.kind),
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    ...(problem.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: problem.retryAfterSeconds }),
    ...problem.extra,
  });
  const head: Record<string, string> = {
    'content-type': 'application/problem+json',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    ...headers,
  };
  if (problem.retryAfterSeconds !== undefined) head['retry-after'] = String(problem.retryAfterSeconds);
  response.writeHead(problem.status, head);
  response.end(body);
}

/** Retry-After carries whole seconds: round a wait up so a caller never comes back too early. */
export function retryAfterSeconds(waitMs: number | null | undefined): number | undefined {
  if (waitMs === null || waitMs === undefined || !Number.isFinite(waitMs)) return undefined;
  return Math.max(1, Math.ceil(waitMs / 1000));
}
