import { createDeadlineHeap, type DeadlineItem } from './deadline-heap.js';

/**
 * The backlog of one queue lane: who is served next, with no I/O and no clock (times come in with the entries).
 *
 * Order: higher priority first; within a priority, round-robin over tenants; first in, first out within a
 * tenant. Priorities are a handful of small integers, so each has its own level (a ring of tenant queues)
 * instead of one sorted array; every operation is O(1) apart from a binary-heap step for deadlines and a
 * scan over the few priority levels when one appears or empties.
 *
 * It is a mutable structure rather than a pure function of state: at 100k queued calls, copying state per
 * operation would cost more than everything else the queue does.
 */

/** What the backlog needs of a queued entry. The link fields belong to the backlog: create them empty. */
export interface BacklogEntry extends DeadlineItem {
  readonly tenant: string | undefined;
  readonly priority: number;
  older: this | undefined;
  newer: this | undefined;
  tenantQueue: TenantQueue<this> | undefined;
}

/** The entries of one tenant at one priority, oldest first, and its place in the level's round. */
export interface TenantQueue<Entry> {
  readonly tenant: string | undefined;
  readonly level: PriorityLevel<Entry>;
  readonly places: TenantPlaces;
  oldest: Entry | undefined;
  newest: Entry | undefined;
  length: number;
  previousInRound: TenantQueue<Entry>;
  nextInRound: TenantQueue<Entry>;
}

interface PriorityLevel<Entry> {
  readonly priority: number;
  readonly tenantQueues: Map<string | undefined, TenantQueue<Entry>>;
  /** The tenant queue served next at this priority. */
  turn: TenantQueue<Entry> | undefined;
}

/** How many places a tenant holds in the whole lane, kept in a list per count to find the heaviest in O(1). */
interface TenantPlaces {
  readonly tenant: string | undefined;
  count: number;
  previousWithCount: TenantPlaces | undefined;
  nextWithCount: TenantPlaces | undefined;
}

export interface Backlog<Entry extends BacklogEntry> {
  readonly size: number;
  push(entry: Entry): void;
  /** Takes the entry that is served next, or undefined when empty. */
  shift(): Entry | undefined;
  /** Takes `entry` out (it aborted or expired); does nothing when it is no longer queued. */
  remove(entry: Entry): void;
  /** The entry whose deadline comes first. */
  earliestDeadline(): Entry | undefined;
  /**
   * When the lane is full, the entry a new call of `tenant` at `priority` may take the place of: the newest entry,
   * at its lowest priority, of the tenant holding the most places — only when that tenant would still hold at least
   * as many places as `tenant` afterwards and the entry's priority is not above the newcomer's. This is what keeps
   * one heavy tenant from locking the others out of a full lane.
   */
  displaceableFor(tenant: string | undefined, priority: number): Entry | undefined;
  /** Places `tenant` holds across all priorities. */
  placesHeldBy(tenant: string | undefined): number;
}

