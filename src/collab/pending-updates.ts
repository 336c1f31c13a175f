import * as Y from 'yjs';

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

/**
 * Whether everything `update` (already applied to `doc`) holds is in `doc`: every struct (the document's state vector
 * reaches the update's end clocks) and every deletion (the items it deletes exist, so the
 * deletion was applied rather than left waiting). Decodes the update: for the rare
 * acknowledgement made while something waits, not for every message.
 */
export function isIntegrated(doc: Y.Doc, update: Uint8Array): boolean {
  const known = Y.decodeStateVector(Y.encodeStateVector(doc));
  const reached = (client: number, clock: number) => (known.get(client) ?? 0) >= clock;
  for (const [client, clock] of Y.parseUpdateMeta(update).to) if (!reached(client, clock)) return false;
  for (const [client, deletions] of Y.decodeUpdate(update).ds.clients) {
    for (const { clock, len } of deletions) if (!reached(client, clock + len)) return false;
  }
  return true;
}

export function createPendingGuard(store: PendingStore, maxBytes: number) {
  let askedAt = 0;
  /** Each waits until its own update is in (`ready`), or, without one, until nothing waits. */
  let waiters: { ready: (() => boolean) | null; resolve: () => void; reject: (error: Error) => void }[] = [];

  const settle = (error?: Error) => {
    const settled = waiters;
    waiters = [];
    for (const waiter of settled) if (error) waiter.reject(error);
    else waiter.resolve();
  };

  /** Resolves the waiters whose update is in, even while other updates (someone else's) still wait. */
  const settleReady = () => {
    if (waiters.length === 0) return;
    if (store.bytes() === 0) return settle();
    const still: typeof waiters = [];
    for (const waiter of waiters) {
      if (waiter.ready?.()) waiter.resolve();
      else still.push(waiter);
    }
    waiters = still;
  };

  return {
    /**
     * `sentUpdate`: whether this message carried an update. Only such a message can have made
     * something wait, so only its sender is asked: a message of another client handled while
     * the update's hooks ran (they interleave) must not take the question for itself.
     */
    afterMessage(sentUpdate = true): PendingAction {
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
      settleReady();
      if (!sentUpdate || size === askedAt) return 'none';
      askedAt = size;
      return 'ask-for-missing';
    },

    /** After any change of the document (an update from another node may complete what waits). */
    afterTransaction(): void {
      settleReady();
    },

    waiting(): boolean {
      return store.bytes() > 0;
    },

    /**
     * Resolves once `ready()` holds (one client's update is in: another client's orphan
     * update must not hold it back), or without `ready`, once nothing waits; at once if so
     * already. Rejects if what waits is dropped or the document unloads.
     */
    whenIntegrated(ready?: () => boolean): Promise<void> {
      if (store.bytes() === 0 || ready?.()) return Promise.resolve();
      return new Promise((resolve, reject) => waiters.push({ ready: ready ?? null, resolve, reject }));
    },

    /** The document unloads: what waited will never integrate here. */
    close(): void {
      settle(new PendingDroppedError('the document was unloaded'));
    },
  };
}

export type PendingGuard = ReturnType<typeof createPendingGuard>;
