import {
  addDeadline,
  createDeadlineHeap,
  type DeadlineHeap,
  type DeadlineItem,
  earliestIn,
  removeDeadline,
} from './deadline-heap.js';

/**
 * The backlog of one queue lane: who is served next, with no I/O and no clock (times come in with the entries).
 *
 * Order: higher priority first; within a priority, round-robin over tenants; first in, first out within a
 * tenant. Priorities are a handful of small integers, so each has its own level (a ring of tenant queues)
 * instead of one sorted array; every operation is O(1) apart from a binary-heap step for deadlines and a
 * scan over the few priority levels when one appears or empties.
 *
 * It is a mutable structure rather than a pure function of state: at 100k queued calls, copying state per
 * operation would cost more than everything else the queue does. It is plain data and module functions, so every
 * lane runs the same functions (V8's call sites stay monomorphic however many lanes there are).
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

export interface PriorityLevel<Entry> {
  readonly priority: number;
  readonly tenantQueues: Map<string | undefined, TenantQueue<Entry>>;
  /** The tenant queue served next at this priority. */
  turn: TenantQueue<Entry> | undefined;
}

/** How many places a tenant holds in the whole lane, kept in a list per count to find the heaviest in O(1). */
export interface TenantPlaces {
  readonly tenant: string | undefined;
  count: number;
  previousWithCount: TenantPlaces | undefined;
  nextWithCount: TenantPlaces | undefined;
}

export interface Backlog<Entry extends BacklogEntry> {
  size: number;
  readonly deadlines: DeadlineHeap<Entry>;
  readonly levels: Map<number, PriorityLevel<Entry>>;
  /** Levels with entries, highest priority first. */
  readonly levelsInOrder: PriorityLevel<Entry>[];
  readonly placesByTenant: Map<string | undefined, TenantPlaces>;
  /** holdersByCount[n] heads the list of tenants holding exactly n places. */
  readonly holdersByCount: (TenantPlaces | undefined)[];
  mostPlaces: number;
}

export function createBacklog<Entry extends BacklogEntry>(): Backlog<Entry> {
  return {
    size: 0,
    deadlines: createDeadlineHeap<Entry>(),
    levels: new Map(),
    levelsInOrder: [],
    placesByTenant: new Map(),
    holdersByCount: [],
    mostPlaces: 0,
  };
}

export function addToBacklog<Entry extends BacklogEntry>(backlog: Backlog<Entry>, entry: Entry): void {
  const queue = tenantQueueFor(backlog, entry);
  entry.tenantQueue = queue;
  entry.older = queue.newest;
  entry.newer = undefined;
  if (queue.newest) queue.newest.newer = entry;
  else queue.oldest = entry;
  queue.newest = entry;
  queue.length++;
  backlog.size++;
  addPlace(backlog, queue.places);
  addDeadline(backlog.deadlines, entry);
}

/** Takes the entry that is served next, or undefined when empty. */
export function takeNextFromBacklog<Entry extends BacklogEntry>(backlog: Backlog<Entry>): Entry | undefined {
  const level = backlog.levelsInOrder[0];
  const queue = level?.turn;
  const entry = queue?.oldest;
  if (!entry || !queue || !level) return undefined;
  if (detach(backlog, entry)) level.turn = queue.nextInRound;
  return entry;
}

/** Takes `entry` out (it aborted, expired or was displaced); does nothing when it is no longer queued. */
export function removeFromBacklog<Entry extends BacklogEntry>(backlog: Backlog<Entry>, entry: Entry): void {
  if (entry.tenantQueue) detach(backlog, entry);
}

/** The entry whose deadline comes first. */
export function earliestDeadlineIn<Entry extends BacklogEntry>(backlog: Backlog<Entry>): Entry | undefined {
  return earliestIn(backlog.deadlines);
}

/** Places `tenant` holds across all priorities. */
export function placesHeldIn<Entry extends BacklogEntry>(backlog: Backlog<Entry>, tenant: string | undefined): number {
  return backlog.placesByTenant.get(tenant)?.count ?? 0;
}

/**
 * When the lane is full, the entry a new call of `tenant` at `priority` may take the place of: the newest entry,
 * at its lowest priority, of the tenant holding the most places — only when that tenant would still hold at least
 * as many places as `tenant` afterwards and the entry's priority is not above the newcomer's. This is what keeps
 * one heavy tenant from locking the others out of a full lane.
 */
export function displaceableIn<Entry extends BacklogEntry>(
  backlog: Backlog<Entry>,
  tenant: string | undefined,
  priority: number,
): Entry | undefined {
  const heaviest = backlog.holdersByCount[backlog.mostPlaces];
  if (!heaviest) return undefined;
  if (heaviest.count < placesHeldIn(backlog, tenant) + 2) return undefined;
  const levels = backlog.levelsInOrder;
  for (let index = levels.length - 1; index >= 0; index--) {
    const level = levels[index] as PriorityLevel<Entry>;
    if (level.priority > priority) return undefined;
    const victim = level.tenantQueues.get(heaviest.tenant)?.newest;
    if (victim) return victim;
  }
  return undefined;
}

