import { asRecord, asString, type BodyView } from '../body.js';
import type { SignalHeaders } from '../headers.js';
import { type DialectReader, type DialectReading, detailsOrNothing, withDetail } from '../reading.js';

/** The AWS SDKs' throttling error codes (smithy `THROTTLING_ERROR_CODES`). */
export const THROTTLING_CODES = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);

/**
 * AWS sends no budget headers. Throttling is an error code, in the `x-amzn-ErrorType` header, a JSON body's
 * `__type` / `code` (`"com.amazonaws.dynamodb.v20120810#ThrottlingException"`), or an XML body's `<Code>`
 * (S3 `SlowDown` as a 503, EC2 `RequestLimitExceeded`, query-protocol `Throttling` as a 400). A throttled
 * call is always retryable, with backoff.
 */
export const readAws: DialectReader = ({ status, headers, body }) => {
  const reading: DialectReading = { limited: status === 429, limits: [] };
  if (status < 400) return reading;
  const code = errorCode(headers, body);
  const details: Record<string, string | number | boolean> = {};
  withDetail(details, 'errorCode', code);
  if (code !== null && THROTTLING_CODES.has(code)) reading.limited = true;
  reading.details = detailsOrNothing(details);
  return reading;
};

function errorCode(headers: SignalHeaders, body: BodyView): string | null {
  const header = headers.get('x-amzn-errortype');
  if (header !== undefined) return shortCode(header.split(':')[0] ?? '');
  const json = asRecord(body.json());
  if (json !== null) {
    const type = asString(json.__type) ?? asString(json.code) ?? asString(json.Code);
    return type === null ? null : shortCode(type);
  }
  return xmlCode(body.text());
}

/** "com.amazonaws.dynamodb.v20120810#ThrottlingException" is "ThrottlingException". */
function shortCode(type: string): string | null {
  const code = type.slice(type.lastIndexOf('#') + 1).trim();
  return code === '' ? null : code;
}

function xmlCode(text: string | null): string | null {
  if (text === null) return null;
  const start = text.indexOf('<Code>');
  if (start === -1) return null;
  const end = text.indexOf('</Code>', start);
  if (end === -1 || end - start > 200) return null;
  return shortCode(text.slice(start + '<Code>'.length, end));
}
