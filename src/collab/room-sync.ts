import type { Logger } from 'pino';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { createForeignUpdates, type ForeignUpdates } from './foreign-updates.ts';
import { FROM_BUS, FROM_STORAGE } from './origins.ts';
import type { BusMessage, RoomStorage, UpdateBus } from './ports.ts';
import { createSeqWindow, type SeqWindow } from './seq-window.ts';

/** A seq that has not arrived this long after a later one is fetched from the op log. */
export const GAP_GRACE_MS = 100;

/**
 * An update from another node that no confirmation settles within this many repair intervals is
 * logged here (adopted): its node died before committing it, or the confirmation was lost. A
 * live node's commit lags by milliseconds; one that lags more makes a duplicate in the log,
 * which Yjs ignores.
 */
export const ADOPT_AFTER_REPAIR_INTERVALS = 2;

/** What makes a room read the op log after its seq (a metric's label, and the log line's words). */
const CATCH_UP_REASONS = {
  gap: 'a gap in the seqs from the bus',
  unseen_update: 'a commit of an update that never arrived',
  reconnect: 'the bus reconnected',
  heads: 'the log is ahead of the room',
} as const;
export type CatchUpReason = keyof typeof CATCH_UP_REASONS;

/** A loaded room as far as other nodes are concerned: its document and its presence. */
export interface SyncedRoom {
  name: string;
  doc: Y.Doc;
  awareness: awarenessProtocol.Awareness;
}

export interface RoomSyncOptions {
  bus: UpdateBus;
  storage: Pick<RoomStorage, 'loadAfter' | 'heads'>;
  logger: Logger;
  /** This node, so that it ignores its own messages. */
  nodeId: string;
  /** With a distributed bus: how often loaded documents are compared with the log's heads. */
  repairIntervalMs: number;
  /** Logs an update of another node's that no confirmation settled; resolves once it is durable. */
  adopt: (documentId: string, update: Uint8Array) => Promise<unknown>;
  /** For metrics: a read of the log returned updates past the room's seq, or an update is adopted. */
  observe?: { caughtUp(reason: CatchUpReason): void; adopted(): void };
}

interface Room {
  /** Null until the room is loaded. */
  loaded: { target: SyncedRoom; seqs: SeqWindow; foreign: ForeignUpdates; stopAwareness: () => void } | null;
  /** Messages that arrived between subscribing and the end of the load. */
  early: BusMessage[];
  unsubscribe: (() => Promise<void>) | null;
  repairing: Promise<void> | null;
  gapTimer: NodeJS.Timeout | null;
}

/**
 * Rooms across nodes, without Hocuspocus: plain Y.Docs and Awareness. An update a room accepts
 * goes out on the bus at once, numbered by its node, and a confirmation with its seq follows the
 * commit; other rooms apply it on arrival (their clients see it through the document's own update
 * events) and hold it until it is confirmed (foreign-updates.ts), so that nothing they
 * acknowledge depends on an update that is not durable. Seqs are gapless per document, so a room
 * knows what it has missed: a gap that stays open, a confirmation of an update that never came, a
 * bus reconnect, or (for the last message of a burst, whose loss nothing later reveals) the
 * periodic check of the log's heads all end in reading the op log after the room's seq. Yjs
 * updates are idempotent, so reading too much is harmless. Awareness travels the same way,
 * without repair: clients renew it every 15 s, and states from a node that died time out
 * (y-protocols, 30 s), and not at all on a bus that reaches no other node. Commits are confirmed
 * on every bus: this node's own subscribers follow them too (MCP's change notifications).
 */
