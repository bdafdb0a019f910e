/**
 * A binary min-heap of items ordered by deadline, where every item knows its own index so it can leave from the
 * middle (served or aborted) in O(log n). The queue keeps one per lane, so a lane needs one timer for its
 * earliest deadline instead of one timer per queued call.
 */

export interface DeadlineItem {
  deadlineAtEpochMs: number;
  /** Position in the heap, or -1 when the item is not in it. Owned by the heap. */
  heapIndex: number;
}

export interface DeadlineHeap<Item extends DeadlineItem> {
  readonly size: number;
  /** The item with the earliest deadline, or undefined when empty. */
  peek(): Item | undefined;
  push(item: Item): void;
  /** Takes `item` out wherever it is; does nothing when it is not in the heap. */
  remove(item: Item): void;
}

export function createDeadlineHeap<Item extends DeadlineItem>(): DeadlineHeap<Item> {
  const items: Item[] = [];

  const place = (item: Item, index: number) => {
    items[index] = item;
    item.heapIndex = index;
  };

  const siftUp = (item: Item, start: number) => {
    let index = start;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex] as Item;
      if (parent.deadlineAtEpochMs <= item.deadlineAtEpochMs) break;
      place(parent, index);
      index = parentIndex;
    }
    place(item, index);
  };

  const siftDown = (item: Item, start: number) => {
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
      place(child, index);
      index = childIndex;
    }
    place(item, index);
  };

  return {
    get size() {
      return items.length;
    },
    peek: () => items[0],
    push(item) {
      items.push(item);
      siftUp(item, items.length - 1);
    },
    remove(item) {
      const index = item.heapIndex;
      if (index < 0 || items[index] !== item) return;
      item.heapIndex = -1;
      const last = items.pop() as Item;
      if (index === items.length) return;
      // The last item fills the hole; it may belong above or below it.
      const parent = index > 0 ? items[(index - 1) >> 1] : undefined;
      if (parent && last.deadlineAtEpochMs < parent.deadlineAtEpochMs) siftUp(last, index);
      else siftDown(last, index);
    },
  };
}