/** Unlinks `entry` from its tenant queue; returns whether that queue is still in its round. */
function detach<Entry extends BacklogEntry>(backlog: Backlog<Entry>, entry: Entry): boolean {
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
  backlog.size--;
  removeDeadline(backlog.deadlines, entry);
  releasePlace(backlog, queue.places);
  if (queue.length > 0) return true;
  leaveRound(backlog, queue);
  return false;
}

function levelFor<Entry extends BacklogEntry>(backlog: Backlog<Entry>, priority: number): PriorityLevel<Entry> {
  let level = backlog.levels.get(priority);
  if (level) return level;
  level = { priority, tenantQueues: new Map(), turn: undefined };
  backlog.levels.set(priority, level);
  const levels = backlog.levelsInOrder;
  let index = 0;
  while (index < levels.length && (levels[index] as PriorityLevel<Entry>).priority > priority) index++;
  levels.splice(index, 0, level);
  return level;
}

function tenantQueueFor<Entry extends BacklogEntry>(backlog: Backlog<Entry>, entry: Entry): TenantQueue<Entry> {
  const level = levelFor(backlog, entry.priority);
  let queue = level.tenantQueues.get(entry.tenant);
  if (queue) return queue;
  // The round links point at the queue itself until it joins a round: they are set right below.
  queue = {
    tenant: entry.tenant,
    level,
    places: placesFor(backlog, entry.tenant),
    oldest: undefined,
    newest: undefined,
    length: 0,
  } as TenantQueue<Entry>;
  queue.previousInRound = queue;
  queue.nextInRound = queue;
  level.tenantQueues.set(entry.tenant, queue);
  joinRound(level, queue);
  return queue;
}

function joinRound<Entry>(level: PriorityLevel<Entry>, queue: TenantQueue<Entry>): void {
  const turn = level.turn;
  if (!turn) {
    level.turn = queue;
    return;
  }
  // A newcomer is served after every tenant already waiting at this priority has had its turn.
  queue.nextInRound = turn;
  queue.previousInRound = turn.previousInRound;
  turn.previousInRound.nextInRound = queue;
  turn.previousInRound = queue;
}

function leaveRound<Entry extends BacklogEntry>(backlog: Backlog<Entry>, queue: TenantQueue<Entry>): void {
  const level = queue.level;
  level.tenantQueues.delete(queue.tenant);
  if (queue.nextInRound === queue) {
    level.turn = undefined;
    backlog.levels.delete(level.priority);
    backlog.levelsInOrder.splice(backlog.levelsInOrder.indexOf(level), 1);
    return;
  }
  queue.previousInRound.nextInRound = queue.nextInRound;
  queue.nextInRound.previousInRound = queue.previousInRound;
  if (level.turn === queue) level.turn = queue.nextInRound;
}

function placesFor<Entry extends BacklogEntry>(backlog: Backlog<Entry>, tenant: string | undefined): TenantPlaces {
  let places = backlog.placesByTenant.get(tenant);
  if (!places) {
    places = { tenant, count: 0, previousWithCount: undefined, nextWithCount: undefined };
    backlog.placesByTenant.set(tenant, places);
  }
  return places;
}

function unlinkPlaces<Entry extends BacklogEntry>(backlog: Backlog<Entry>, places: TenantPlaces): void {
  const { previousWithCount, nextWithCount } = places;
  if (previousWithCount) previousWithCount.nextWithCount = nextWithCount;
  else backlog.holdersByCount[places.count] = nextWithCount;
  if (nextWithCount) nextWithCount.previousWithCount = previousWithCount;
  places.previousWithCount = undefined;
  places.nextWithCount = undefined;
}

function linkPlaces<Entry extends BacklogEntry>(backlog: Backlog<Entry>, places: TenantPlaces): void {
  const head = backlog.holdersByCount[places.count];
  places.nextWithCount = head;
  if (head) head.previousWithCount = places;
  backlog.holdersByCount[places.count] = places;
}

function addPlace<Entry extends BacklogEntry>(backlog: Backlog<Entry>, places: TenantPlaces): void {
  if (places.count > 0) unlinkPlaces(backlog, places);
  places.count++;
  linkPlaces(backlog, places);
  if (places.count > backlog.mostPlaces) backlog.mostPlaces = places.count;
}

function releasePlace<Entry extends BacklogEntry>(backlog: Backlog<Entry>, places: TenantPlaces): void {
  unlinkPlaces(backlog, places);
  places.count--;
  if (places.count > 0) linkPlaces(backlog, places);
  else backlog.placesByTenant.delete(places.tenant);
  // Counts move by one, so when the heaviest list empties the next heaviest is exactly one lower.
  if (backlog.holdersByCount[backlog.mostPlaces] === undefined && backlog.mostPlaces > 0) backlog.mostPlaces--;
}
