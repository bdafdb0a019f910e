/**
 * Queue benchmark: per-task overhead with a large backlog, ours against p-queue in the same run.
 *
 * Each round queues TASKS tasks behind a closed gate (the first task waits on it, so every other one is queued),
 * opens the gate and waits until all have finished. The same round runs the bare tasks one after another; a queue's
 * per-task overhead is (its time - the bare time) / TASKS. Rounds alternate between the contenders and the median
 * is reported. Run: `npm run bench:queue` (or `npx tsx bench/queue/run.ts [--tasks N] [--rounds N]`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import PQueue from 'p-queue';
import {
  addDeadline,
  createDeadlineHeap,
  type DeadlineItem,
  removeDeadline,
} from '../../src/pipeline/deadline-heap.js';
import { createQueueStage } from '../../src/pipeline/queue.js';
import type { Call, Next, Reply } from '../../src/pipeline/stage.js';
import { systemClock } from '../../src/time.js';

const argument = (name: string, fallback: number) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};

const TASKS = argument('tasks', 100_000);
const ROUNDS = argument('rounds', 7);
const TENANTS = 100;
const PRIORITIES = 4;

const REPLY: Reply = { status: 200, headers: {}, body: null };
/** The work every contender runs per task: an async function that answers at once. */
const task = async (): Promise<Reply> => REPLY;
/** The same work behind the stage interface. */
const callTask: Next = async () => REPLY;

const collectGarbage = () => (globalThis as { gc?: () => void }).gc?.();

function makeCall(index: number, spread: boolean): Call {
  return {
    upstream: 'bench',
    method: 'GET',
    path: '/',
    headers: {},
    body: null,
    tenant: spread ? `tenant-${index % TENANTS}` : undefined,
    priority: spread ? index % PRIORITIES : 0,
    deadlineAtEpochMs: undefined,
    signal: undefined,
    cost: {},
    notes: { waitedMs: 0, attempts: 0 },
  };
}

function makeCalls(count: number, spread: boolean): Call[] {
  const calls: Call[] = new Array(count);
  for (let index = 0; index < count; index++) calls[index] = makeCall(index, spread);
  return calls;
}

interface Timing {
  enqueueMs: number;
  totalMs: number;
  /** CPU time of the process (user + system), less disturbed than wall time on a shared machine. */
  cpuMs: number;
}

const cpuMsSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};

async function runBare(): Promise<Timing> {
  collectGarbage();
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let index = 0; index < TASKS; index++) await task();
  const totalMs = performance.now() - started;
  return { enqueueMs: 0, totalMs, cpuMs: cpuMsSince(cpu) };
}

async function runOurs(spread: boolean): Promise<Timing> {
  const calls = makeCalls(TASKS + 1, spread);
  const queue = createQueueStage({ maxDepth: TASKS }, { scheduler: systemClock, upstream: 'bench' });
  let openGate: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    openGate = resolve;
  });
  const gated: Next = async () => {
    await gate;
    return REPLY;
  };
  const results: Promise<Reply>[] = new Array(TASKS);
  collectGarbage();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const first = queue(calls[0] as Call, gated);
  for (let index = 0; index < TASKS; index++) results[index] = queue(calls[index + 1] as Call, callTask);
  const enqueueMs = performance.now() - started;
  openGate();
  await first;
  await Promise.all(results);
  return { enqueueMs, totalMs: performance.now() - started, cpuMs: cpuMsSince(cpu) };
}

async function runPQueue(spread: boolean): Promise<Timing> {
  const queue = new PQueue({ concurrency: 1 });
  const priorities = Array.from({ length: TASKS }, (_, index) => (spread ? { priority: index % PRIORITIES } : {}));
  let openGate: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    openGate = resolve;
  });
  const gated = async () => {
    await gate;
    return REPLY;
  };
  const results: Promise<Reply>[] = new Array(TASKS);
  collectGarbage();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const first = queue.add(gated);
  for (let index = 0; index < TASKS; index++) results[index] = queue.add(task, priorities[index]);
  const enqueueMs = performance.now() - started;
  openGate();
  await first;
  await Promise.all(results);
  return { enqueueMs, totalMs: performance.now() - started, cpuMs: cpuMsSince(cpu) };
}

/**
 * The allow path: an idle lane, one call at a time, as the gateway sees it when the budget has room. Each call is
 * built in the loop (as the gateway builds one per request), for the bare task too. It runs before the backlog
 * scenarios and builds its calls at its own allocation site: once 100k calls from one site have lived long, V8
 * pretenures that site, and every later short-lived call from it is allocated in the old generation, which measures
 * the garbage collector rather than the queue.
 */
async function runFastPath(): Promise<{ oursNs: number; bareNs: number }> {
  const queue = createQueueStage({}, { scheduler: systemClock, upstream: 'bench' });
  const makeAllowedCall = (): Call => ({
    upstream: 'bench',
    method: 'GET',
    path: '/',
    headers: {},
    body: null,
    tenant: undefined,
    priority: 0,
    deadlineAtEpochMs: undefined,
    signal: undefined,
    cost: {},
    notes: { waitedMs: 0, attempts: 0 },
  });
  const oursNs: number[] = [];
  const bareNs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    collectGarbage();
    let started = performance.now();
    for (let index = 0; index < TASKS; index++) await queue(makeAllowedCall(), callTask);
    oursNs.push(((performance.now() - started) * 1e6) / TASKS);
    collectGarbage();
    started = performance.now();
    for (let index = 0; index < TASKS; index++) await callTask(makeAllowedCall());
    bareNs.push(((performance.now() - started) * 1e6) / TASKS);
  }
  return { oursNs: median(oursNs), bareNs: median(bareNs) };
}

