import type { Logger } from 'pino';
import * as Y from 'yjs';
import { AppError } from '../errors.ts';
import { createDurableTails } from './durable-acks.ts';
import { FROM_BUS, FROM_STORAGE } from './origins.ts';
import type { Author, WriteBy } from '../docs/authors.ts';
import type { RoomOpLog, RoomStorage } from './ports.ts';

/**
 * A server-side write (REST, MCP) travels with its transaction: the op log learns who wrote
 * the update, and the writer learns when (and at which seq) it is durable.
 */
export interface ServerWrite {
  by: WriteBy;
  committed: Promise<number>[];
}

export interface PersistenceOptions {
  storage: RoomStorage;
  opLog: RoomOpLog;
  logger: Logger;
  /** The server write a transaction origin carries, if it is one (the Hocuspocus adapter knows how). */
  serverWriteOf: (origin: unknown) => ServerWrite | undefined;
  /** The author of a client's update, from its transaction origin (null: not a client's). */
  socketAuthorOf: (origin: unknown) => Author | null;
  /** Tracks background work, so that shutdown can wait for it. */
  track: (work: Promise<unknown>) => void;
}

/**
 * The op log as the rooms' source of truth: load = snapshot + log tail; every update a room
 * integrates is appended; `durable(name)` settles once everything appended so far is
 * committed. Plain Yjs: the Hocuspocus adapter calls it from its hooks.
 */
export function createPersistence(options: PersistenceOptions) {
  const { storage, opLog, logger } = options;
  const tails = createDurableTails();

  return {
    /**
     * Fills `doc` from storage and returns the seq it reaches. `createIn`: where a new document
     * may be made (null: it must exist). Throws DOC_NOT_FOUND, or DOCUMENT_UNAVAILABLE when
     * storage failed: a room that failed to load must never accept writes (an empty room
     * could overwrite what is stored).
     */
    async load(documentId: string, doc: Y.Doc, createIn: { workspaceId: string | null } | null): Promise<number> {
      try {
        await storage.ensure(documentId, createIn);
        const { updates, seq } = await storage.load(documentId);
        doc.transact(() => {
          for (const update of updates) Y.applyUpdate(doc, update);
        }, FROM_STORAGE);
        logger.debug({ documentId, seq, updates: updates.length }, 'document loaded');
        return seq;
      } catch (error) {
        if (error instanceof AppError && error.code === 'DOC_NOT_FOUND') throw error;
        logger.error({ err: error, documentId }, 'document failed to load; refusing connections to it');
        throw new AppError('DOCUMENT_UNAVAILABLE', undefined, { cause: error });
      }
    },

    /**
     * Appends every update `doc` integrates from now on. Yjs emits only what it integrated: an
     * update whose dependencies are missing waits in the pending store and is logged once it
     * can be integrated.
     */
    logUpdates(documentId: string, doc: Y.Doc): void {
      // Client ids the document holds: mapped to their authors already (or from before authors).
      const seen = new Set(doc.store.clients.keys());
      // What waited for missing dependencies when the transaction began (see below).
      let pendingBefore: unknown[] = [];
      const pendingNow = () => [doc.store.pendingStructs, doc.store.pendingDs];
      doc.on('beforeTransaction', () => {
        pendingBefore = pendingNow();
      });
      doc.on('update', (update: Uint8Array, origin: unknown, _doc: Y.Doc, transaction: Y.Transaction) => {
        let newClients = newClientsOf(transaction, seen);
        // Stored already, or another node's to store (room-sync.ts adopts it if that node dies).
        if (origin === FROM_STORAGE || origin === FROM_BUS) return;
        const write = options.serverWriteOf(origin);
        let by = write?.by ?? { author: options.socketAuthorOf(origin) };
        // What waited for a dependency was finished in this transaction, so its update holds
        // someone else's structs too (whoever sent what waited, perhaps to have it credited to
        // this writer): it is logged as by no one known, and maps no client id.
        if (pendingNow().some((pending, index) => pending !== pendingBefore[index])) {
          by = { ...by, author: null };
          newClients = [];
        }
        const committed = opLog.append(documentId, update, by, newClients);
        tails.track(documentId, committed);
        write?.committed.push(committed);
        committed.catch((error: unknown) => {
          logger.error({ err: error, documentId }, 'update could not be logged');
        });
      });
    },

    /** Settles once every update logged for the document up to now is committed; rejects if one was lost. */
    durable: (documentId: string): Promise<void> => tails.current(documentId),

    /** Resolves once the document's appends so far settled (a room unloads only then). */
    whenDurable: (documentId: string): Promise<void> => opLog.whenDurable(documentId),

    unloaded(documentId: string): void {
      options.track(
        storage.afterUnload(documentId).catch((error: unknown) => {
          logger.warn({ err: error, documentId }, 'after-unload work failed');
        }),
      );
    },
  };
}

/**
 * Client ids one update may map to its author. A client sends one (its own); an update built
 * to carry thousands would otherwise make a row for each. The rest stay unattributed.
 */
const MAX_NEW_CLIENTS_PER_UPDATE = 100;

/**
 * The client ids a transaction wrote with for the first time (at most
 * MAX_NEW_CLIENTS_PER_UPDATE of them), added to `seen`. A client id is
 * never removed from a document, so the sizes tell in one step whether there is any.
 */
function newClientsOf(transaction: Y.Transaction, seen: Set<number>): number[] {
  if (transaction.afterState.size === seen.size) return [];
  const fresh: number[] = [];
  for (const client of transaction.afterState.keys()) {
    if (!seen.has(client)) {
      seen.add(client);
      if (fresh.length < MAX_NEW_CLIENTS_PER_UPDATE) fresh.push(client);
    }
  }
  return fresh;
}

export type Persistence = ReturnType<typeof createPersistence>;
