/**
 * Budgets as a shared store keeps them: each budget's state (the pure core's plain data) plus the reservations
 * each holder — one store instance, in one process — has made and not settled yet. A holder that dies never
 * settles its reservations; they are recognised by its missing heartbeat and settled for it, so the calls it had
 * in flight stop counting against everyone's budget (as if they had failed without a reply).
 *
 * Pure functions over records: the Redis store loads records, applies a batch of admit/observe operations with
 * these, and writes the result back with a compare-and-set. They mirror the memory store operation by operation,
 * so both stores decide alike (test/budget/conformance.ts).
 */
import type { Cost } from '../pipeline/stage.js';
import { admitCall, createBudgetState, observeReply, settleReservation } from './core.js';
import type {
  AdmitDecision,
  BudgetKey,
  BudgetPolicy,
  BudgetState,
  Observation,
  Reservation,
  Settlement,
} from './types.js';

/** A reservation held on one budget: the budget's sequence number for it, when it was made, and its cost. */
export type HeldReservation = [sequence: number, admittedAtEpochMs: number, cost: Cost];

export interface BudgetRecord {
  /** The budget's key (as the pacer names it). */
  key: string;
  state: BudgetState;
  /** Unsettled reservations by holder id. */
  held: Record<string, HeldReservation[]>;
}

/** Records loaded for one batch, by budget key; null: no such budget yet. */
export type RecordTable = Map<string, BudgetRecord | null>;

export interface RecordContext {
  nowEpochMs: number;
  policy: BudgetPolicy;
  /** The holder of reservations made here. */
  holder: string;
}

function recordFor(table: RecordTable, key: BudgetKey, nowEpochMs: number): BudgetRecord {
  let record = table.get(key.key);
  if (!record) {
    record = { key: key.key, state: createBudgetState(nowEpochMs, key.configured), held: {} };
    table.set(key.key, record);
  }
  return record;
}

/**
 * Settles, for its holder, every reservation whose holder is no longer live (its heartbeat lapsed) or that is
 * older than `maxHoldMs` (its outcome was lost: a write whose answer never came). Returns how many.
 */
export function reclaimAbandoned(
  record: BudgetRecord,
  isLive: (holder: string) => boolean,
  nowEpochMs: number,
  maxHoldMs: number,
): number {
  let reclaimed = 0;
  for (const holder of Object.keys(record.held)) {
    const reservations = record.held[holder] as HeldReservation[];
    const live = isLive(holder);
    const kept = live ? reservations.filter(([, admittedAtEpochMs]) => admittedAtEpochMs + maxHoldMs > nowEpochMs) : [];
    if (kept.length === reservations.length) continue;
    for (const held of reservations) {
      if (kept.includes(held)) continue;
      settleReservation(record.state, { reservation: reservationOf(record.key, held) });
      reclaimed++;
    }
    if (kept.length === 0) delete record.held[holder];
    else record.held[holder] = kept;
  }
  return reclaimed;
}

function reservationOf(key: string, [sequence, admittedAtEpochMs, cost]: HeldReservation): Reservation {
  return { keys: [key], cost, sequences: [sequence], admittedAtEpochMs };
}

/** `BudgetStore.admit` over loaded records (memory-store.ts's admit, plus the held reservations). */
export function admitOnRecords(
  table: RecordTable,
  keys: readonly BudgetKey[],
  cost: Cost,
  priority: number,
  context: RecordContext,
): AdmitDecision {
  const { nowEpochMs } = context;
  const records = keys.map((key) => recordFor(table, key, nowEpochMs));
  const names = keys.map((key) => key.key);
  const result = admitCall(
    records.map((record) => record.state),
    names,
    cost,
    nowEpochMs,
    context.policy,
    priority,
  );
  if (!result.admitted) {
    return {
      admitted: false,
      waitMs: result.waitMs,
      why: result.why,
      key: names[result.keyIndex] ?? '',
      quotaExhausted: result.quotaExhausted,
    };
  }
  records.forEach((record, index) => {
    const held = record.held[context.holder] ?? [];
    held.push([result.sequences[index] as number, nowEpochMs, cost]);
    record.held[context.holder] = held;
  });
  return {
    admitted: true,
    reservation: { keys: names, cost, sequences: result.sequences, admittedAtEpochMs: nowEpochMs },
  };
}

/** Removes the holder's reservation `sequence` from the record; false when it is not held (already reclaimed). */
function releaseHeld(record: BudgetRecord, holder: string, sequence: number): boolean {
  const held = record.held[holder];
  const index = held ? held.findIndex(([heldSequence]) => heldSequence === sequence) : -1;
  if (!held || index < 0) return false;
  held.splice(index, 1);
  if (held.length === 0) delete record.held[holder];
  return true;
}

/**
 * `BudgetStore.observe` over loaded records (memory-store.ts's observe). A reservation is settled only where it is
 * still held, so a settlement that arrives after its holder was presumed dead is not counted twice.
 */
export function observeOnRecords(
  table: RecordTable,
  observation: Observation,
  settlement: Settlement | undefined,
  context: RecordContext,
): void {
  const { nowEpochMs } = context;
  const reservation = settlement?.reservation;
  if (settlement && reservation) {
    reservation.keys.forEach((key, index) => {
      const record = table.get(key);
      if (record && releaseHeld(record, context.holder, reservation.sequences[index] ?? -1)) {
        settleReservation(record.state, settlement);
      }
    });
  }
  if (observation.signalKey !== null) {
    const index = reservation ? reservation.keys.indexOf(observation.signalKey) : -1;
    const sequence = index >= 0 ? (reservation?.sequences[index] ?? 0) : 0;
    const record = recordFor(table, { key: observation.signalKey }, nowEpochMs);
    observeReply(
      record.state,
      observation,
      nowEpochMs,
      context.policy,
      sequence,
      reservation?.admittedAtEpochMs ?? null,
    );
  }
}

/** The budget keys an operation touches, in the order it names them. */
export function keysOfObservation(observation: Observation, settlement: Settlement | undefined): string[] {
  const keys = settlement ? [...settlement.reservation.keys] : [];
  if (observation.signalKey !== null && !keys.includes(observation.signalKey)) keys.push(observation.signalKey);
  return keys;
}

/**
 * How long a record must be kept: a budget untouched for `idleExpiryMs` is forgotten (its windows are long over),
 * but never while it holds a cool-down, a spent quota or reservations.
 */
export function recordTimeToLiveMs(record: BudgetRecord, nowEpochMs: number, policy: BudgetPolicy): number {
  const { state } = record;
  return Math.max(
    policy.idleExpiryMs,
    state.coolDownUntilEpochMs - nowEpochMs,
    state.quotaExhaustedUntilEpochMs - nowEpochMs,
    Object.keys(record.held).length > 0 ? 2 * policy.idleExpiryMs : 0,
    1,
  );
}
