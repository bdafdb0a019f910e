import { type FixedWindowState, takeFixedWindow } from '../models/fixed-window.js';
import { checkLimitFields, wholeCount, windowMs } from '../settings.js';
import type { SimulatedProfile, SimulatedReply, SimulatedRequest, SimulatorLimits } from '../types.js';

/**
 * An upstream that limits without saying so: a fixed window (starting at its first request), no rate-limit
 * headers at all, and a bare 429 without `Retry-After`. A rejection consumes nothing.
 *
 * Capacity: limit × windows started.
 */
export function createNoneProfile(overrides?: SimulatorLimits): SimulatedProfile {
  const limits = checkLimitFields('none', overrides, ['limit', 'window']);
  const limit = wholeCount(limits.limit, 100, 'limit');
  const window = windowMs(limits.window, 1000, 'window');
  let state: FixedWindowState | null = null;
  let windowsStarted = 0;

  return {
    name: 'none',
    handle(_request: SimulatedRequest, nowEpochMs: number): SimulatedReply {
      const decision = takeFixedWindow(state, nowEpochMs, limit, window);
      state = decision.state;
      if (decision.started) windowsStarted++;
      if (decision.allowed)
        return { status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"ok":true}', accepted: true };
      return { status: 429, headers: { 'Content-Type': 'text/plain' }, body: 'Too Many Requests', accepted: false };
    },
    capacity: () => ({ total: limit * windowsStarted }),
    reset() {
      state = null;
      windowsStarted = 0;
    },
  };
}
