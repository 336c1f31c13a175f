import { type Connection, type Document, type Extension, Hocuspocus, OutgoingMessage } from '@hocuspocus/server';
import type { Logger } from 'pino';
import { randomInt } from 'node:crypto';
import type * as Y from 'yjs';
import type { Author } from '../docs/authors.ts';
import { AppError, closeCodeFor, type ErrorCode, isErrorCode } from '../errors.ts';
import { cursorOf, createAgentPresence } from './agent-presence.ts';
import { type AwarenessLimits, claimApplied, filterInbound, limitDocumentAwareness } from './awareness-limits.ts';
import { createPendingGuard, isIntegrated, type PendingGuard, type PendingStore } from './pending-updates.ts';
import type { Persistence, ServerWrite } from './persistence.ts';
import type { ClientSocket, SocketAccess, SocketGrant, SocketHandlers } from './ports.ts';
import type { RoomSync } from './room-sync.ts';
import { createSizeGuard, type SizeGuard } from './size-guard.ts';
import { contentBytesOfDoc } from '../docs/yjs-content-size.ts';

/**
 * The one file that knows Hocuspocus (pinned to an exact version in package.json): its hooks,
 * its per-connection context and readOnly flag, the `{ reason }` objects it expects thrown,
 * how it unloads documents, and the Y.Doc store fields where Yjs keeps what waits for missing
 * dependencies. Everything it calls is plain: persistence, room sync, pending guard.
 */

/** Where each socket's SocketAccess, and then its grant, travel: Hocuspocus's per-connection context. */
const SOCKET_ACCESS = 'tandemSocketAccess';
const SOCKET_GRANT = 'tandemSocketGrant';
/** Where a server-side write travels: the context of a direct connection, which Hocuspocus passes on as the transaction origin. */
const SERVER_WRITE = 'tandemServerWrite';

/** The server write a transaction origin carries, if it came from a direct connection of `write()`. */
export function serverWriteOf(origin: unknown): ServerWrite | undefined {
  const context = (origin as { context?: Record<string, unknown> } | null)?.context;
  return context?.[SERVER_WRITE] as ServerWrite | undefined;
}

/** The author of a client's update: its connection's grant (Hocuspocus's origin is { source: 'connection', connection }). */
export function socketAuthorOf(origin: unknown): Author | null {
  const context = (origin as { connection?: { context?: Record<string, unknown> } } | null)?.connection?.context;
  return (context?.[SOCKET_GRANT] as SocketGrant | undefined)?.author ?? null;
}

/** Yjs keeps what waits for missing dependencies in two fields of the document's store. */
export function pendingStoreOf(doc: Y.Doc): PendingStore {
  return {
    bytes() {
      const { pendingStructs, pendingDs } = doc.store;
      if (!pendingStructs && !pendingDs) return 0;
      return Math.max(1, (pendingStructs?.update.length ?? 0) + (pendingDs?.length ?? 0));
    },
    drop() {
      doc.store.pendingStructs = null;
      doc.store.pendingDs = null;
    },
  };
}

/** What a server write may ask of the room about its document's size (docs/ports.ts LiveDocumentSize). */
export interface LiveSize {
  contentBytes(): number;
}

/**
 * The request every socket hands Hocuspocus. Hocuspocus keeps a socket's request (and copies
 * of its headers and query parameters in each hook payload) for as long as the socket is
 * open, but none of our hooks reads them: a fetch Request with the upgrade's headers cost
 * about 2 KB per open socket (bench S4), and its URL held the y-websocket token. Its empty
 * `url` makes Hocuspocus's parameters an empty URLSearchParams rather than a parsed URL.
 */
const NO_REQUEST = { headers: new Headers(), url: '' } as unknown as Request;

/** Longest delay Node's timers take (about 24.8 days); a later expiry is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Closes a client's connection to its document: Hocuspocus's Close message (the y-websocket
 * bridge closes its socket on it), and the socket itself with the contract's code, so that a
 * /collab provider reconnects and authenticates each of its documents again (a stock
 * provider would otherwise sit on a document closed under it, unsynced, with no error).
 */
