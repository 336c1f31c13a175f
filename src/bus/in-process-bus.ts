import type { BusMessage, UpdateBus } from '../collab/ports.ts';

/**
 * The bus of a single node: nobody else to tell. It still delivers to subscribers in this
 * process, so the rooms' code path is the same with and without Redis.
 */
export function createInProcessBus(): UpdateBus & { close(): Promise<void> } {
  const handlers = new Map<string, Set<(message: BusMessage) => void>>();
  return {
    distributed: false,
    async subscribe(documentId, handler) {
      const set = handlers.get(documentId) ?? new Set();
      set.add(handler);
      handlers.set(documentId, set);
      return async () => {
        set.delete(handler);
        if (set.size === 0) handlers.delete(documentId);
      };
    },
    publish(documentId, message) {
      for (const handler of handlers.get(documentId) ?? []) handler(message);
    },
    onReconnect() {
      // never disconnects
    },
    async close() {
      handlers.clear();
    },
  };
}
