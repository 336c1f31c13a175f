import type { Document, Extension } from '@hocuspocus/server';
import type { Logger } from 'pino';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { FROM_STORAGE } from './persistence.ts';
import type { BusMessage, RoomStorage, UpdateBus } from './ports.ts';

/** Origin of awareness updates from other nodes: applied here, not published again. */
const FROM_BUS = Symbol('tandem:from-bus');
/** A seq that has not arrived this long after a later one is fetched from the op log. */
const GAP_GRACE_MS = 100;

interface Room {
  /** Every update up to this seq is in the document. */
  knownSeq: number;
  /** Seqs above knownSeq already applied (arrived out of order). */
  ahead: Set<number>;
  document: Document | null;
  /** Messages that arrived between subscribing and the end of the load. */
  early: BusMessage[];
  unsubscribe: (() => Promise<void>) | null;
  repairing: Promise<void> | null;
  gapTimer: NodeJS.Timeout | null;
}

export interface RoomBusOptions {
  bus: UpdateBus;
  storage: Pick<RoomStorage, 'loadAfter' | 'heads'>;
  logger: Logger;
  /** This node, so that it ignores its own messages. */
  nodeId: string;
  /** With a distributed bus: how often loaded documents are compared with the log's heads. */
  repairIntervalMs: number;
}

/**
 * Rooms across nodes. After commit, an update goes out with its seq; a room applies what
 * other nodes committed and broadcasts it to its clients. Seqs are gapless per document, so
 * a room knows what it has missed: a gap that stays open, a bus reconnect, or (for the last
 * message of a burst, whose loss no later seq reveals) the periodic check of the log's
 * heads all end in reading the op log after the room's seq. Yjs updates are idempotent, so
 * reading too much is harmless. Awareness travels the same way, without repair: clients
 * renew it every 15 s, and states from a node that died time out (y-protocols, 30 s).
 */
export function createRoomBus(options: RoomBusOptions) {
  const { bus, storage, logger, nodeId } = options;
  const rooms = new Map<string, Room>();

  function advance(room: Room, seq: number): void {
    if (seq <= room.knownSeq) return;
    room.ahead.add(seq);
    while (room.ahead.delete(room.knownSeq + 1)) room.knownSeq += 1;
    if (room.ahead.size > 0 && room.gapTimer === null) {
      room.gapTimer = setTimeout(() => {
        room.gapTimer = null;
        if (room.ahead.size > 0) void repair(room, 'a gap in the seqs from the bus');
      }, GAP_GRACE_MS);
    }
  }

  function repair(room: Room, why: string): Promise<void> {
    const document = room.document;
    if (!document) return Promise.resolve();
    room.repairing ??= (async () => {
      try {
        const from = room.knownSeq;
        const { seq, updates } = await storage.loadAfter(document.name, from);
        if (room.document !== document) return; // unloaded meanwhile
        document.transact(() => {
          for (const update of updates) Y.applyUpdate(document, update);
        }, FROM_STORAGE);
        if (seq > room.knownSeq) room.knownSeq = seq;
        for (const ahead of room.ahead) if (ahead <= room.knownSeq) room.ahead.delete(ahead);
        if (updates.length > 0) logger.debug({ documentId: document.name, from, to: seq, why }, 'caught up from the op log');
      } catch (error) {
        logger.warn({ err: error, documentId: document.name, why }, 'could not catch up from the op log; will try again');
      } finally {
        room.repairing = null;
      }
    })();
    return room.repairing;
  }

  function receive(room: Room, message: BusMessage): void {
    if (message.origin === nodeId) return;
    const document = room.document;
    if (!document) {
      room.early.push(message);
      return;
    }
    if (message.kind === 'awareness') {
      awarenessProtocol.applyAwarenessUpdate(document.awareness, message.payload, FROM_BUS);
      return;
    }
    if (message.seq <= room.knownSeq) return;
    // Already in the log: applied with the storage origin, so it is broadcast but not logged again.
    Y.applyUpdate(document, message.payload, FROM_STORAGE);
    advance(room, message.seq);
  }

  bus.onReconnect(() => {
    for (const room of rooms.values()) void repair(room, 'the bus reconnected');
  });

  let repairTimer: NodeJS.Timeout | null = null;
  if (bus.distributed) {
    repairTimer = setInterval(() => {
      const loaded = [...rooms.entries()].filter(([, room]) => room.document !== null);
      if (loaded.length === 0) return;
      storage.heads(loaded.map(([id]) => id)).then(
        (heads) => {
          for (const [id, room] of loaded) {
            if ((heads.get(id) ?? 0) > room.knownSeq) void repair(room, 'the log is ahead of the room');
          }
        },
        (error: unknown) => logger.warn({ err: error }, 'could not compare rooms with the op log'),
      );
    }, options.repairIntervalMs);
    repairTimer.unref();
  }

  const extension: Extension = {
    extensionName: 'tandem-bus',
    // Before persistence loads: subscribe first, so nothing committed elsewhere during the
    // load can fall between the load and the subscription.
    priority: 1000,

    async onLoadDocument({ documentName }) {
      const room: Room = { knownSeq: 0, ahead: new Set(), document: null, early: [], unsubscribe: null, repairing: null, gapTimer: null };
      rooms.set(documentName, room);
      room.unsubscribe = await bus.subscribe(documentName, (message) => receive(room, message));
    },

    async afterUnloadDocument({ documentName }) {
      const room = rooms.get(documentName);
      if (!room) return;
      rooms.delete(documentName);
      room.document = null;
      if (room.gapTimer) clearTimeout(room.gapTimer);
      await room.unsubscribe?.();
    },
  };

  return {
    extension,

    /** Persistence loaded the document up to `seq`: apply what arrived meanwhile, start publishing awareness. */
    loaded(document: Document, seq: number): void {
      const room = rooms.get(document.name);
      if (!room) return;
      room.knownSeq = seq;
      room.document = document;
      for (const message of room.early.splice(0)) receive(room, message);
      document.awareness.on('update', ({ added, updated, removed }: Record<'added' | 'updated' | 'removed', number[]>, origin: unknown) => {
        if (origin === FROM_BUS) return;
        const changed = [...added, ...updated, ...removed];
        const payload = awarenessProtocol.encodeAwarenessUpdate(document.awareness, changed);
        bus.publish(document.name, { kind: 'awareness', origin: nodeId, payload });
      });
    },

    /** This node committed `update` at `seq`: tell the others. */
    committed(documentId: string, seq: number, update: Uint8Array): void {
      const room = rooms.get(documentId);
      if (room) advance(room, seq);
      bus.publish(documentId, { kind: 'update', origin: nodeId, seq, payload: update });
    },

    close(): void {
      if (repairTimer) clearInterval(repairTimer);
    },
  };
}