/**
 * Why the queue keeps a deadline heap with one timer per lane: the bookkeeping per queued call with TASKS of them
 * live, the heap (add, then removal from the top as the lane drains) against one timer per call (set, then cleared).
 */
function runDeadlineBookkeeping(): { heapNs: number; timerNs: number } {
  const heapNs: number[] = [];
  const timerNs: number[] = [];
  const start = Date.now();
  for (let round = 0; round < ROUNDS; round++) {
    const items: DeadlineItem[] = Array.from({ length: TASKS }, (_, index) => ({
      deadlineAtEpochMs: start + 30_000 + index,
      heapIndex: -1,
    }));
    collectGarbage();
    let started = performance.now();
    const heap = createDeadlineHeap<DeadlineItem>();
    for (const item of items) addDeadline(heap, item);
    for (const item of items) removeDeadline(heap, item);
    heapNs.push(((performance.now() - started) * 1e6) / TASKS);
    collectGarbage();
    started = performance.now();
    const cancels: (() => void)[] = new Array(TASKS);
    for (let index = 0; index < TASKS; index++) cancels[index] = systemClock.setTimer(noop, 30_000 + index);
    for (const cancel of cancels) cancel();
    timerNs.push(((performance.now() - started) * 1e6) / TASKS);
  }
  return { heapNs: median(heapNs), timerNs: median(timerNs) };
}

const noop = () => {};

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

async function scenario(name: string, spread: boolean) {
  const ours: number[] = [];
  const theirs: number[] = [];
  const oursCpu: number[] = [];
  const theirsCpu: number[] = [];
  const oursEnqueue: number[] = [];
  const theirsEnqueue: number[] = [];
  // One warm-up round of each, not counted.
  await runOurs(spread);
  await runPQueue(spread);
  for (let round = 0; round < ROUNDS; round++) {
    const bare = await runBare();
    // Alternate who goes first, so neither always runs on a heap the other left behind.
    const oursFirst = round % 2 === 0;
    const first = oursFirst ? await runOurs(spread) : await runPQueue(spread);
    const second = oursFirst ? await runPQueue(spread) : await runOurs(spread);
    const [oursTiming, theirsTiming] = oursFirst ? [first, second] : [second, first];
    ours.push(((oursTiming.totalMs - bare.totalMs) * 1e6) / TASKS);
    theirs.push(((theirsTiming.totalMs - bare.totalMs) * 1e6) / TASKS);
    oursCpu.push(((oursTiming.cpuMs - bare.cpuMs) * 1e6) / TASKS);
    theirsCpu.push(((theirsTiming.cpuMs - bare.cpuMs) * 1e6) / TASKS);
    oursEnqueue.push((oursTiming.enqueueMs * 1e6) / TASKS);
    theirsEnqueue.push((theirsTiming.enqueueMs * 1e6) / TASKS);
  }
  return {
    scenario: name,
    oursNs: Math.round(median(ours)),
    pQueueNs: Math.round(median(theirs)),
    ratio: median(ours) / median(theirs),
    oursCpuNs: Math.round(median(oursCpu)),
    pQueueCpuNs: Math.round(median(theirsCpu)),
    cpuRatio: median(oursCpu) / median(theirsCpu),
    oursEnqueueNs: Math.round(median(oursEnqueue)),
    pQueueEnqueueNs: Math.round(median(theirsEnqueue)),
  };
}

async function main() {
  console.log(
    `queue benchmark: ${TASKS} tasks behind a closed gate, median of ${ROUNDS} rounds, node ${process.version}` +
      (typeof (globalThis as { gc?: unknown }).gc === 'function' ? ', gc between runs' : ''),
  );
  const fastPath = await runFastPath();
  const bookkeeping = runDeadlineBookkeeping();
  const results = [
    await scenario('one tenant, one priority', false),
    await scenario(`${TENANTS} tenants, ${PRIORITIES} priorities`, true),
  ];
  console.log('');
  console.log(
    '| scenario | ours ns/task | p-queue@9 ns/task | ours ÷ p-queue | CPU ns/task (ours / p-queue) | CPU ratio | ' +
      'enqueue ns/task (ours / p-queue) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const result of results) {
    console.log(
      `| ${result.scenario} | ${result.oursNs} | ${result.pQueueNs} | **${result.ratio.toFixed(2)}** | ` +
        `${result.oursCpuNs} / ${result.pQueueCpuNs} | ${result.cpuRatio.toFixed(2)} | ` +
        `${result.oursEnqueueNs} / ${result.pQueueEnqueueNs} |`,
    );
  }
  console.log('');
  console.log(
    `Allow path (idle lane, the call goes straight to the pacer): ${Math.round(fastPath.oursNs)} ns per call through ` +
      `the queue vs ${Math.round(fastPath.bareNs)} ns for the bare task, so +${Math.round(fastPath.oursNs - fastPath.bareNs)} ns.`,
  );
  console.log(
    `Deadline bookkeeping per queued call, ${TASKS} live: ${Math.round(bookkeeping.heapNs)} ns with the heap ` +
      `(one timer per lane) vs ${Math.round(bookkeeping.timerNs)} ns with one timer per call.`,
  );
  const passed = results.every((result) => result.ratio <= 1);
  console.log(passed ? '\ntarget met: per-task overhead ≤ p-queue in every scenario' : '\ntarget MISSED');
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    'bench/results/queue.json',
    JSON.stringify({ tasks: TASKS, rounds: ROUNDS, node: process.version, results, fastPath, bookkeeping }, null, 2),
  );
  if (!passed) process.exitCode = 1;
}

await main();
