/**
 * Observability benchmark: what watching a pipeline costs per call, against the obvious way in the same run.
 *
 * - metrics: one call event and one attempt event (what every call that reaches the upstream emits) handed to
 *   `createMetrics().listener`, against prom-client used directly for the same series (four counters' `inc` and
 *   three histograms' `observe` with label objects, the usual way to instrument with it).
 * - logs: one attempt line through `createCallLogger` (redaction, signal summary, pino), against pino logging the
 *   same fields as they come (no redaction). Both write to a stream that discards, so the log's sink is not timed.
 *
 * Events cycle over 4 statuses and 8 paths so that lookups are not all one series. Rounds alternate which contender
 * goes first; the median of the rounds is reported. Run: `npm run bench:observability`
 * (or `npx tsx bench/observability/run.ts [--events N] [--rounds N]`).
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import { createCallLogger } from '../../src/observability/call-logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import type { CallEvent } from '../../src/pipeline/events.js';
import type { RateLimitSignal } from '../../src/signals/types.js';

const argument = (name: string, fallback: number) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};

const EVENTS = argument('events', 200_000);
const ROUNDS = argument('rounds', 7);

const SIGNAL: RateLimitSignal = {
  dialect: 'github',
  limited: false,
  retryable: null,
  retryAfterMs: null,
  limit: 5000,
  remaining: 4321,
  resetAtEpochMs: 1_700_000_000_000,
  resetAfterMs: 1_800_000,
  limits: [
    {
      name: 'core',
      unit: 'requests',
      limit: 5000,
      remaining: 4321,
      resetAtEpochMs: 1_700_000_000_000,
      resetAfterMs: 1_800_000,
      windowMs: null,
    },
  ],
  resource: 'core',
};

const STATUSES = [200, 200, 404, 429];
const PATHS = Array.from({ length: 8 }, (_, index) => `/repos/sluice/sluice/issues/${index}?page=2&per_page=100`);

function events(kind: CallEvent['kind']): CallEvent[] {
  return Array.from({ length: 64 }, (_, index) => ({
    kind,
    upstream: 'github',
    tenant: 'acme',
    method: 'GET',
    path: PATHS[index % PATHS.length] as string,
    status: STATUSES[index % STATUSES.length] as number,
    outcome: 'ok' as const,
    durationMs: 3 + (index % 40),
    waitedMs: index % 3,
    attempts: 1,
    signal: SIGNAL,
  }));
}

const CALLS = events('call');
const ATTEMPTS = events('attempt');

function direct() {
  const registers = [new Registry()];
  const calls = new Counter({
    name: 'calls_total',
    help: 'h',
    labelNames: ['upstream', 'tenant', 'status', 'outcome', 'reason'],
    registers,
  });
  const attempts = new Counter({
    name: 'attempts_total',
    help: 'h',
    labelNames: ['upstream', 'status', 'outcome', 'reason'],
    registers,
  });
  const rejections = new Counter({ name: 'rejections_total', help: 'h', labelNames: ['upstream', 'by'], registers });
  const retries = new Counter({ name: 'retries_total', help: 'h', labelNames: ['upstream'], registers });
  const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
  const callDuration = new Histogram({ name: 'd', help: 'h', labelNames: ['upstream', 'outcome'], buckets, registers });
  const attemptDuration = new Histogram({ name: 'a', help: 'h', labelNames: ['upstream'], buckets, registers });
  const wait = new Histogram({ name: 'w', help: 'h', labelNames: ['upstream'], buckets, registers });
  return (call: CallEvent, attempt: CallEvent) => {
    calls.inc({
      upstream: call.upstream,
      tenant: call.tenant ?? '',
      status: String(call.status),
      outcome: call.outcome,
      reason: call.reason ?? '',
    });
    callDuration.observe({ upstream: call.upstream, outcome: call.outcome }, call.durationMs / 1000);
    wait.observe({ upstream: call.upstream }, call.waitedMs / 1000);
    attempts.inc({
      upstream: attempt.upstream,
      status: String(attempt.status),
      outcome: attempt.outcome,
      reason: attempt.reason ?? '',
    });
    attemptDuration.observe({ upstream: attempt.upstream }, attempt.durationMs / 1000);
    if (attempt.status === 429) rejections.inc({ upstream: attempt.upstream, by: 'upstream' });
    if (attempt.attempts > 1) retries.inc({ upstream: attempt.upstream });
  };
}

function ours() {
  const metrics = createMetrics({ tenants: ['acme'] });
  return (call: CallEvent, attempt: CallEvent) => {
    metrics.listener(call);
    metrics.listener(attempt);
  };
}

const discard = () =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

function ourLogger() {
  const logger = createCallLogger(pino({ level: 'info' }, discard()));
  return (_call: CallEvent, attempt: CallEvent) => logger.listener(attempt);
}

function plainPino() {
  const logger = pino({ level: 'info' }, discard());
  return (_call: CallEvent, attempt: CallEvent) =>
    logger.info(
      {
        upstream: attempt.upstream,
        tenant: attempt.tenant,
        method: attempt.method,
        path: attempt.path,
        status: attempt.status,
        outcome: attempt.outcome,
        durationMs: attempt.durationMs,
        attempt: attempt.attempts,
        waitedMs: attempt.waitedMs,
        signal: attempt.signal,
      },
      'upstream attempt',
    );
}

type Contender = (call: CallEvent, attempt: CallEvent) => void;

function nanosecondsPerCall(contender: Contender): number {
  const started = process.hrtime.bigint();
  for (let index = 0; index < EVENTS; index++) {
    contender(CALLS[index & 63] as CallEvent, ATTEMPTS[index & 63] as CallEvent);
  }
  return Number(process.hrtime.bigint() - started) / EVENTS;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

function compare(name: string, ourContender: Contender, peer: Contender, peerName: string) {
  // Warm-up: let V8 optimize both before timing.
  nanosecondsPerCall(ourContender);
  nanosecondsPerCall(peer);
  const oursTimes: number[] = [];
  const peerTimes: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      oursTimes.push(nanosecondsPerCall(ourContender));
      peerTimes.push(nanosecondsPerCall(peer));
    } else {
      peerTimes.push(nanosecondsPerCall(peer));
      oursTimes.push(nanosecondsPerCall(ourContender));
    }
  }
  const oursNs = median(oursTimes);
  const peerNs = median(peerTimes);
  return { name, oursNs, peerName, peerNs, ratio: peerNs / oursNs };
}

const results = [
  compare('metrics per call (call + attempt event)', ours(), direct(), 'prom-client inc/observe'),
  compare('log line per attempt (redacted, signal summarized)', ourLogger(), plainPino(), 'pino, fields as they come'),
];

console.log(`Observability benchmark: ${EVENTS} calls per round, median of ${ROUNDS} rounds (Node ${process.version})`);
console.log('| what | ours ns/call | peer | peer ns/call | peer ÷ ours |');
console.log('| --- | ---: | --- | ---: | ---: |');
for (const result of results) {
  console.log(
    `| ${result.name} | ${result.oursNs.toFixed(0)} | ${result.peerName} | ${result.peerNs.toFixed(0)} | ${result.ratio.toFixed(2)} |`,
  );
}
