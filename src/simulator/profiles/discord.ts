import { createHash } from 'node:crypto';
import { secondsText, wholeSecondsText } from '../format.js';
import { type FixedWindowState, takeFixedWindow } from '../models/fixed-window.js';
import { checkLimitFields, wholeCount, windowMs } from '../settings.js';
import type { SimulatedProfile, SimulatedReply, SimulatedRequest, SimulatorLimits } from '../types.js';

/** Discord keys a route's limit by its "major parameter": the channel, guild or webhook it acts on. */
const MAJOR_PARAMETERS = new Set(['channels', 'guilds', 'webhooks']);
const SNOWFLAKE = /^\d+$/;

interface Route {
  /** The route's shape with every id as {id}: one bucket hash per method and shape. */
  bucket: string;
  /** The shape with the major parameter filled in: one limit per bucket and major parameter. */
  key: string;
}

/** `/api/v10/channels/123/messages/456` → bucket of `POST /channels/{id}/messages/{id}`, key `POST /channels/123/messages/{id}`. */
function routeOf(method: string, path: string): Route {
  const segments = path.split('/').filter((segment) => segment !== '');
  if (segments[0] === 'api') segments.shift();
  if (segments[0] !== undefined && /^v\d+$/.test(segments[0])) segments.shift();
  const major = segments[0] !== undefined && MAJOR_PARAMETERS.has(segments[0]) ? 1 : -1;
  const shape = segments.map((segment, index) => {
    if (segments[0] === 'webhooks' && index === 2) return '{token}';
    return SNOWFLAKE.test(segment) ? '{id}' : segment;
  });
  const keyed = segments.map((segment, index) => (index === major ? segment : shape[index]));
  const upper = method.toUpperCase();
  const bucket = createHash('sha256')
    .update(`${upper} /${shape.join('/')}`)
    .digest('hex')
    .slice(0, 32);
  return { bucket, key: `${upper} /${keyed.join('/')}` };
}

/**
 * Discord's API: a fixed window per route bucket and major parameter (starting at its first request), plus a
 * global limit across all routes. Every response carries `X-RateLimit-Limit/Remaining/Reset` (epoch seconds
 * with a millisecond fraction), `Reset-After` (seconds) and `Bucket`; a 429 carries `Retry-After` (whole
 * seconds, rounded up), `X-RateLimit-Scope` and the JSON body `{ message, retry_after, global }`, and a global
 * one `X-RateLimit-Global: true`. A request consumes from its route and the global limit, or from neither.
 * The global window starts with any request (like the route's, it is timed by traffic).
 *
 * Capacity: Σ over route keys that saw traffic of limit × windows started, capped by global limit × global
 * windows started. Both are upper bounds on what could be accepted, so their minimum is too; it is loose (never
 * too low) when the binding limit alternates during a run, e.g. global one second and routes the next.
 */
export function createDiscordProfile(overrides?: SimulatorLimits): SimulatedProfile {
  const limits = checkLimitFields('discord', overrides, ['limit', 'window', 'globalLimit', 'globalWindow']);
  const routeLimit = wholeCount(limits.limit, 10, 'limit');
  const routeWindowMs = windowMs(limits.window, 1000, 'window');
  const globalLimit = wholeCount(limits.globalLimit, 50, 'globalLimit');
  const globalWindowMs = windowMs(limits.globalWindow, 1000, 'globalWindow');

  const routes = new Map<string, FixedWindowState>();
  const routeWindowsStarted = new Map<string, number>();
  let global: FixedWindowState | null = null;
  let globalWindowsStarted = 0;

  function rejection(headers: Record<string, string>, waitMs: number, isGlobal: boolean): string {
    headers['Retry-After'] = wholeSecondsText(waitMs);
    if (isGlobal) headers['X-RateLimit-Global'] = 'true';
    headers['X-RateLimit-Scope'] = isGlobal ? 'global' : 'user';
    return JSON.stringify({
      message: 'You are being rate limited.',
      retry_after: Number(secondsText(waitMs)),
      global: isGlobal,
    });
  }

  return {
    name: 'discord',
    handle(request: SimulatedRequest, nowEpochMs: number): SimulatedReply {
      const route = routeOf(request.method, request.path);
      // A zero-cost take opens a new global window when the last one ended, whatever happens to this request.
      const globalTouch = takeFixedWindow(global, nowEpochMs, globalLimit, globalWindowMs, 0);
      global = globalTouch.state;
      if (globalTouch.started) globalWindowsStarted++;

      const decision = takeFixedWindow(routes.get(route.key) ?? null, nowEpochMs, routeLimit, routeWindowMs);
      const globalRoom = global.used < globalLimit;
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (decision.allowed && !globalRoom) {
        const body = rejection(headers, global.startAtEpochMs + globalWindowMs - nowEpochMs, true);
        return { status: 429, headers, body, accepted: false, route: route.key };
      }
      routes.set(route.key, decision.state);
      if (decision.started) routeWindowsStarted.set(route.key, (routeWindowsStarted.get(route.key) ?? 0) + 1);
      Object.assign(headers, {
        'X-RateLimit-Limit': String(routeLimit),
        'X-RateLimit-Remaining': String(decision.remaining),
        'X-RateLimit-Reset': secondsText(decision.resetAtEpochMs),
        'X-RateLimit-Reset-After': secondsText(decision.resetAtEpochMs - nowEpochMs),
        'X-RateLimit-Bucket': route.bucket,
      });
      if (!decision.allowed) {
        const body = rejection(headers, decision.resetAtEpochMs - nowEpochMs, false);
        return { status: 429, headers, body, accepted: false, route: route.key };
      }
      global = { startAtEpochMs: global.startAtEpochMs, used: global.used + 1 };
      return { status: 200, headers, body: '{"ok":true}', accepted: true, route: route.key };
    },
    capacity() {
      const byRoute: Record<string, number> = {};
      let routesTotal = 0;
      for (const [key, started] of routeWindowsStarted) {
        byRoute[key] = routeLimit * started;
        routesTotal += byRoute[key];
      }
      const globalCapacity = globalLimit * globalWindowsStarted;
      return {
        total: Math.min(routesTotal, globalCapacity),
        byRoute,
        details: { routesCapacity: routesTotal, globalCapacity },
      };
    },
    reset() {
      routes.clear();
      routeWindowsStarted.clear();
      global = null;
      globalWindowsStarted = 0;
    },
  };
}
