import { asString, pathOf } from '../body.js';
import type { SignalHeaders } from '../headers.js';
import {
  createLimit,
  type DialectReader,
  type DialectReading,
  detailsOrNothing,
  hasFacts,
  withDetail,
} from '../reading.js';
import { resetFromText, type TimeFrame } from '../time-frame.js';
import type { SignalLimit } from '../types.js';
import { parseCount, parseRemaining } from '../values.js';

const FIELDS = ['limit', 'remaining', 'reset'] as const;
type Field = (typeof FIELDS)[number];
const PERIOD = /^(\d{1,4})(hour|minute|min|day)s?$/;
const PERIOD_MS: Record<string, number> = { minute: 60_000, min: 60_000, hour: 3_600_000, day: 86_400_000 };

/**
 * X (Twitter) API: `x-rate-limit-{limit,remaining,reset}` for the endpoint's window (reset in epoch seconds),
 * plus caps such as `x-app-limit-24hour-*` and `x-user-limit-24hour-*`. Any of them can be the one that
 * fired, so the wait is until every exhausted one resets. A 429 whose problem type is "usage-capped" (the
 * monthly product cap) is not throttling.
 */
export const readX: DialectReader = ({ status, headers, body, frame }) => {
  const primary = createLimit({
    name: '15min-window',
    limit: parseCount(headers.get('x-rate-limit-limit')),
    remaining: parseRemaining(headers.get('x-rate-limit-remaining')),
    reset: resetFromText(frame, headers.get('x-rate-limit-reset')),
  });
  const limits = [...(hasFacts(primary) ? [primary] : []), ...readCaps(headers, frame)];
  const reading: DialectReading = { limited: status === 429, limits };
  const spentWithReset = limits.some((limit) => limit.remaining === 0 && limit.resetAfterMs !== null);
  if (status === 429 && !spentWithReset) {
    // The headers do not explain this 429: the body may say it is the monthly usage cap.
    const json = body.json();
    const type = asString(pathOf(json, 'type')) ?? '';
    const title = asString(pathOf(json, 'title'));
    if (type.includes('usage-capped') || title === 'UsageCapExceeded') {
      reading.retryable = false;
      const details: Record<string, string | number | boolean> = { reason: 'usage-capped' };
      withDetail(details, 'period', asString(pathOf(json, 'period')));
      reading.details = detailsOrNothing(details);
    }
  }
  return reading;
};

function readCaps(headers: SignalHeaders, frame: TimeFrame): SignalLimit[] {
  const byName = new Map<string, Partial<Record<Field, string>>>();
  for (const [header, value] of headers) {
    const who = header.startsWith('x-app-limit-') ? 'app' : header.startsWith('x-user-limit-') ? 'user' : null;
    if (who === null) continue;
    const rest = header.slice(who.length + 'x--limit-'.length);
    const dash = rest.lastIndexOf('-');
    const field = rest.slice(dash + 1) as Field;
    if (dash <= 0 || !FIELDS.includes(field)) continue;
    const name = `${who}-${rest.slice(0, dash)}`;
    const entry = byName.get(name) ?? {};
    entry[field] = value;
    byName.set(name, entry);
  }
  return [...byName.keys()].sort().map((name) => {
    const fields = byName.get(name)!;
    return createLimit({
      name,
      limit: parseCount(fields.limit),
      remaining: parseRemaining(fields.remaining),
      reset: resetFromText(frame, fields.reset),
      windowMs: periodMs(name.slice(name.indexOf('-') + 1)),
    });
  });
}

function periodMs(period: string): number | null {
  const match = PERIOD.exec(period);
  if (!match) return null;
  return Number(match[1]) * (PERIOD_MS[match[2]!] ?? 0);
}
