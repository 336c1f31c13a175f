/**
 * Updates that build on content the room never saw wait in the Y.Doc's pending store (Yjs
 * integrates them once their dependencies arrive). They are neither applied nor logged, so
 * they must not be acknowledged yet, and they must not grow without bound (failure-modes.md:
 * pending structs sit in memory forever). The policy here knows nothing of Hocuspocus: the
 * store is reached through `PendingStore`.
 */
export interface PendingStore {
  /** Bytes waiting for missing dependencies; 0 when nothing waits. */
  bytes(): number;
  /** Forgets everything that waits. */
  drop(): void;
}

/** What to do after a client's message. */
export type PendingAction =
  /** Nothing waits, or nothing changed since we last asked the client. */
  | 'none'
  /** Something new waits: ask the client for what we are missing (Sync Step 1). */
  | 'ask-for-missing'
  /** Over the cap: it was forgotten; whoever waited for it is told it will never integrate. */
  | 'dropped';

export class PendingDroppedError extends Error {
  constructor(reason: string) {
    super(`Updates waiting for missing dependencies were dropped: ${reason}`);
    this.name = 'PendingDroppedError';
  }
}

export function createPendingGuard(store: PendingStore, maxBytes: number) {
  let askedAt = 0;
  let waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  const settle = (error?: Error) => {
    const settled = waiters;
    waiters = [];
    for (const waiter of settled) if (error) waiter.reject(error);
    else waiter.resolve();
  };

  return {
    afterMessage(): PendingAction {
      const size = store.bytes();
      if (size === 0) {
        askedAt = 0;
        settle();
        return 'none';
      }
      if (size > maxBytes) {
        store.drop();
        askedAt = 0;
        settle(new PendingDroppedError(`${size} bytes exceed the cap of ${maxBytes}`));
        return 'dropped';
      }
      if (size === askedAt) return 'none';
      askedAt = size;
      return 'ask-for-missing';
    },

    /** After any change of the document (an update from another node may complete what waits). */
    afterTransaction(): void {
      if (waiters.length > 0 && store.bytes() === 0) settle();
    },

    waiting(): boolean {
      return store.bytes() > 0;
    },

    /** Resolves once nothing waits (at once if nothing does); rejects if what waits is dropped. */
    whenIntegrated(): Promise<void> {
      if (store.bytes() === 0) return Promise.resolve();
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },

    /** The document unloads: what waited will never integrate here. */
    close(): void {
      settle(new PendingDroppedError('the document was unloaded'));
    },
  };
}

export type PendingGuard = ReturnType<typeof createPendingGuard>;