function closeConnection(connection: Connection, code: ErrorCode): void {
  connection.close({ code: closeCodeFor(code), reason: code });
  connection.webSocket.close(closeCodeFor(code), code);
}

/** Closes the connection with UNAUTHORIZED once its credential expires. */
function closeAtExpiry(connection: Connection, expiresAt: number): void {
  let timer: NodeJS.Timeout;
  const check = () => {
    const left = expiresAt - Date.now();
    if (left <= 0) return closeConnection(connection, 'UNAUTHORIZED');
    timer = setTimeout(check, Math.min(left, MAX_TIMER_MS));
    timer.unref();
  };
  check();
  connection.onClose(() => clearTimeout(timer));
}

export interface HocuspocusRoomsOptions {
  persistence: Persistence;
  roomSync: RoomSync;
  logger: Logger;
  /** Bytes of updates waiting for missing dependencies a document may hold before they are dropped. */
  maxPendingBytes: number;
  /** MAX_DOCUMENT_BYTES: a socket update that would take a document past it closes the socket (4413), unapplied. */
  maxDocumentBytes: number;
  idleTimeoutMs: number;
  awarenessLimits: AwarenessLimits;
}

/** The y-protocols sync message that carries no update (the others, step 2 and update, do). */
const SYNC_STEP_1 = 0;

/**
 * Documents one /collab socket may have waiting for authentication at once. Not more:
 * Hocuspocus counts what waits by walking all of it for every new message, so the cost of a
 * socket that fills these grows with their square.
 */
export const MAX_DOCUMENTS_PER_SOCKET = 1_000;

