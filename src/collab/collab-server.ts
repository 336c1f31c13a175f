import type { Logger } from 'pino';
import type * as Y from 'yjs';
import { closeCodeFor, type ErrorCode } from '../errors.ts';
import type { AwarenessLimits } from './awareness-limits.ts';
import { withContractCloseCodes, withContractMessages } from './close-codes.ts';
import { withDurableAcks } from './durable-acks.ts';
import { checkHocuspocusFrame, checkYWebsocketFrame } from './frames.ts';
import { createHocuspocusRooms, type LiveSize, serverWriteOf, socketAuthorOf } from './hocuspocus-adapter.ts';
import { createPersistence, type ServerWrite } from './persistence.ts';
import type { ClientSocket, RoomOpLog, RoomStorage, SocketAccess, SocketHandlers, UpdateBus } from './ports.ts';
import type { WriteBy } from '../docs/authors.ts';
import { createRoomSync, type RoomSyncOptions } from './room-sync.ts';
import { createYWebsocketBridge } from './y-websocket-adapter.ts';

export interface CollabOptions {
  storage: RoomStorage;
  opLog: RoomOpLog;
  bus: UpdateBus;
  /** This node's id on the bus. */
  nodeId: string;
  /** With a distributed bus: how often loaded documents are checked against the log's heads. */
  busRepairIntervalMs: number;
  /** For metrics: what repairs the bus's losses (room-sync.ts). */
  observeBus?: RoomSyncOptions['observe'];
  logger: Logger;
  maxMessageBytes: number;
  /** MAX_DOCUMENT_BYTES: the content a socket's updates may take a document to. */
  maxDocumentBytes: number;
  idleTimeoutMs: number;
  awarenessLimits: AwarenessLimits;
}

export interface CollabServer {
  /** A socket speaking the Hocuspocus protocol (several documents, Auth message first). */
  acceptHocuspocus(socket: ClientSocket, access: SocketAccess): SocketHandlers;
  /** A socket speaking plain y-websocket for one document. */
  acceptYWebsocket(socket: ClientSocket, access: SocketAccess, documentId: string, token: string): SocketHandlers;
  /** Re-checks every live connection's access (after access was taken away somewhere). */
  recheckAccess(): Promise<void>;
  /**
   * Runs `change` on the live document (loading it if no one has it open) in one transaction:
   * connected clients see the result at once. `size` counts the document's content as it is. Resolves once it is durable, with the seq of the
   * update it made, or null when it changed nothing.
   */
  write(documentId: string, change: (doc: Y.Doc, size: LiveSize) => void, by: WriteBy): Promise<number | null>;
  /** Closes every client connection to the document (with `code` as the reason), e.g. when it is deleted. */
  disconnectAll(documentId: string, code: ErrorCode): void;
  stats(): { documents: number; connections: number };
  /** Closes every connection, then waits until every document is durable and unloaded. */
  close(): Promise<void>;
}

/**
 * The rooms: one in-process Hocuspocus (no listener of its own) serves both dialects, so a
 * y-websocket client and a Hocuspocus client on one id share one Y.Doc and its awareness.
 */
export function createCollabServer(options: CollabOptions): CollabServer {
  const background = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    background.add(work);
    void work.finally(() => background.delete(work));
  };

  const roomSync = createRoomSync({
    bus: options.bus,
    storage: options.storage,
    logger: options.logger,
    nodeId: options.nodeId,
    repairIntervalMs: options.busRepairIntervalMs,
    adopt: (documentId, update) => opLog.append(documentId, update),
    observe: options.observeBus,
  });
  // Every update goes out on the bus as it is accepted, and its commit after it.
  const opLog: RoomOpLog = {
    async append(documentId, update, by, newClients) {
      const local = roomSync.accepted(documentId, update);
      const seq = await options.opLog.append(documentId, update, by, newClients);
      roomSync.committed(documentId, local, seq);
      return seq;
    },
    whenDurable: (documentId) => options.opLog.whenDurable(documentId),
  };
  const persistence = createPersistence({ storage: options.storage, opLog, logger: options.logger, serverWriteOf, socketAuthorOf, track });
  const rooms = createHocuspocusRooms({
    persistence,
    roomSync,
    logger: options.logger,
    maxPendingBytes: options.maxMessageBytes,
    maxDocumentBytes: options.maxDocumentBytes,
    idleTimeoutMs: options.idleTimeoutMs,
    awarenessLimits: options.awarenessLimits,
  });
  const unacknowledged = (documentId: string, error: unknown) =>
    options.logger.debug({ err: error, documentId }, 'an update was not acknowledged: it never became durable here');

  function refuse(socket: ClientSocket, code: ErrorCode): void {
    socket.close(closeCodeFor(code), code);
  }

  return {
    acceptHocuspocus(socket, access) {
      const acked: ClientSocket = withDurableAcks(withContractMessages(socket), (name) => rooms.acknowledgeable(name, acked), unacknowledged);
      const connection = rooms.handleConnection(acked, access);
      return {
        message(data, isBinary) {
          const problem = isBinary ? checkHocuspocusFrame(data) : 'MALFORMED_MESSAGE';
          if (problem) return refuse(socket, problem);
          connection.message(data);
        },
        close: connection.close,
      };
    },

    acceptYWebsocket(socket, access, documentId, token) {
      const bridge = createYWebsocketBridge(withContractCloseCodes(socket), documentId);
      const connection = rooms.handleConnection(bridge.hocuspocusSide, access);
      connection.message(bridge.authFrame(token));
      return {
        message(data, isBinary) {
          const problem = isBinary ? checkYWebsocketFrame(data) : 'MALFORMED_MESSAGE';
          if (problem) return refuse(socket, problem);
          connection.message(bridge.toHocuspocus(data));
        },
        close: connection.close,
      };
    },

    async write(documentId, change, by) {
      const write: ServerWrite = { by, committed: [] };
      await rooms.transact(documentId, change, write);
      // The change was made on what the room held, other nodes' updates not yet stored included.
      const [seqs] = await Promise.all([Promise.all(write.committed), roomSync.settled(documentId)]);
      return seqs.at(-1) ?? null;
    },

    disconnectAll: rooms.disconnectAll,
    recheckAccess: rooms.recheckAccess,
    stats: rooms.stats,

    async close() {
      roomSync.close();
      await rooms.close(() => [...background]);
    },
  };
}
