import type { Document, Extension } from '@hocuspocus/server';
import { OutgoingMessage } from '@hocuspocus/server';
import type { Logger } from 'pino';
import * as Y from 'yjs';
import { AppError } from '../errors.ts';
import { SOCKET_GRANT } from './access-extension.ts';
import { createDurableTails } from './durable-acks.ts';
import { createPendingGuard, type PendingGuard } from './pending-updates.ts';
import type { RoomOpLog, RoomStorage, SocketGrant, WriteAuthor } from './ports.ts';

/** Origin of updates that come from the op log itself: applying them must not log them again. */
export const FROM_STORAGE = Symbol('tandem:from-storage');

/**
 * A server-side write (REST) travels as the context of a Hocuspocus direct connection, which
 * Hocuspocus passes on as the transaction origin: the op log learns who wrote the update,
 * and the writer learns when (and at which seq) it is durable.
 */
export interface ServerWrite {
  author: WriteAuthor;
  committed: Promise<number>[];
}

export const SERVER_WRITE = Symbol('tandem:server-write');

function serverWriteOf(origin: unknown): ServerWrite | undefined {
  const context = (origin as { context?: { [SERVER_WRITE]?: ServerWrite } } | null)?.context;
  return context?.[SERVER_WRITE];
}

export interface PersistenceOptions {
  storage: RoomStorage;
  opLog: RoomOpLog;
  logger: Logger;
  /** Pending (missing-dependency) update bytes a document may hold before they are dropped. */
  maxPendingBytes: number;
  /** Told the seq a document was loaded up to (the bus continues from there). */
  onLoaded?: (document: Document, seq: number) => void;
  /** Tracks background work (snapshots) so that shutdown can wait for it. */
  track: (work: Promise<unknown>) => void;
}

/**
 * Hocuspocus extension that makes the op log the source of truth: load = snapshot + log
 * tail; every update the room integrates is appended; a document unloads only once its
 * appends are durable. `acknowledgeable(name)` tells when a client's acknowledgement may go
 * out: once nothing of the document waits for missing dependencies and everything it
 * accepted so far is committed.
 */
export function createPersistence(options: PersistenceOptions): { extension: Extension; acknowledgeable(documentName: string): Promise<void> } {
  const { storage, opLog, logger } = options;
  const tails = createDurableTails();
  const pendingGuards = new Map<string, PendingGuard>();

  const extension: Extension = {
    extensionName: 'tandem-persistence',

    async onLoadDocument({ documentName, document, context }) {
      try {
        // The first connection's grant says whether (and where) a new document may be made;
        // a server-side write has none: its document must exist.
        const grant = (context as Record<string, unknown>)[SOCKET_GRANT] as SocketGrant | undefined;
        await storage.ensure(documentName, grant?.createIn ?? null);
        const { updates, seq } = await storage.load(documentName);
        document.transact(() => {
          for (const update of updates) Y.applyUpdate(document, update);
        }, FROM_STORAGE);
        logger.debug({ documentId: documentName, seq, updates: updates.length }, 'document loaded');
        options.onLoaded?.(document, seq);
      } catch (error) {
        if (error instanceof AppError && error.code === 'DOC_NOT_FOUND') throw { reason: 'DOC_NOT_FOUND' };
        // Hocuspocus then refuses the connection and keeps no half-loaded document, so an
        // empty room can never overwrite what is stored.
        logger.error({ err: error, documentId: documentName }, 'document failed to load; refusing connections to it');
        throw { reason: 'DOCUMENT_UNAVAILABLE' };
      }
    },

    async afterLoadDocument({ documentName, document }) {
      const guard = createPendingGuard(pendingStoreOf(document), options.maxPendingBytes);
      pendingGuards.set(documentName, guard);
      // Yjs emits only what it integrated: an update whose dependencies are missing waits in
      // the document's pending store and is logged once it can be integrated.
      document.on('update', (update: Uint8Array, origin: unknown) => {
        if (origin === FROM_STORAGE) return;
        const write = serverWriteOf(origin);
        const committed = opLog.append(documentName, update, write?.author);
        tails.track(documentName, committed);
        write?.committed.push(committed);
        committed.catch((error: unknown) => {
          logger.error({ err: error, documentId: documentName }, 'update could not be logged');
        });
      });
      document.on('afterTransaction', () => guard.afterTransaction());
    },

    async afterHandleMessage({ documentName, document, connection }) {
      const action = pendingGuards.get(documentName)?.afterMessage();
      if (action === 'dropped') {
        logger.warn({ documentId: documentName }, 'dropped updates whose dependencies never arrived');
      } else if (action === 'ask-for-missing') {
        // The client sent something that builds on content we lack: ask it for everything we
        // are missing (it answers with Sync Step 2).
        connection.send(
          new OutgoingMessage(connection.messageAddress).createSyncMessage().writeFirstSyncStepFor(document).toUint8Array(),
        );
      }
    },

    async onStoreDocument({ documentName }) {
      await opLog.whenDurable(documentName);
    },

    async afterUnloadDocument({ documentName }) {
      pendingGuards.get(documentName)?.close();
      pendingGuards.delete(documentName);
      options.track(
        storage.afterUnload(documentName).catch((error: unknown) => {
          logger.warn({ err: error, documentId: documentName }, 'snapshot after unload failed');
        }),
      );
    },
  };

  return {
    extension,
    acknowledgeable(documentName) {
      const guard = pendingGuards.get(documentName);
      // Captured now: what the document accepted up to this acknowledgement.
      if (!guard?.waiting()) return tails.current(documentName);
      return guard.whenIntegrated().then(() => tails.current(documentName));
    },
  };
}

/** Yjs keeps what waits for missing dependencies in two fields of the document's store. */
function pendingStoreOf(document: Document) {
  return {
    bytes() {
      const { pendingStructs, pendingDs } = document.store;
      if (!pendingStructs && !pendingDs) return 0;
      return Math.max(1, (pendingStructs?.update.length ?? 0) + (pendingDs?.length ?? 0));
    },
    drop() {
      document.store.pendingStructs = null;
      document.store.pendingDs = null;
    },
  };
}
