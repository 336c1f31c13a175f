/**
 * Updates that other nodes published the moment they accepted them, before committing them:
 * a room applies them at once, so its clients see them without waiting for another node's
 * commit, but holds each one here until it is known to be in the op log: its node's
 * confirmation names it, a read of the log finds its bytes, or this node logs it itself (adopts
 * it) because no confirmation came. A node that died between publishing and committing leaves
 * its updates in other nodes' rooms and clients only; adoption is what keeps them.
 * Pure state: the room sync decides when to adopt.
 */
export interface ForeignUpdates {
  readonly size: number;
  /** `origin` published the update it numbered `local`. */
  add(origin: string, local: number, payload: Uint8Array, now: number): void;
  /** `origin` committed its update `local`: true when it was held here (and is no longer). */
  confirm(origin: string, local: number): boolean;
  /** These updates were read from the op log: the held ones among them are settled. */
  foundInLog(updates: readonly Uint8Array[]): void;
  /** Held since before `cutoff` and not adopted yet: each is marked adopted and returned with what settles it. */
  overdue(cutoff: number): AdoptedUpdate[];
  /**
   * Settles once every update held now is in the op log; rejects when an adoption failed (the
   * document is gone, the node shuts down): what depends on it must not be acknowledged.
   */
  settled(): Promise<void>;
}

export interface AdoptedUpdate {
  payload: Uint8Array;
  /** Call with the outcome of logging it here. */
  done(error?: unknown): void;
}

interface Held {
  payload: Uint8Array;
  at: number;
  adopted: boolean;
  /** Made only when something waits for it, so a failed adoption nobody waits for rejects nothing. */
  waiter: { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } | null;
}

const SETTLED = Promise.resolve();

export function createForeignUpdates(): ForeignUpdates {
  const held = new Map<string, Held>();
  const keyOf = (origin: string, local: number) => `${local}@${origin}`;

  const settle = (key: string, entry: Held, error?: unknown) => {
    held.delete(key);
    if (error === undefined) entry.waiter?.resolve();
    else entry.waiter?.reject(error);
  };

  const waitFor = (entry: Held): Promise<void> => {
    if (!entry.waiter) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      entry.waiter = { promise, resolve, reject };
    }
    return entry.waiter.promise;
  };

  return {
    get size() {
      return held.size;
    },

    add(origin, local, payload, now) {
      const key = keyOf(origin, local);
      if (!held.has(key)) held.set(key, { payload, at: now, adopted: false, waiter: null });
    },

    confirm(origin, local) {
      const key = keyOf(origin, local);
      const entry = held.get(key);
      if (!entry) return false;
      settle(key, entry);
      return true;
    },

    foundInLog(updates) {
      if (held.size === 0 || updates.length === 0) return;
      const byLength = new Map<number, Uint8Array[]>();
      for (const update of updates) {
        const sameLength = byLength.get(update.length);
        if (sameLength) sameLength.push(update);
        else byLength.set(update.length, [update]);
      }
      for (const [key, entry] of held) {
        if (byLength.get(entry.payload.length)?.some((update) => Buffer.compare(update, entry.payload) === 0)) settle(key, entry);
      }
    },

    overdue(cutoff) {
      const due: AdoptedUpdate[] = [];
      for (const [key, entry] of held) {
        if (entry.adopted || entry.at >= cutoff) continue;
        entry.adopted = true;
        due.push({ payload: entry.payload, done: (error) => held.get(key) === entry && settle(key, entry, error) });
      }
      return due;
    },

    settled() {
      if (held.size === 0) return SETTLED;
      return Promise.all([...held.values()].map(waitFor)).then(() => undefined);
    },
  };
}
