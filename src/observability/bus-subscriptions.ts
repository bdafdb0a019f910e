import type { CallEventListener, EventBus } from '../pipeline/events.js';

/**
 * One subscription per event bus however many pipelines share it: the gateway gives every upstream's pipeline the
 * same bus, and watching each of them must not hand every event to the listener once per pipeline.
 */
export interface BusSubscriptions {
  /** Subscribes the listener to `bus` unless it already is; the returned function releases this hold only. */
  hold(bus: EventBus): () => void;
}

export function createBusSubscriptions(listener: CallEventListener): BusSubscriptions {
  const held = new Map<EventBus, { holds: number; unsubscribe: () => void }>();
  return {
    hold(bus) {
      let entry = held.get(bus);
      if (!entry) {
        entry = { holds: 0, unsubscribe: bus.subscribe(listener) };
        held.set(bus, entry);
      }
      entry.holds++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const current = held.get(bus);
        if (!current || --current.holds > 0) return;
        held.delete(bus);
        current.unsubscribe();
      };
    },
  };
}
