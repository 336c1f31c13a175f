import type { Logger } from 'pino';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { FROM_BUS, FROM_STORAGE } from './origins.ts';
import type { BusMessage, RoomStorage, UpdateBus } from './ports.ts';
import { createSeqWindow, type SeqWindow } from './seq-window.ts';

/** A seq that has not arrived this long after a later one is fetched from the op log. */
export const GAP_GRACE_MS = 100;

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
}

interface Room {
  /** Null until the room is loaded. */
  loaded: { target: SyncedRoom; seqs: SeqWindow; stopAwareness: () => void } | null;
  /** Messages that arrived between subscribing and the end of the load. */
  early: BusMessage[];
  unsubscribe: (() => Promise<void>) | null;
  repairing: Promise<void> | null;
  gapTimer: NodeJS.Timeout | null;
}

/**
 * Rooms across nodes, without Hocuspocus: plain Y.Docs and Awareness. After commit, an update
 * goes out with its seq; a room applies what other nodes committed (its clients see it through
 * the document's own update events). Seqs are gapless per document, so a room knows what it
 * has missed: a gap that stays open, a bus reconnect, or (for the last message of a burst,
 * whose loss no later seq reveals) the periodic check of the log's heads all end in reading
 * the op log after the room's seq. Yjs updates are idempotent, so reading too much is
 * harmless. Awareness travels the same way, without repair: clients renew it every 15 s, and
 * states from a node that died time out (y-protocols, 30 s).
 */
export function createRoomSync(options: RoomSyncOptions) {
  const { bus, storage, logger, nodeId } = options;
  const rooms = new Map<string, Room>();

  function watchGap(room: Room): void {
    if (!room.loaded?.seqs.hasGap || room.gapTimer !== null) return;
    room.gapTimer = setTimeout(() => {
      room.gapTimer = null;
      if (room.loaded?.seqs.hasGap) void repair(room, 'a gap in the seqs from the bus');
    }, GAP_GRACE_MS);
  }

  function repair(room: Room, why: string): Promise<void> {
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
        if (updates.length > 0) logger.debug({ documentId: target.name, from, to: seq, why }, 'caught up from the op log');
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
    if (!loaded.seqs.see(message.seq)) return;
    // Already in the log: applied with the storage origin, so it is broadcast but not logged again.
    Y.applyUpdate(loaded.target.doc, message.payload, FROM_STORAGE);
    watchGap(room);
  }

  bus.onReconnect(() => {
    for (const room of rooms.values()) void repair(room, 'the bus reconnected');
  });

  let headsTimer: NodeJS.Timeout | null = null;
  if (bus.distributed) {
    headsTimer = setInterval(() => {
      const loaded = [...rooms.entries()].filter(([, room]) => room.loaded !== null);
      if (loaded.length === 0) return;
      storage.heads(loaded.map(([id]) => id)).then(
        (heads) => {
          for (const [id, room] of loaded) {
            if (room.loaded && (heads.get(id) ?? 0) > room.loaded.seqs.known) void repair(room, 'the log is ahead of the room');
          }
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
        if (origin === FROM_BUS) return;
        const payload = awarenessProtocol.encodeAwarenessUpdate(target.awareness, [...added, ...updated, ...removed]);
        bus.publish(target.name, { kind: 'awareness', origin: nodeId, payload });
      };
      target.awareness.on('update', onAwareness);
      room.loaded = { target, seqs: createSeqWindow(seq), stopAwareness: () => target.awareness.off('update', onAwareness) };
      for (const message of room.early.splice(0)) receive(room, message);
    },

    /** This node committed `update` at `seq`: tell the others. */
    committed(documentId: string, seq: number, update: Uint8Array): void {
      const room = rooms.get(documentId);
      if (room?.loaded) {
        room.loaded.seqs.see(seq);
        watchGap(room);
      }
      bus.publish(documentId, { kind: 'update', origin: nodeId, seq, payload: update });
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
      room.loaded?.stopAwareness();
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