export function createHocuspocusRooms(options: HocuspocusRoomsOptions) {
  const { persistence, roomSync, logger } = options;
  const pendingGuards = new Map<string, PendingGuard>();
  const sizeGuards = new Map<string, SizeGuard>();
  const awarenessWatches = new Map<string, () => void>();
  /**
   * Per loaded document, the Yjs client id each author's server writes use, so that blame
   * tells authors apart (the document's own client id would lump every agent together). New
   * per load and per node: two nodes never write with one client id.
   */
  const writerIds = new Map<string, Map<string, number>>();
  const agents = createAgentPresence();
  const writerIdOf = (documentId: string, doc: Y.Doc, author: Author): number => {
    let ids = writerIds.get(documentId);
    if (!ids) writerIds.set(documentId, (ids = new Map()));
    let id = ids.get(author.id);
    if (id === undefined) {
      do id = randomInt(1, 2 ** 32);
      while (doc.store.clients.has(id));
      ids.set(author.id, id);
    }
    return id;
  };
  /** The awareness client ids each connection (a socket on one document) has sent. */
  const claimedIds = new WeakMap<Connection, Set<number>>();
  /**
   * The update each socket is applying per document, from beforeSync until afterHandleMessage:
   * Hocuspocus sends its acknowledgement (SyncStatus) in between, and the acknowledgement
   * waits for that update, not for everyone's.
   */
  const applying = new WeakMap<object, Map<string, Uint8Array>>();
  const claimedBy = (connection: Connection) => {
    let claimed = claimedIds.get(connection);
    if (!claimed) claimedIds.set(connection, (claimed = new Set()));
    return claimed;
  };

  const extension: Extension = {
    extensionName: 'tandem',

    // Once per document a socket opens (on /collab a failed attempt leaves no state behind, so
    // a later good one starts clean). A read-only grant makes Hocuspocus refuse the
    // connection's document updates (not applied, not logged, not broadcast) while it still
    // syncs and shares awareness.
    async onAuthenticate({ token, documentName, context, connectionConfig }) {
      const access = (context as Record<string, unknown>)[SOCKET_ACCESS] as SocketAccess | undefined;
      if (!access) throw { reason: 'UNAUTHORIZED' };
      try {
        const grant = await access.authorize(token, documentName);
        connectionConfig.readOnly = grant.readOnly;
        return { [SOCKET_GRANT]: grant };
      } catch (error) {
        if (!(error instanceof AppError)) {
          // The database did not answer, or a bug: not a refusal. INTERNAL closes with 1011, so the client comes back.
          logger.error({ err: error, documentId: documentName }, 'could not check a socket\'s credential');
          throw { reason: 'INTERNAL' };
        }
        logger.debug({ documentId: documentName, code: error.code, reason: error.message }, 'socket refused');
        // Hocuspocus sends the reason in its PermissionDenied message; the y-websocket bridge
        // turns it into the close code, a Hocuspocus client sees it as is.
        throw { reason: error.code };
      }
    },

    async connected({ connection, context }) {
      const grant = (context as Record<string, unknown>)[SOCKET_GRANT] as SocketGrant | undefined;
      if (grant?.expiresAt != null) closeAtExpiry(connection, grant.expiresAt);
    },

    async onLoadDocument({ documentName, document, context }) {
      // The first connection's grant says whether (and where) a new document may be made; a
      // server-side write has none: its document must exist.
      const grant = (context as Record<string, unknown>)[SOCKET_GRANT] as SocketGrant | undefined;
      await roomSync.open(documentName);
      let seq: number;
      try {
        seq = await persistence.load(documentName, document, grant?.createIn ?? null);
      } catch (error) {
        await roomSync.closed(documentName);
        // Hocuspocus then refuses the connection and keeps no half-loaded document.
        throw { reason: error instanceof AppError ? error.code : 'DOCUMENT_UNAVAILABLE' };
      }
      roomSync.loaded({ name: documentName, doc: document, awareness: document.awareness }, seq);
    },

    async afterLoadDocument({ documentName, document }) {
      const guard = createPendingGuard(pendingStoreOf(document), options.maxPendingBytes);
      pendingGuards.set(documentName, guard);
      sizeGuards.set(documentName, createSizeGuard(document, options.maxDocumentBytes));
      persistence.logUpdates(documentName, document);
      document.on('afterTransaction', () => guard.afterTransaction());
      const stopLimiting = limitDocumentAwareness(document.awareness, options.awarenessLimits);
      // Hocuspocus applies a connection's awareness with the origin { source: 'connection', connection }.
      const claim = (changes: { added: number[]; updated: number[] }, origin: unknown) => {
        const connection = (origin as { source?: string; connection?: Connection } | null)?.connection;
        if ((origin as { source?: string } | null)?.source === 'connection' && connection) claimApplied(claimedBy(connection), changes);
      };
      document.awareness.on('update', claim);
      awarenessWatches.set(documentName, () => {
        stopLimiting();
        document.awareness.off('update', claim);
      });
    },

    // Hocuspocus applies (and so broadcasts) only what is left in `states` after this hook.
    async beforeHandleAwareness({ states, connection, document }) {
      if (!connection) return; // the server's own states
      filterInbound(states, claimedBy(connection), document.awareness, options.awarenessLimits);
    },

    // Every update a client sends passes here before Hocuspocus applies it. One that would take
    // the document past MAX_DOCUMENT_BYTES is refused the way Hocuspocus refuses a read-only
    // connection's updates (not applied, not logged, not broadcast), and the socket closes
    // with 4413: retrying the same update cannot help. Throwing here would refuse it too, but
    // Hocuspocus prints every exception of a message to the console.
    async beforeSync({ documentName, connection, type, payload }) {
      if (type === SYNC_STEP_1 || connection.readOnly) return;
      let updates = applying.get(connection.webSocket);
      if (!updates) applying.set(connection.webSocket, (updates = new Map()));
      updates.set(documentName, payload);
      const guard = sizeGuards.get(documentName);
      if (!guard || guard.admits(payload)) return;
      logger.info({ documentId: documentName, bytes: guard.bytes(), maxBytes: options.maxDocumentBytes }, 'refused a socket update that would pass the document size limit');
      connection.readOnly = true;
      closeConnection(connection, 'DOCUMENT_TOO_LARGE');
    },

    async afterHandleMessage({ documentName, document, connection }) {
      const updates = applying.get(connection.webSocket);
      const sentUpdate = updates?.delete(documentName) ?? false;
      // Every client sends an update as it syncs: an idle socket need not keep an empty map.
      if (updates?.size === 0) applying.delete(connection.webSocket);
      const action = pendingGuards.get(documentName)?.afterMessage(sentUpdate);
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

    // Hocuspocus unloads a document only after its store hook resolved.
    async onStoreDocument({ documentName }) {
      await persistence.whenDurable(documentName);
      // Other nodes' updates its clients may have built on are stored before it unloads (or
      // adopted then; a failure is reported where they are adopted).
      await roomSync.settled(documentName).catch(() => undefined);
    },

    async afterUnloadDocument({ documentName }) {
      pendingGuards.get(documentName)?.close();
      pendingGuards.delete(documentName);
      sizeGuards.get(documentName)?.close();
      sizeGuards.delete(documentName);
      awarenessWatches.get(documentName)?.();
      awarenessWatches.delete(documentName);
      writerIds.delete(documentName);
      persistence.unloaded(documentName);
      await roomSync.closed(documentName);
    },
  };

  const hocuspocus = new Hocuspocus({
    name: 'tandem',
    quiet: true,
    timeout: options.idleTimeoutMs,
    // A provider authenticates every document of its socket at once on each (re)connect, and
    // Hocuspocus closes a socket past these (1013, which the provider retries into the same
    // wall): its defaults (100 documents, 1,000 messages) lock out a socket with more
    // documents for good. What waits is still bounded, by bytes, and the socket's reading is
    // paced (socket-pacing.ts), so many documents cost time, not a lockout.
    maxPendingDocuments: MAX_DOCUMENTS_PER_SOCKET,
    // Each update goes out as it is applied, as the reference y-websocket server sends it.
    // Hocuspocus's default (0) collects an event-loop turn's updates and merges them with
    // Y.mergeUpdates, whose cost grows with the square of their number (it re-sorts its
    // inputs for every struct it writes): a fast writer's burst of a few hundred updates then
    // costs the node far more than sending each one (the automerge-paper trace: 85% of the
    // node's CPU in mergeUpdates, measured).
    flushDelay: false,
    maxUnauthenticatedQueueMessages: 4 * MAX_DOCUMENTS_PER_SOCKET,
    maxUnauthenticatedQueueSize: 2 * options.maxPendingBytes,
    extensions: [extension],
  });

  const connectionsOf = (documentId: string) => hocuspocus.documents.get(documentId)?.getConnections() ?? [];

  return {
    /** A socket speaking the Hocuspocus protocol (its frames addressed to documents), checked by `access`. */
    handleConnection(socket: ClientSocket, access: SocketAccess): Pick<SocketHandlers, 'close'> & { message(data: Uint8Array): void } {
      const connection = hocuspocus.handleConnection(socket, NO_REQUEST, { [SOCKET_ACCESS]: access });
      return {
        message: (data) => connection.handleMessage(data),
        close: (code, reason) => connection.handleClose({ code, reason }),
      };
    },

    /**
     * When an acknowledgement Hocuspocus sends now on `socket` for the document may go out:
     * once the update it acknowledges is integrated (not waiting for missing dependencies) and
     * everything the document accepted so far is committed.
     */
    acknowledgeable(documentName: string, socket: object): Promise<void> {
      const guard = pendingGuards.get(documentName);
      // Captured now: what the document accepted up to this acknowledgement, from its clients
      // and from other nodes.
      const durable = () => Promise.all([persistence.durable(documentName), roomSync.settled(documentName)]).then(() => undefined);
      if (!guard?.waiting()) return durable();
      const update = applying.get(socket)?.get(documentName);
      const document = hocuspocus.documents.get(documentName);
      const ready = update && document ? () => isIntegrated(document, update) : undefined;
      return guard.whenIntegrated(ready).then(durable);
    },

    /** Runs `change` in one transaction on the live document (loaded if no one has it open), as `write`. */
    async transact(documentId: string, change: (doc: Document, size: LiveSize) => void, write: ServerWrite): Promise<void> {
      let connection;
      try {
        connection = await hocuspocus.openDirectConnection(documentId, { [SERVER_WRITE]: write });
      } catch (error) {
        // A failed load surfaces as the { reason } onLoadDocument threw.
        const reason = (error as { reason?: unknown } | null)?.reason;
        throw isErrorCode(reason) ? new AppError(reason) : error;
      }
      try {
        const author = write.by.author;
        let transaction: Y.Transaction | null = null;
        let writerId = 0;
        await connection.transact((doc) => {
          const own = doc.clientID;
          if (author) doc.clientID = writerId = writerIdOf(documentId, doc, author);
          try {
            change(doc, { contentBytes: () => sizeGuards.get(documentId)?.bytes() ?? contentBytesOfDoc(doc) });
          } finally {
            doc.clientID = own;
          }
          transaction = doc._transaction;
        });
        // An agent at work shows in the document's presence, where it changed it.
        const cursor = author?.kind === 'agent' && transaction ? cursorOf(transaction) : null;
        const document = connection.document;
        if (author && cursor && document) {
          // The agent's state holds the document (this connection) until it is taken away.
          const held = connection;
          agents.show(documentId, document.awareness, writerId, author, cursor, () => {
            held.disconnect().catch((error: unknown) => logger.warn({ err: error, documentId }, 'could not release a document an agent wrote to'));
          });
          connection = undefined;
        }
      } finally {
        // Unloads the document if no client has it open (after its appends are durable).
        await connection?.disconnect();
      }
    },

    /** Closes every client connection to the document, with `code`'s close code and the code as reason. */
    disconnectAll(documentId: string, code: ErrorCode): void {
      for (const connection of connectionsOf(documentId)) closeConnection(connection, code);
    },

    /**
     * Re-checks every live connection's grant: a connection that lost access is closed
     * (FORBIDDEN, UNAUTHORIZED once its credential expired, DOC_NOT_FOUND once the document
     * was deleted), one that may now only read is made read-only (and the other way round).
     */
    async recheckAccess(): Promise<void> {
      const checks: Promise<void>[] = [];
      for (const document of hocuspocus.documents.values()) {
        for (const connection of document.getConnections()) {
          const grant = connection.context[SOCKET_GRANT] as SocketGrant | undefined;
          if (!grant) continue;
          checks.push(
            grant.recheck().then(
              (now) => {
                if (now === 'read' || now === 'write') connection.readOnly = now === 'read';
                else closeConnection(connection, now);
              },
              (error: unknown) => logger.warn({ err: error, documentId: document.name }, 'could not re-check a socket; keeping it as it is'),
            ),
          );
        }
      }
      await Promise.all(checks);
    },

    stats() {
      return { documents: hocuspocus.getDocumentsCount(), connections: hocuspocus.getConnectionsCount() };
    },

    /** Closes every connection, then waits until every document is durable and unloaded. */
    async close(background: () => Promise<unknown>[]): Promise<void> {
      agents.endAll();
      hocuspocus.closeConnections();
      hocuspocus.flushPendingStores();
      while (hocuspocus.getDocumentsCount() > 0 || hocuspocus.unloadingDocuments.size > 0 || background().length > 0) {
        await Promise.allSettled([...hocuspocus.unloadingDocuments.values(), ...background()]);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}

export type HocuspocusRooms = ReturnType<typeof createHocuspocusRooms>;
