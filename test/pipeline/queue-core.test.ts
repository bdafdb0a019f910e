import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addDeadline,
  createDeadlineHeap,
  type DeadlineItem,
  earliestIn,
  removeDeadline,
} from '../../src/pipeline/deadline-heap.js';
import {
  addToBacklog,
  type BacklogEntry,
  createBacklog,
  displaceableIn,
  earliestDeadlineIn,
  placesHeldIn,
  removeFromBacklog,
  takeNextFromBacklog,
} from '../../src/pipeline/queue-core.js';

interface Entry extends BacklogEntry {
  id: number;
}

let nextId = 0;
function entry(tenant: string | undefined, priority: number, deadlineAtEpochMs = 0): Entry {
  return {
    id: nextId++,
    tenant,
    priority,
    deadlineAtEpochMs,
    heapIndex: -1,
    older: undefined,
    newer: undefined,
    tenantQueue: undefined,
  };
}

const tenantArbitrary = fc.constantFrom<string | undefined>('a', 'b', 'c', 'd', undefined);
const priorityArbitrary = fc.integer({ min: -1, max: 2 });

type Operation =
  | { kind: 'push'; tenant: string | undefined; priority: number; deadline: number }
  | { kind: 'shift' }
  | { kind: 'remove'; pick: number }
  | { kind: 'displace'; tenant: string | undefined; priority: number };

const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({
    kind: fc.constant('push' as const),
    tenant: tenantArbitrary,
    priority: priorityArbitrary,
    deadline: fc.integer({ min: 0, max: 1000 }),
  }),
  fc.record({ kind: fc.constant('shift' as const) }),
  fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('displace' as const), tenant: tenantArbitrary, priority: priorityArbitrary }),
);

describe('deadline heap', () => {
  it('always offers the earliest deadline, whatever leaves from where', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constant(-1)), { maxLength: 300 }),
        (steps) => {
          const heap = createDeadlineHeap<DeadlineItem>();
          const live: DeadlineItem[] = [];
          for (const [index, step] of steps.entries()) {
            if (step >= 0) {
              const item = { deadlineAtEpochMs: step, heapIndex: -1 };
              addDeadline(heap, item);
              live.push(item);
            } else if (live.length > 0) {
              const [item] = live.splice(index % live.length, 1) as [DeadlineItem];
              removeDeadline(heap, item);
              removeDeadline(heap, item);
              expect(item.heapIndex).toBe(-1);
            }
            expect(heap.items.length).toBe(live.length);
            const earliest = Math.min(...live.map((item) => item.deadlineAtEpochMs));
            expect(earliestIn(heap)?.deadlineAtEpochMs ?? Number.POSITIVE_INFINITY).toBe(earliest);
          }
        },
      ),
    );
  });
});

describe('backlog', () => {
  it('serves the highest priority first, FIFO within a tenant, and picks displaced entries by the rule', () => {
    fc.assert(
      fc.property(fc.array(operationArbitrary, { maxLength: 200 }), (operations) => {
        const backlog = createBacklog<Entry>();
        // The model: live entries in arrival order.
        const live: Entry[] = [];
        const placesOf = (tenant: string | undefined) => live.filter((item) => item.tenant === tenant).length;
        for (const operation of operations) {
          if (operation.kind === 'push') {
            const item = entry(operation.tenant, operation.priority, operation.deadline);
            addToBacklog(backlog, item);
            live.push(item);
          } else if (operation.kind === 'shift') {
            const served = takeNextFromBacklog(backlog);
            if (live.length === 0) {
              expect(served).toBeUndefined();
              continue;
            }
            if (!served) throw new Error('expected an entry');
            const highest = Math.max(...live.map((item) => item.priority));
            expect(served.priority).toBe(highest);
            const oldestOfItsKind = live.find(
              (item) => item.tenant === served.tenant && item.priority === served.priority,
            );
            expect(served).toBe(oldestOfItsKind);
            live.splice(live.indexOf(served), 1);
          } else if (operation.kind === 'remove') {
            if (live.length === 0) continue;
            const [item] = live.splice(operation.pick % live.length, 1) as [Entry];
            removeFromBacklog(backlog, item);
            removeFromBacklog(backlog, item);
          } else {
            const victim = displaceableIn(backlog, operation.tenant, operation.priority);
            const counts = [...new Set(live.map((item) => item.tenant))].map(placesOf);
            const most = counts.length > 0 ? Math.max(...counts) : 0;
            if (victim) {
              expect(placesOf(victim.tenant)).toBe(most);
              expect(most).toBeGreaterThanOrEqual(placesOf(operation.tenant) + 2);
              const ofTenant = live.filter((item) => item.tenant === victim.tenant);
              const lowest = Math.min(...ofTenant.map((item) => item.priority));
              expect(victim.priority).toBe(lowest);
              expect(victim.priority).toBeLessThanOrEqual(operation.priority);
              expect(victim).toBe(ofTenant.filter((item) => item.priority === lowest).at(-1));
            } else if (most >= placesOf(operation.tenant) + 2) {
              // Refused although a tenant is heavier: only when every heaviest tenant's lowest entry outranks it.
              const heaviest = [...new Set(live.map((item) => item.tenant))].filter((t) => placesOf(t) === most);
              for (const tenant of heaviest) {
                const lowest = Math.min(...live.filter((item) => item.tenant === tenant).map((item) => item.priority));
                expect(lowest).toBeGreaterThan(operation.priority);
              }
            }
          }
          expect(backlog.size).toBe(live.length);
          for (const tenant of ['a', 'b', 'c', 'd', undefined]) {
            expect(placesHeldIn(backlog, tenant)).toBe(placesOf(tenant));
          }
          const earliest = Math.min(...live.map((item) => item.deadlineAtEpochMs));
          expect(earliestDeadlineIn(backlog)?.deadlineAtEpochMs ?? Number.POSITIVE_INFINITY).toBe(earliest);
        }
      }),
    );
  });

  it('serves tenants in rounds: nobody a second time before every waiting tenant had a turn', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ tenant: tenantArbitrary, priority: priorityArbitrary }), { maxLength: 120 }),
        (arrivals) => {
          const backlog = createBacklog<Entry>();
          for (const { tenant, priority } of arrivals) addToBacklog(backlog, entry(tenant, priority));
          const remaining = new Map<string, number>();
          const key = (tenant: string | undefined, priority: number) => `${priority}:${tenant}`;
          for (const { tenant, priority } of arrivals) {
            remaining.set(key(tenant, priority), (remaining.get(key(tenant, priority)) ?? 0) + 1);
          }
          let roundPriority: number | undefined;
          let owedTurn = new Set<string>();
          for (let served = takeNextFromBacklog(backlog); served; served = takeNextFromBacklog(backlog)) {
            const servedKey = key(served.tenant, served.priority);
            if (served.priority !== roundPriority || owedTurn.size === 0) {
              roundPriority = served.priority;
              owedTurn = new Set(
                [...remaining].filter(([k, count]) => count > 0 && k.startsWith(`${served.priority}:`)).map(([k]) => k),
              );
            }
            expect(owedTurn.has(servedKey)).toBe(true);
            owedTurn.delete(servedKey);
            remaining.set(servedKey, (remaining.get(servedKey) ?? 0) - 1);
          }
          expect(backlog.size).toBe(0);
        },
      ),
    );
  });
});