export function createBacklog<Entry extends BacklogEntry>(): Backlog<Entry> {
  const deadlines = createDeadlineHeap<Entry>();
  const levels = new Map<number, PriorityLevel<Entry>>();
  /** Levels with entries, highest priority first. */
  const levelsInOrder: PriorityLevel<Entry>[] = [];
  const placesByTenant = new Map<string | undefined, TenantPlaces>();
  /** holdersByCount[n] heads the list of tenants holding exactly n places. */
  const holdersByCount: (TenantPlaces | undefined)[] = [];
  let mostPlaces = 0;
  let size = 0;

  const levelFor = (priority: number): PriorityLevel<Entry> => {
    let level = levels.get(priority);
    if (level) return level;
    level = { priority, tenantQueues: new Map(), turn: undefined };
    levels.set(priority, level);
    let index = 0;
    while (index < levelsInOrder.length && (levelsInOrder[index] as PriorityLevel<Entry>).priority > priority) index++;
    levelsInOrder.splice(index, 0, level);
    return level;
  };

  const dropLevel = (level: PriorityLevel<Entry>) => {
    levels.delete(level.priority);
    levelsInOrder.splice(levelsInOrder.indexOf(level), 1);
  };

  const unlinkPlaces = (places: TenantPlaces) => {
    const { previousWithCount, nextWithCount } = places;
    if (previousWithCount) previousWithCount.nextWithCount = nextWithCount;
    else holdersByCount[places.count] = nextWithCount;
    if (nextWithCount) nextWithCount.previousWithCount = previousWithCount;
    places.previousWithCount = undefined;
    places.nextWithCount = undefined;
  };

  const linkPlaces = (places: TenantPlaces) => {
    const head = holdersByCount[places.count];
    places.nextWithCount = head;
    if (head) head.previousWithCount = places;
    holdersByCount[places.count] = places;
  };

  const addPlace = (places: TenantPlaces) => {
    if (places.count > 0) unlinkPlaces(places);
    places.count++;
    linkPlaces(places);
    if (places.count > mostPlaces) mostPlaces = places.count;
  };

  const releasePlace = (places: TenantPlaces) => {
    unlinkPlaces(places);
    places.count--;
    if (places.count > 0) linkPlaces(places);
    else placesByTenant.delete(places.tenant);
    // Counts move by one, so when the heaviest list empties the next heaviest is exactly one lower.
    if (holdersByCount[mostPlaces] === undefined && mostPlaces > 0) mostPlaces--;
  };

  const placesFor = (tenant: string | undefined): TenantPlaces => {
    let places = placesByTenant.get(tenant);
    if (!places) {
      places = { tenant, count: 0, previousWithCount: undefined, nextWithCount: undefined };
      placesByTenant.set(tenant, places);
    }
    return places;
  };

  const joinRound = (level: PriorityLevel<Entry>, queue: TenantQueue<Entry>) => {
    const turn = level.turn;
    if (!turn) {
      level.turn = queue;
      return;
    }
    // A newcomer is served last in the current round.
    queue.nextInRound = turn;
    queue.previousInRound = turn.previousInRound;
    turn.previousInRound.nextInRound = queue;
    turn.previousInRound = queue;
  };

  const leaveRound = (queue: TenantQueue<Entry>) => {
    const level = queue.level;
    level.tenantQueues.delete(queue.tenant);
    if (queue.nextInRound === queue) {
      level.turn = undefined;
      dropLevel(level);
      return;
    }
    queue.previousInRound.nextInRound = queue.nextInRound;
    queue.nextInRound.previousInRound = queue.previousInRound;
    if (level.turn === queue) level.turn = queue.nextInRound;
  };

  const tenantQueueFor = (entry: Entry): TenantQueue<Entry> => {
    const level = levelFor(entry.priority);
    let queue = level.tenantQueues.get(entry.tenant);
    if (queue) return queue;
    // The round links point at the queue itself until it joins a round: they are set right below.
    queue = {
      tenant: entry.tenant,
      level,
      places: placesFor(entry.tenant),
      oldest: undefined,
      newest: undefined,
      length: 0,
    } as TenantQueue<Entry>;
    queue.previousInRound = queue;
    queue.nextInRound = queue;
    level.tenantQueues.set(entry.tenant, queue);
    joinRound(level, queue);
    return queue;
  };

  /** Unlinks `entry` from its tenant queue; returns whether that queue is still in its round. */
  const detach = (entry: Entry): boolean => {
    const queue = entry.tenantQueue as TenantQueue<Entry>;
    entry.tenantQueue = undefined;
    const { older, newer } = entry;
    if (older) older.newer = newer;
    else queue.oldest = newer;
    if (newer) newer.older = older;
    else queue.newest = older;
    entry.older = undefined;
    entry.newer = undefined;
    queue.length--;
    size--;
    deadlines.remove(entry);
    releasePlace(queue.places);
    if (queue.length > 0) return true;
    leaveRound(queue);
    return false;
  };

  return {
    get size() {
      return size;
    },
    push(entry) {
      const queue = tenantQueueFor(entry);
      entry.tenantQueue = queue;
      entry.older = queue.newest;
      entry.newer = undefined;
      if (queue.newest) queue.newest.newer = entry;
      else queue.oldest = entry;
      queue.newest = entry;
      queue.length++;
      size++;
      addPlace(queue.places);
      deadlines.push(entry);
    },
    shift() {
      const level = levelsInOrder[0];
      const queue = level?.turn;
      const entry = queue?.oldest;
      if (!entry || !queue || !level) return undefined;
      if (detach(entry)) level.turn = queue.nextInRound;
      return entry;
    },
    remove(entry) {
      if (entry.tenantQueue) detach(entry);
    },
    earliestDeadline: () => deadlines.peek(),
    displaceableFor(tenant, priority) {
      const heaviest = holdersByCount[mostPlaces];
      if (!heaviest) return undefined;
      const held = placesByTenant.get(tenant)?.count ?? 0;
      if (heaviest.count < held + 2) return undefined;
      for (let index = levelsInOrder.length - 1; index >= 0; index--) {
        const level = levelsInOrder[index] as PriorityLevel<Entry>;
        if (level.priority > priority) return undefined;
        const victim = level.tenantQueues.get(heaviest.tenant)?.newest;
        if (victim) return victim;
      }
      return undefined;
    },
    placesHeldBy: (tenant) => placesByTenant.get(tenant)?.count ?? 0,
  };
}
