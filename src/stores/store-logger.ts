/** Where stores log outages and recoveries: anything with pino's `warn`/`info` signature. */
import pino from 'pino';

export interface StoreLogger {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

let shared: StoreLogger | undefined;

/** pino on stderr, created on first use (only a store that has an outage ever logs). */
export function defaultStoreLogger(): StoreLogger {
  shared ??= pino({ name: 'sluice', level: 'info' }, pino.destination({ fd: 2, sync: true }));
  return shared;
}
