import { Hocuspocus } from '@hocuspocus/server';
import type { Logger } from 'pino';
import { closeCodeFor, type ErrorCode } from '../errors.ts';
import { withContractCloseCodes } from './close-codes.ts';
import { checkHocuspocusFrame, checkYWebsocketFrame } from './frames.ts';
import { persistenceExtension } from './persistence.ts';
import type { ClientSocket, RoomOpLog, RoomStorage, SocketHandlers } from './ports.ts';
import { createYWebsocketBridge } from './y-websocket-adapter.ts';

export interface CollabOptions {
  storage: RoomStorage;
  opLog: RoomOpLog;
  logger: Logger;
  maxMessageBytes: number;
  idleTimeoutMs: number;
}

export interface CollabServer {
  /** A socket speaking the Hocuspocus protocol (several documents, Auth message first). */
  acceptHocuspocus(socket: ClientSocket, request: Request): SocketHandlers;
  /** A socket speaking plain y-websocket for one document. */
  acceptYWebsocket(socket: ClientSocket, request: Request, documentId: string, token: string): SocketHandlers;
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

  const hocuspocus = new Hocuspocus({
    name: 'tandem',
    quiet: true,
    timeout: options.idleTimeoutMs,
    extensions: [
      persistenceExtension({
        storage: options.storage,
        opLog: options.opLog,
        logger: options.logger,
        maxPendingBytes: options.maxMessageBytes,
        track,
      }),
    ],
  });

  function refuse(socket: ClientSocket, code: ErrorCode): void {
    socket.close(closeCodeFor(code), code);
  }

  return {
    acceptHocuspocus(socket, request) {
      const connection = hocuspocus.handleConnection(withContractCloseCodes(socket), request);
      return {
        message(data, isBinary) {
          const problem = isBinary ? checkHocuspocusFrame(data) : 'MALFORMED_MESSAGE';
          if (problem) return refuse(socket, problem);
          connection.handleMessage(data);
        },
        close(code, reason) {
          connection.handleClose({ code, reason });
        },
      };
    },

    acceptYWebsocket(socket, request, documentId, token) {
      const bridge = createYWebsocketBridge(withContractCloseCodes(socket), documentId);
      const connection = hocuspocus.handleConnection(bridge.hocuspocusSide, request);
      connection.handleMessage(bridge.authFrame(token));
      return {
        message(data, isBinary) {
          const problem = isBinary ? checkYWebsocketFrame(data) : 'MALFORMED_MESSAGE';
          if (problem) return refuse(socket, problem);
          connection.handleMessage(bridge.toHocuspocus(data));
        },
        close(code, reason) {
          connection.handleClose({ code, reason });
        },
      };
    },

    stats() {
      return { documents: hocuspocus.getDocumentsCount(), connections: hocuspocus.getConnectionsCount() };
    },

    async close() {
      hocuspocus.closeConnections();
      hocuspocus.flushPendingStores();
      while (hocuspocus.getDocumentsCount() > 0 || hocuspocus.unloadingDocuments.size > 0 || background.size > 0) {
        await Promise.allSettled([...hocuspocus.unloadingDocuments.values(), ...background]);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}
