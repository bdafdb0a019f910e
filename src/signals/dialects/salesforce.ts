import { asArray, asRecord, asString, type BodyView } from '../body.js';
import { createLimit, type DialectReader, type DialectReading, detailsOrNothing, withDetail } from '../reading.js';
import type { SignalLimit } from '../types.js';
import { parseCount } from '../values.js';

const USAGE = /^(\d{1,15})\/(\d{1,15})(?:\(([^)]{0,200})\))?$/;

/**
 * Salesforce: `Sforce-Limit-Info: api-usage=18/5000; api-bursts=1/750; per-app-api-usage=17/250(appName=x)`,
 * each entry USED/LIMIT of a rolling allocation whose reset is not sent. Exceeding the org's 24-hour
 * allocation is a 403 with errorCode REQUEST_LIMIT_EXCEEDED: nothing succeeds until the allocation rolls, at a
 * time the response does not state, so it is not retryable; a concurrency limit (ConcurrentPerOrgLongTxn...)
 * is.
 */
export const readSalesforce: DialectReader = ({ status, headers, body }) => {
  const { limits, primaryUsed } = readLimitInfo(headers.get('sforce-limit-info'));
  const details: Record<string, string | number | boolean> = {};
  // Raw, not limit - remaining: an org can run past its allocation (100012/100000) and remaining stops at 0.
  withDetail(details, 'used', primaryUsed);
  const reading: DialectReading = { limited: status === 429, limits };
  if (status === 403 || status === 429) {
    const error = limitError(body);
    if (error !== null) {
      reading.limited = true;
      withDetail(details, 'errorCode', 'REQUEST_LIMIT_EXCEEDED');
      if (!error.includes('concurrent')) reading.retryable = false;
    }
  }
  reading.details = detailsOrNothing(details);
  return reading;
};

function readLimitInfo(text: string | undefined): { limits: SignalLimit[]; primaryUsed: number | null } {
  const limits: SignalLimit[] = [];
  let primaryUsed: number | null = null;
  if (text === undefined) return { limits, primaryUsed };
  for (const entry of text.split(/[;,]/)) {
    const equals = entry.indexOf('=');
    if (equals <= 0) continue;
    const name = entry.slice(0, equals).trim();
    const match = USAGE.exec(entry.slice(equals + 1).trim());
    if (!match) continue;
    const used = parseCount(match[1]);
    const limit = parseCount(match[2]);
    const app = match[3]?.startsWith('appName=') ? match[3].slice('appName='.length) : undefined;
    if (limits.length === 0) primaryUsed = used;
    limits.push(
      createLimit({
        name,
        limit,
        remaining: used !== null && limit !== null ? Math.max(0, limit - used) : null,
        scope: app,
      }),
    );
  }
  return { limits, primaryUsed };
}

/** The lower-cased message of a REQUEST_LIMIT_EXCEEDED error, or null when the body has none. */
function limitError(body: BodyView): string | null {
  for (const error of asArray(body.json())) {
    const record = asRecord(error);
    if (record?.errorCode === 'REQUEST_LIMIT_EXCEEDED') return (asString(record.message) ?? '').toLowerCase();
  }
  return null;
}
