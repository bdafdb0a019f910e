/**
 * createBatcher: many single-item loads become one call of a batch function (DataLoader's idea). Items asked for
 * within `maxWaitMs` of the first (or in the same tick, by default) go together, at most `maxBatch` at a time;
 * equal keys share one place in the batch. The batch function answers per item, and an item can fail alone.
 */
import { InvalidOptionError, SluiceError } from '../errors.js';
import { type Scheduler, systemClock } from '../time.js';

/** Results in the order of the inputs, or by key. An `Error` in place of a result fails that item only. */
export type BatchResults<Key, Output> = ReadonlyArray<Output | Error> | ReadonlyMap<Key, Output | Error>;

export type BatchFunction<Input, Output, Key> = (
  inputs: Input[],
) => Promise<BatchResults<Key, Output>> | BatchResults<Key, Output>;

export interface BatcherOptions<Input, Key> {
  /** Most items per call of the batch function. Default 100. */
  maxBatch?: number;
  /** How long the first item of a batch waits for others. Default 0: items asked for in the same tick go together. */
  maxWaitMs?: number;
  /** An item's identity: items with equal keys are sent once and share the result. Default: the input itself. */
  key?: (input: Input) => Key;
  /** Runs the maxWaitMs timer (inject a manual clock in tests). Default: the system clock. */
  scheduler?: Scheduler;
}

export interface BatchLoadOptions {
  /** Abandons this item (the others of its batch go on; an item nobody waits for any more is not sent). */
  signal?: AbortSignal;
}

export interface Batcher<Input, Output> {
  load(input: Input, options?: BatchLoadOptions): Promise<Output>;
  /** Loads several items; each failure is returned in its place rather than thrown. */
  loadMany(inputs: readonly Input[], options?: BatchLoadOptions): Promise<Array<Output | Error>>;
  /** Sends the items collected so far now, without waiting for maxWaitMs. */
  flush(): void;
  /** Items collected and not yet sent. */
  readonly pending: number;
}

/** The batch function gave no result for an item, or results that do not line up with the inputs. */
export class BatchResultError extends SluiceError {
  constructor(message: string) {
    super('ERR_SLUICE_BATCH_RESULT', message);
    this.name = 'BatchResultError';
  }
}

interface Waiter<Output> {
  resolve(output: Output): void;
  reject(error: unknown): void;
  cleanup: (() => void) | null;
}

interface Item<Input, Output> {
  input: Input;
  waiters: Set<Waiter<Output>>;
}

interface PendingBatch<Input, Output, Key> {
  items: Map<Key, Item<Input, Output>>;
  cancelTimer: (() => void) | null;
}

function checkOptions(options: BatcherOptions<unknown, unknown>): { maxBatch: number; maxWaitMs: number } {
  const maxBatch = options.maxBatch ?? 100;
  const maxWaitMs = options.maxWaitMs ?? 0;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) {
    throw new InvalidOptionError('maxBatch', `expected a positive integer, got ${JSON.stringify(maxBatch)}`);
  }
  if (typeof maxWaitMs !== 'number' || !Number.isFinite(maxWaitMs) || maxWaitMs < 0) {
    throw new InvalidOptionError('maxWaitMs', `expected non-negative milliseconds, got ${JSON.stringify(maxWaitMs)}`);
  }
  return { maxBatch, maxWaitMs };
}

