import type { Author, WriteBy } from '../docs/authors.ts';

/**
 * What the rooms need from the rest of the node. collab/ never imports storage, Fastify,
 * Prisma or Redis: main.ts passes implementations of these in.
 */
export interface RoomStorage {
  /**
   * Makes sure the document exists: creates it in `createIn`'s workspace when it is new and
   * the connecting client may create it (y-websocket semantics: connecting creates), else
   * DOC_NOT_FOUND. Deleted documents are DOC_NOT_FOUND either way.
   */
  ensure(documentId: string, createIn: { workspaceId: string | null } | null): Promise<void>;
  /** The newest snapshot followed by the log after it, and the seq they reach. */
  load(documentId: string): Promise<{ seq: number; updates: Uint8Array[] }>;
  /**
   * What the log holds after `seq`: its updates and the seq they reach (the whole state when
   * the log after `seq` was compacted away). How a room catches up with other nodes.
   */
  loadAfter(documentId: string, seq: number): Promise<{ seq: number; updates: Uint8Array[] }>;
  /** Head seqs of these documents (missing ones left out), in one query. */
  heads(documentIds: string[]): Promise<Map<string, number>>;
  /** Called after a document unloads; may compact its log into a snapshot. */
  afterUnload(documentId: string): Promise<void>;
}

export interface RoomOpLog {
  /**
   * Resolves with the update's seq once it is durable. `newClients`: the Yjs client ids it
   * brought to the document, to be mapped to its author.
   */
  append(documentId: string, update: Uint8Array, by?: WriteBy, newClients?: readonly number[]): Promise<number>;
  whenDurable(documentId: string): Promise<void>;
}

/** The part of a WebSocket the rooms use (the `ws` package's WebSocket fits). */
export interface ClientSocket {
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** What a transport calls when its socket receives a message or closes. */
export interface SocketHandlers {
  message(data: Uint8Array, isBinary: boolean): void;
  close(code: number, reason: string): void;
}

/** What a socket's credential allows on one document. */
export interface SocketGrant {
  readOnly: boolean;
  /** Whom the socket's updates are attributed to. */
  author: Author;
  /** Set when the document does not exist yet and the client may create it (there). */
  createIn: { workspaceId: string | null } | null;
  /** When the credential expires (ms since the epoch; null: never): its sockets close with UNAUTHORIZED then. */
  expiresAt: number | null;
  /** The grant as it stands now (after a key was revoked, a share removed, the document deleted, ...). */
  recheck(): Promise<SocketRecheck>;
}

/** 'read' or 'write', or the error a socket that lost the document closes with. */
export type SocketRecheck = 'read' | 'write' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'DOC_NOT_FOUND';

/**
 * Checks socket credentials; given per socket by the transport (http/socket-routes.ts).
 * Throws an AppError (UNAUTHORIZED, FORBIDDEN, DOC_NOT_FOUND) to refuse.
 */
export interface SocketAccess {
  authorize(token: string, documentId: string): Promise<SocketGrant>;
}

/** What travels between nodes about one document. */
export type BusMessage =
  /**
   * An update the origin node accepted, published before its commit; `local` numbers it among
   * the origin's updates, for the confirmation to name.
   */
  | { kind: 'update'; origin: string; local: number; payload: Uint8Array }
  /** The origin's updates `local` are in the op log at `seq`. */
  | { kind: 'committed'; origin: string; commits: { local: number; seq: number }[] }
  /** An awareness update (y-protocols encoding) from a node's clients. */
  | { kind: 'awareness'; origin: string; payload: Uint8Array };

/**
 * Carries updates, their commits and awareness between nodes (bus/: Redis, or in-process for one
 * node). Delivery is best effort: the rooms repair lost updates from the op log.
 */
export interface UpdateBus {
  /** True when other nodes may exist (then rooms also poll the log for what the bus lost). */
  readonly distributed: boolean;
  /** Resolves once subscribed: every message published after that reaches `handler`. */
  subscribe(documentId: string, handler: (message: BusMessage) => void): Promise<() => Promise<void>>;
  /** Fire and forget; a lost message is repaired from the op log by the receivers. */
  publish(documentId: string, message: BusMessage): void;
  /** `listener` runs after the bus reconnected: messages may have been lost meanwhile. */
  onReconnect(listener: () => void): void;
}
