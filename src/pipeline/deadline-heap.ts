/**
 * A binary min-heap of items ordered by deadline, where every item knows its own index so it can leave from the
 * middle (served or aborted) in O(log n). The queue keeps one per lane, so a lane needs one timer for its
 * earliest deadline instead of one timer per queued call.
 *
 * Plain data and module functions (not a closure per heap): every heap then runs the same functions, which keeps
 * V8's call sites monomorphic when there are many lanes.
 */

export interface DeadlineItem {
  deadlineAtEpochMs: number;
  /** Position in the heap, or -1 when the item is not in it. Owned by the heap. */
  heapIndex: number;
}

export interface DeadlineHeap<Item extends DeadlineItem> {
  readonly items: Item[];
}

export function createDeadlineHeap<Item extends DeadlineItem>(): DeadlineHeap<Item> {
  return { items: [] };
}

/** The item with the earliest deadline, or undefined when empty. */
export function earliestIn<Item extends DeadlineItem>(heap: DeadlineHeap<Item>): Item | undefined {
  return heap.items[0];
}

export function addDeadline<Item extends DeadlineItem>(heap: DeadlineHeap<Item>, item: Item): void {
  heap.items.push(item);
  siftUp(heap.items, item, heap.items.length - 1);
}

/** Takes `item` out wherever it is; does nothing when it is not in the heap. */
export function removeDeadline<Item extends DeadlineItem>(heap: DeadlineHeap<Item>, item: Item): void {
  const items = heap.items;
  const index = item.heapIndex;
  if (index < 0 || items[index] !== item) return;
  item.heapIndex = -1;
  const last = items.pop() as Item;
  if (index === items.length) return;
  // The last item fills the hole; it may belong above or below it.
  const parent = index > 0 ? items[(index - 1) >> 1] : undefined;
  if (parent && last.deadlineAtEpochMs < parent.deadlineAtEpochMs) siftUp(items, last, index);
  else siftDown(items, last, index);
}

function place<Item extends DeadlineItem>(items: Item[], item: Item, index: number): void {
  items[index] = item;
  item.heapIndex = index;
}

function siftUp<Item extends DeadlineItem>(items: Item[], item: Item, start: number): void {
  let index = start;
  while (index > 0) {
    const parentIndex = (index - 1) >> 1;
    const parent = items[parentIndex] as Item;
    if (parent.deadlineAtEpochMs <= item.deadlineAtEpochMs) break;
    place(items, parent, index);
    index = parentIndex;
  }
  place(items, item, index);
}

function siftDown<Item extends DeadlineItem>(items: Item[], item: Item, start: number): void {
  const length = items.length;
  let index = start;
  for (;;) {
    const leftIndex = 2 * index + 1;
    if (leftIndex >= length) break;
    const rightIndex = leftIndex + 1;
    let childIndex = leftIndex;
    let child = items[leftIndex] as Item;
    if (rightIndex < length) {
      const right = items[rightIndex] as Item;
      if (right.deadlineAtEpochMs < child.deadlineAtEpochMs) {
        childIndex = rightIndex;
        child = right;
      }
    }
    if (child.deadlineAtEpochMs >= item.deadlineAtEpochMs) break;
    place(items, child, index);
    index = childIndex;
  }
  place(items, item, index);
}