export function createBatcher<Input, Output, Key = Input>(
  batchFunction: BatchFunction<Input, Output, Key>,
  options: BatcherOptions<Input, Key> = {},
): Batcher<Input, Output> {
  if (typeof batchFunction !== 'function') {
    throw new InvalidOptionError('batchFunction', `expected a function of the inputs, got ${typeof batchFunction}`);
  }
  const { maxBatch, maxWaitMs } = checkOptions(options as BatcherOptions<unknown, unknown>);
  const keyOf = options.key ?? ((input: Input) => input as unknown as Key);
  const scheduler = options.scheduler ?? systemClock;
  let current: PendingBatch<Input, Output, Key> | null = null;

  function settle(waiter: Waiter<Output>): void {
    waiter.cleanup?.();
    waiter.cleanup = null;
  }

  function schedule(batch: PendingBatch<Input, Output, Key>): void {
    if (maxWaitMs > 0) {
      batch.cancelTimer = scheduler.setTimer(() => send(batch), maxWaitMs);
      return;
    }
    // After the promise jobs of this tick, so that loads chained on one another's results still join (DataLoader).
    let cancelled = false;
    batch.cancelTimer = () => {
      cancelled = true;
    };
    Promise.resolve().then(() =>
      process.nextTick(() => {
        if (!cancelled) send(batch);
      }),
    );
  }

  function deliver(items: Item<Input, Output>[], keys: Key[], results: BatchResults<Key, Output>): void {
    const byIndex = Array.isArray(results) ? (results as ReadonlyArray<Output | Error>) : null;
    if (byIndex !== null && byIndex.length !== items.length) {
      const error = new BatchResultError(
        `the batch function returned ${byIndex.length} results for ${items.length} inputs; return one per input, in order (or a Map by key)`,
      );
      for (const item of items) fail(item, error);
      return;
    }
    const byKey = byIndex === null ? (results as ReadonlyMap<Key, Output | Error>) : null;
    if (byIndex === null && !(byKey instanceof Map)) {
      const error = new BatchResultError(
        'the batch function must return an array (one result per input) or a Map by key',
      );
      for (const item of items) fail(item, error);
      return;
    }
    items.forEach((item, index) => {
      const key = keys[index] as Key;
      if (byKey !== null && !byKey.has(key)) {
        fail(item, new BatchResultError(`the batch function returned no result for ${JSON.stringify(key)}`));
        return;
      }
      const result = byIndex !== null ? byIndex[index] : byKey?.get(key);
      if (result instanceof Error) {
        fail(item, result);
        return;
      }
      for (const waiter of item.waiters) {
        settle(waiter);
        waiter.resolve(result as Output);
      }
    });
  }

  function fail(item: Item<Input, Output>, error: unknown): void {
    for (const waiter of item.waiters) {
      settle(waiter);
      waiter.reject(error);
    }
  }

  function send(batch: PendingBatch<Input, Output, Key>): void {
    if (current === batch) current = null;
    batch.cancelTimer?.();
    batch.cancelTimer = null;
    const keys: Key[] = [];
    const items: Item<Input, Output>[] = [];
    for (const [key, item] of batch.items) {
      if (item.waiters.size === 0) continue;
      keys.push(key);
      items.push(item);
    }
    batch.items.clear();
    if (items.length === 0) return;
    let results: Promise<BatchResults<Key, Output>>;
    try {
      results = Promise.resolve(batchFunction(items.map((item) => item.input)));
    } catch (error) {
      results = Promise.reject(error);
    }
    results.then(
      (answered) => deliver(items, keys, answered),
      (error) => {
        for (const item of items) fail(item, error);
      },
    );
  }

  function load(input: Input, loadOptions: BatchLoadOptions = {}): Promise<Output> {
    const signal = loadOptions.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    let key: Key;
    try {
      key = keyOf(input);
    } catch (error) {
      return Promise.reject(error);
    }
    if (current === null) {
      current = { items: new Map(), cancelTimer: null };
      schedule(current);
    }
    const batch = current;
    let item = batch.items.get(key);
    if (!item) {
      item = { input, waiters: new Set() };
      batch.items.set(key, item);
    }
    const joined = item;
    const promise = new Promise<Output>((resolve, reject) => {
      const waiter: Waiter<Output> = { resolve, reject, cleanup: null };
      joined.waiters.add(waiter);
      if (signal) {
        const onAbort = () => {
          joined.waiters.delete(waiter);
          settle(waiter);
          reject(signal.reason);
          // An item nobody waits for is dropped from a batch not yet sent.
          if (joined.waiters.size === 0 && batch.items.get(key) === joined) batch.items.delete(key);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
    });
    if (batch.items.size >= maxBatch) send(batch);
    return promise;
  }

  return {
    load,
    loadMany: (inputs, loadOptions) =>
      Promise.all(inputs.map((input) => load(input, loadOptions).catch((error: unknown) => toError(error)))),
    flush() {
      if (current) send(current);
    },
    get pending() {
      return current?.items.size ?? 0;
    },
  };
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
