/** Header value formats the emulated providers use. */

/** Seconds with up to 3 decimals and no trailing zeros: 64570 ms → "64.57", 1000 ms → "1" (Discord's floats). */
export function secondsText(ms: number): string {
  return String(Number((ms / 1000).toFixed(3)));
}

/** Seconds with one decimal, rounded up: 50 ms → "0.1", 1000 ms → "1.0" (Shopify's `Retry-After: 2.0`). */
export function decisecondsText(ms: number): string {
  return (Math.ceil(ms / 100) / 10).toFixed(1);
}

/** Whole seconds, rounded up, so a caller that honours it never comes back early (`Retry-After`, IETF `t`). */
export function wholeSecondsText(ms: number): string {
  return String(Math.max(0, Math.ceil(ms / 1000)));
}

/**
 * Go's `time.Duration.String()` for whole milliseconds, as OpenAI prints resets: "0s", "20ms", "1.2s",
 * "6m0s", "2m59.56s", "1h0m0s".
 */
export function goDurationText(ms: number): string {
  const whole = Math.max(0, Math.round(ms));
  if (whole === 0) return '0s';
  if (whole < 1000) return `${whole}ms`;
  const hours = Math.floor(whole / 3_600_000);
  const minutes = Math.floor((whole % 3_600_000) / 60_000);
  const seconds = secondsText(whole % 60_000);
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
