import type * as Y from 'yjs';
import type { ErrorCode } from '../errors.ts';
import type { WriteBy } from './authors.ts';

/**
 * The rooms, as the document services need them (main.ts wires the collab server in):
 * writes go through the live document so that connected clients see them at once.
 */
export interface LiveDocuments {
  /**
   * Runs `change` on the live document in one transaction (loading it if needed). Resolves
   * once the change is durable, with the seq of its update, or null when it changed nothing.
   * `size` is what the room knows of the document's size, for a change that must not pass a limit.
   */
  write(documentId: string, change: (doc: Y.Doc, size: LiveDocumentSize) => void, by: WriteBy): Promise<number | null>;
  /** Resolves once every update this node accepted for the document is durable. */
  whenDurable(documentId: string): Promise<void>;
  disconnectAll(documentId: string, code: ErrorCode): void;
}

/** What a room keeps count of while its document is loaded. */
export interface LiveDocumentSize {
  /** The bytes of content the live document holds (docs/yjs-content-size.ts), kept up to date as it changes. */
  contentBytes(): number;
}

/** Stored Yjs state of a document (storage/document-store.ts). */
export interface StoredDocuments {
  /** The updates that rebuild version `version`, or null when it is outside the kept history. */
  loadAt(documentId: string, version: number): Promise<Uint8Array[] | null>;
}
