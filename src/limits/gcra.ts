import type { CompiledPolicy, Step } from './types.js';

/**
 * The one number a bucket keeps: the theoretical arrival time (TAT) — when the bucket will be full again —
 * in epoch microseconds, so that an emission interval such as 1000 ms / 3 stays an integer.
 */
export interface GcraState {
  readonly theoreticalArrivalAtEpochUs: number;
}

/**
 * The generic cell rate algorithm (Brandur's throttled), shared by the token bucket and the leaky bucket.
 * Each unit of cost pushes the TAT one `intervalUs` later; a take is admitted if, afterwards, the TAT is no more
 * than `capacity` intervals ahead of now. A rejection changes nothing. Integer microseconds throughout.
 *
 * `delayMs` follows nginx `limit_req`: the request's excess (units queued ahead of it) beyond `delay` must wait
 * until the bucket has leaked it.
 */
export function gcra(
  state: GcraState | undefined,
  nowEpochMs: number,
  cost: number,
  policy: CompiledPolicy,
): Step<GcraState> {
  const { intervalUs, capacity } = policy;
  const nowUs = nowEpochMs * 1000;
  const horizonUs = capacity * intervalUs;
  const arrivalUs =
    state === undefined || state.theoreticalArrivalAtEpochUs < nowUs ? nowUs : state.theoreticalArrivalAtEpochUs;
  const nextArrivalUs = arrivalUs + cost * intervalUs;

  if (nextArrivalUs - nowUs <= horizonUs) {
    const delayUs = nextArrivalUs - nowUs - (policy.delay + 1) * intervalUs;
    return {
      state: cost === 0 ? state : { theoreticalArrivalAtEpochUs: nextArrivalUs },
      result: {
        allowed: true,
        remaining: Math.floor((horizonUs - (nextArrivalUs - nowUs)) / intervalUs),
        resetAfterMs: microsecondsToMs(nextArrivalUs - nowUs),
        retryAfterMs: 0,
        delayMs: delayUs > 0 ? microsecondsToMs(delayUs) : 0,
      },
    };
  }
  return {
    state,
    result: {
      allowed: false,
      remaining: Math.max(0, Math.floor((horizonUs - (arrivalUs - nowUs)) / intervalUs)),
      resetAfterMs: microsecondsToMs(arrivalUs - nowUs),
      retryAfterMs: cost > capacity ? Number.POSITIVE_INFINITY : microsecondsToMs(nextArrivalUs - horizonUs - nowUs),
      delayMs: 0,
    },
  };
}

/** Rounded up, so that waiting the reported time is always enough. */
function microsecondsToMs(us: number): number {
  return Math.ceil(us / 1000);
}

/** After this time the state is equivalent to no state (a store may drop it). */
export function gcraExpiresAtEpochMs(state: GcraState): number {
  return Math.ceil(state.theoreticalArrivalAtEpochUs / 1000);
}
