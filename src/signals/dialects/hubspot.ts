import { asRecord, asString } from '../body.js';
import { createLimit, type DialectReader, type DialectReading, detailsOrNothing, withDetail } from '../reading.js';
import type { SignalLimit } from '../types.js';
import { parseCount, parseRemaining } from '../values.js';

const PREFIX = 'x-hubspot-ratelimit-';

/**
 * HubSpot: a rolling limit (`-Max` / `-Remaining` over `-Interval-Milliseconds`, ten seconds), a per-second
 * limit (`-Secondly` / `-Secondly-Remaining`) and a daily one (`-Daily` / `-Daily-Remaining`). No reset is
 * sent for any of them. A 429 names its policy in the body (`policyName`: TEN_SECONDLY_ROLLING, SECONDLY,
 * DAILY); the daily limit resets at midnight in the account's time zone, which the response does not state,
 * so a spent daily limit is not retryable.
 */
export const readHubspot: DialectReader = ({ status, headers, body }) => {
  const limits: SignalLimit[] = [];
  const intervalMs = parseCount(headers.get(`${PREFIX}interval-milliseconds`));
  push(
    limits,
    intervalMs === 10_000 ? 'ten-secondly-rolling' : 'rolling',
    headers.get(`${PREFIX}max`),
    headers.get(`${PREFIX}remaining`),
    intervalMs,
  );
  push(limits, 'secondly', headers.get(`${PREFIX}secondly`), headers.get(`${PREFIX}secondly-remaining`), 1000);
  push(limits, 'daily', headers.get(`${PREFIX}daily`), headers.get(`${PREFIX}daily-remaining`), 86_400_000);
  const reading: DialectReading = { limited: status === 429, limits };
  const details: Record<string, string | number | boolean> = {};
  if (status === 429) {
    const policyName = asString(asRecord(body.json())?.policyName);
    withDetail(details, 'policyName', policyName);
    const dailySpent = limits.some((limit) => limit.name === 'daily' && limit.remaining === 0);
    if (policyName === 'DAILY' || dailySpent) reading.retryable = false;
  }
  reading.details = detailsOrNothing(details);
  return reading;
};

function push(
  limits: SignalLimit[],
  name: string,
  limitText: string | undefined,
  remainingText: string | undefined,
  windowMs: number | null,
): void {
  if (limitText === undefined && remainingText === undefined) return;
  limits.push(createLimit({ name, limit: parseCount(limitText), remaining: parseRemaining(remainingText), windowMs }));
}
