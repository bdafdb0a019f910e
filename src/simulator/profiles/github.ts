import { InvalidOptionError } from '../../errors.js';
import { type FixedWindowState, takeFixedWindow } from '../models/fixed-window.js';
import { checkLimitFields, wholeCount, windowMs } from '../settings.js';
import type { SimulatedProfile, SimulatedReply, SimulatedRequest, SimulatorLimits } from '../types.js';

type Resource = 'core' | 'search';

const REJECTION_BODY = JSON.stringify({
  message:
    'API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.',
  documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
});

function resourceOf(path: string): Resource {
  return path === '/search' || path.startsWith('/search/') ? 'search' : 'core';
}

/**
 * GitHub's REST API: a fixed window per resource that starts at the first request after the previous window
 * ended; `core` for everything, `search` (smaller) for `/search/*`. `x-ratelimit-reset` is in epoch SECONDS,
 * rounded up from the window's true end: a caller that honours it is never early, but cannot know the reset
 * to better than a second — the imprecision a pacer has to live with. A rejection (403, or 429 when asked)
 * consumes nothing.
 *
 * Capacity: Σ over resources of limit × windows started (a window starts only when traffic arrives).
 */
export function createGithubProfile(overrides?: SimulatorLimits): SimulatedProfile {
  const limits = checkLimitFields('github', overrides, [
    'limit',
    'window',
    'searchLimit',
    'searchWindow',
    'rejectStatus',
  ]);
  const rules: Record<Resource, { limit: number; windowMs: number }> = {
    core: { limit: wholeCount(limits.limit, 100, 'limit'), windowMs: windowMs(limits.window, 1000, 'window') },
    search: {
      limit: wholeCount(limits.searchLimit, 10, 'searchLimit'),
      windowMs: windowMs(limits.searchWindow, 1000, 'searchWindow'),
    },
  };
  const rejectStatus = limits.rejectStatus ?? 403;
  if (rejectStatus !== 403 && rejectStatus !== 429)
    throw new InvalidOptionError('limits.rejectStatus', `expected 403 or 429, got ${JSON.stringify(rejectStatus)}`);

  const windows = new Map<Resource, FixedWindowState>();
  const windowsStarted = new Map<Resource, number>();

  return {
    name: 'github',
    handle(request: SimulatedRequest, nowEpochMs: number): SimulatedReply {
      const resource = resourceOf(request.path);
      const { limit, windowMs } = rules[resource];
      const decision = takeFixedWindow(windows.get(resource) ?? null, nowEpochMs, limit, windowMs);
      windows.set(resource, decision.state);
      if (decision.started) windowsStarted.set(resource, (windowsStarted.get(resource) ?? 0) + 1);
      const headers = {
        'content-type': 'application/json; charset=utf-8',
        'x-ratelimit-limit': String(limit),
        'x-ratelimit-remaining': String(decision.remaining),
        'x-ratelimit-reset': String(Math.ceil(decision.resetAtEpochMs / 1000)),
        'x-ratelimit-used': String(limit - decision.remaining),
        'x-ratelimit-resource': resource,
      };
      if (decision.allowed) return { status: 200, headers, body: '{"ok":true}', accepted: true, route: resource };
      return { status: rejectStatus, headers, body: REJECTION_BODY, accepted: false, route: resource };
    },
    capacity() {
      const byRoute: Record<string, number> = {};
      let total = 0;
      for (const [resource, started] of windowsStarted) {
        byRoute[resource] = rules[resource].limit * started;
        total += byRoute[resource];
      }
      return { total, byRoute };
    },
    reset() {
      windows.clear();
      windowsStarted.clear();
    },
  };
}
