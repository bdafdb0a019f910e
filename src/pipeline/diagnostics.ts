/**
 * The `x-sluice-*` diagnostics and the RFC 9211 `Cache-Status` a reply carries back to its caller, whichever front
 * door it came through (fetch, the undici dispatcher, the gateway).
 */
import type { CallNotes } from './stage.js';

/** Adds the diagnostics of a call to reply headers (lower-case names, as undici and node:http keep them). */
export function addDiagnostics(headers: Record<string, string | string[]>, notes: CallNotes): void {
  if (notes.attempts > 1) headers['x-sluice-attempts'] = String(notes.attempts);
  if (notes.waitedMs > 0) headers['x-sluice-wait-ms'] = String(Math.round(notes.waitedMs));
  if (notes.cacheStatus) {
    // RFC 9211: each cache adds its entry in front of those of the caches closer to the origin.
    const upstream = headers['cache-status'];
    const earlier = Array.isArray(upstream) ? upstream.join(', ') : upstream;
    headers['cache-status'] = earlier ? `${notes.cacheStatus}, ${earlier}` : notes.cacheStatus;
  }
}