export function createRoomSync(options: RoomSyncOptions) {
  const { bus, storage, logger, nodeId } = options;
  const rooms = new Map<string, Room>();
  const adoptAfterMs = ADOPT_AFTER_REPAIR_INTERVALS * options.repairIntervalMs;
  /** Numbers this node's updates for their confirmations. */
  let lastLocal = 0;
  /** Commits to confirm, per document, gathered over one turn of the event loop. */
  let toConfirm: Map<string, { local: number; seq: number }[]> | null = null;

  function watchGap(room: Room): void {
    if (!room.loaded?.seqs.hasGap || room.gapTimer !== null) return;
    room.gapTimer = setTimeout(() => {
      room.gapTimer = null;
      if (room.loaded?.seqs.hasGap) void repair(room, 'gap');
    }, GAP_GRACE_MS);
  }

  function repair(room: Room, reason: CatchUpReason): Promise<void> {
    const why = CATCH_UP_REASONS[reason];
    const loaded = room.loaded;
    if (!loaded) return Promise.resolve();
    room.repairing ??= (async () => {
      const { target, seqs } = loaded;
      try {
        const from = seqs.known;
        const { seq, updates } = await storage.loadAfter(target.name, from);
        if (room.loaded !== loaded) return; // unloaded meanwhile
        target.doc.transact(() => {
          for (const update of updates) Y.applyUpdate(target.doc, update);
        }, FROM_STORAGE);
        seqs.caughtUp(seq);
        loaded.foreign.foundInLog(updates);
        if (updates.length > 0) {
          logger.debug({ documentId: target.name, from, to: seq, why }, 'caught up from the op log');
          options.observe?.caughtUp(reason);
        }
      } catch (error) {
        logger.warn({ err: error, documentId: target.name, why }, 'could not catch up from the op log; will try again');
      } finally {
        room.repairing = null;
        watchGap(room);
      }
    })();
    return room.repairing;
  }

  function receive(room: Room, message: BusMessage): void {
    if (message.origin === nodeId) return;
    const loaded = room.loaded;
    if (!loaded) {
      room.early.push(message);
      return;
    }
    if (message.kind === 'awareness') {
      awarenessProtocol.applyAwarenessUpdate(loaded.target.awareness, message.payload, FROM_BUS);
      return;
    }
    if (message.kind === 'update') {
      loaded.foreign.add(message.origin, message.local, message.payload, performance.now());
      // Not known to be stored yet: broadcast here, but logged only by its node (or adopted).
      Y.applyUpdate(loaded.target.doc, message.payload, FROM_BUS);
      return;
    }
    let missed = false;
    for (const { local, seq } of message.commits) {
      if (loaded.foreign.confirm(message.origin, local)) loaded.seqs.see(seq);
      // Committed, but its update never came (lost, or published before this room subscribed).
      else if (seq > loaded.seqs.known) missed = true;
    }
    if (missed) void repair(room, 'unseen_update');
    else watchGap(room);
  }

  function adopt(documentId: string, foreign: ForeignUpdates, cutoff: number): void {
    for (const update of foreign.overdue(cutoff)) {
      options.observe?.adopted();
      options.adopt(documentId, update.payload).then(
        () => update.done(),
        (error: unknown) => {
          logger.warn({ err: error, documentId }, 'could not log an update another node never confirmed');
          update.done(error);
        },
      );
    }
  }

  function publishConfirmations(): void {
    const batch = toConfirm;
    toConfirm = null;
    for (const [documentId, commits] of batch ?? []) bus.publish(documentId, { kind: 'committed', origin: nodeId, commits });
  }

  bus.onReconnect(() => {
    for (const room of rooms.values()) void repair(room, 'reconnect');
  });

  let headsTimer: NodeJS.Timeout | null = null;
  if (bus.distributed) {
    headsTimer = setInterval(() => {
      const loaded = [...rooms.entries()].filter(([, room]) => room.loaded !== null);
      if (loaded.length === 0) return;
      const cutoff = performance.now() - adoptAfterMs;
      for (const [id, room] of loaded) if (room.loaded!.foreign.size > 0) adopt(id, room.loaded!.foreign, cutoff);
      storage.heads(loaded.map(([id]) => id)).then(
        (heads) => {
          const behind = () => loaded.filter(([id, room]) => room.loaded && (heads.get(id) ?? 0) > room.loaded.seqs.known);
          if (behind().length === 0) return;
          // The confirmation of a commit this recent may still be on its way: the gap's grace.
          setTimeout(() => {
            for (const [, room] of behind()) void repair(room, 'heads');
          }, GAP_GRACE_MS).unref();
        },
        (error: unknown) => logger.warn({ err: error }, 'could not compare rooms with the op log'),
      );
    }, options.repairIntervalMs);
    headsTimer.unref();
  }

  return {
    /** Before the room loads: subscribe first, so nothing committed elsewhere during the load falls between the two. */
    async open(documentId: string): Promise<void> {
      const room: Room = { loaded: null, early: [], unsubscribe: null, repairing: null, gapTimer: null };
      rooms.set(documentId, room);
      const unsubscribe = await bus.subscribe(documentId, (message) => receive(room, message));
      if (rooms.get(documentId) === room) room.unsubscribe = unsubscribe;
      else await unsubscribe(); // closed while subscribing
    },

    /** The room was loaded up to `seq`: apply what arrived meanwhile, start publishing its presence. */
    loaded(target: SyncedRoom, seq: number): void {
      const room = rooms.get(target.name);
      if (!room) return;
      const onAwareness = ({ added, updated, removed }: Record<'added' | 'updated' | 'removed', number[]>, origin: unknown) => {
        if (origin === FROM_BUS || !bus.distributed) return;
        const payload = awarenessProtocol.encodeAwarenessUpdate(target.awareness, [...added, ...updated, ...removed]);
        bus.publish(target.name, { kind: 'awareness', origin: nodeId, payload });
      };
      target.awareness.on('update', onAwareness);
      room.loaded = { target, seqs: createSeqWindow(seq), foreign: createForeignUpdates(), stopAwareness: () => target.awareness.off('update', onAwareness) };
      for (const message of room.early.splice(0)) receive(room, message);
    },

    /** This node accepted `update`: tell the others now. Returns its number, for `committed`. */
    accepted(documentId: string, update: Uint8Array): number {
      lastLocal += 1;
      bus.publish(documentId, { kind: 'update', origin: nodeId, local: lastLocal, payload: update });
      return lastLocal;
    },

    /** This node committed its update `local` at `seq`; the confirmations of one commit go out together. */
    committed(documentId: string, local: number, seq: number): void {
      const room = rooms.get(documentId);
      if (room?.loaded) {
        room.loaded.seqs.see(seq);
        watchGap(room);
      }
      if (!toConfirm) {
        toConfirm = new Map();
        queueMicrotask(publishConfirmations);
      }
      const commits = toConfirm.get(documentId);
      if (commits) commits.push({ local, seq });
      else toConfirm.set(documentId, [{ local, seq }]);
    },

    /**
     * Settles once every update from other nodes that the room holds now is in the op log;
     * rejects if one could not be logged. An acknowledgement waits for it: what a client wrote
     * after seeing another node's update depends on that update.
     */
    settled(documentId: string): Promise<void> {
      return rooms.get(documentId)?.loaded?.foreign.settled() ?? Promise.resolve();
    },

    /** Every seq up to this one is in the room (for tests and the admin view). */
    knownSeq(documentId: string): number | null {
      return rooms.get(documentId)?.loaded?.seqs.known ?? null;
    },

    /** The room unloaded (or failed to load): stop listening. */
    async closed(documentId: string): Promise<void> {
      const room = rooms.get(documentId);
      if (!room) return;
      rooms.delete(documentId);
      if (room.loaded) {
        room.loaded.stopAwareness();
        // Nothing will confirm them to this room any more; its clients may have built on them.
        adopt(documentId, room.loaded.foreign, Number.POSITIVE_INFINITY);
      }
      room.loaded = null;
      if (room.gapTimer) clearTimeout(room.gapTimer);
      await room.unsubscribe?.();
    },

    close(): void {
      if (headsTimer) clearInterval(headsTimer);
    },
  };
}

export type RoomSync = ReturnType<typeof createRoomSync>;
