import { randomBytes } from 'node:crypto';
import * as Y from 'yjs';
import { AppError } from '../errors.ts';
import { newDocumentKeys } from '../access/document-keys.ts';
import type { DocumentRecord, DocumentRepository, DocumentScope } from '../storage/document-repository.ts';
import type { Author } from './authors.ts';
import type { DocumentChange, DocumentWriter, WriteOptions, WriteResult } from './document-writes.ts';
import { isValidDocumentId } from './document-id.ts';
import { requireWithinLimit, utf8Bytes } from './document-size.ts';
import type { ScopedIdempotencyKey } from './idempotency-key.ts';
import type { LiveDocuments, StoredDocuments } from './ports.ts';
import type { ContentWork } from './content-work.ts';
import { docFromUpdates } from './yjs-state.ts';
import type { DocumentFormat } from '../formats/ports.ts';

export interface DocumentService {
  /**
   * Creates a document in `workspaceId` with a fresh read key and write key, returned only
   * here (they are stored as hashes); a replayed create (same Idempotency-Key) has none.
   */
  create(input: {
    id?: string | undefined;
    title?: string | undefined;
    content?: string | undefined;
    /** 'markdown' unless given. */
    format?: DocumentFormat | undefined;
    /** Idempotency-Key, scoped to its caller: another caller's key never finds this one's document. */
    idempotencyKey?: ScopedIdempotencyKey | undefined;
    workspaceId: string | null;
    /** Who writes its content. */
    author: Author | null;
  }): Promise<{ record: DocumentRecord; created: boolean; keys: { readKey: string; writeKey: string } | null }>;
  /** The document's metadata at its current durable version. */
  describe(id: string): Promise<DocumentRecord>;
  /** Metadata and markdown at the current durable version: the content is exactly the log up to `version`. */
  read(id: string): Promise<{ record: DocumentRecord; content: string }>;
  list(options: { afterId?: string | undefined; limit: number; scope: DocumentScope }): Promise<DocumentRecord[]>;
  remove(id: string): Promise<void>;
  undelete(id: string): Promise<DocumentRecord>;
  write(id: string, change: DocumentChange, options: WriteOptions): Promise<WriteResult>;
  /** The whole Yjs state at the current version, or only what a client with `stateVector` lacks. */
  yjsState(id: string, stateVector?: Uint8Array): Promise<{ update: Uint8Array; version: number; format: DocumentFormat }>;
  readVersion(id: string, version: number): Promise<{ version: number; content: string }>;
  /**
   * Restores the text of `version` as a new edit made against `options.base` (default: the
   * current version): edits made after that base survive.
   */
  restore(id: string, version: number, options: WriteOptions): Promise<WriteResult>;
}

interface ServiceDeps {
  repository: DocumentRepository;
  stored: StoredDocuments;
  live: LiveDocuments;
  writer: DocumentWriter;
  /** Where content is rendered and made (off the event loop for rich text). */
  work: ContentWork;
  /** MAX_DOCUMENT_BYTES, for a new document's content (writes are checked by the writer). */
  maxDocumentBytes: number;
  /** Told when a document is deleted (webhooks). */
  events?: { deleted(id: string): void } | undefined;
}

/** Reads are served from storage, after this node's pending appends are durable. */
export function createDocumentService({ repository, stored, live, writer, work, maxDocumentBytes, events }: ServiceDeps): DocumentService {
  async function describe(id: string): Promise<DocumentRecord> {
    await live.whenDurable(id);
    const record = await repository.find(id);
    if (!record || record.deletedAt) throw new AppError('DOC_NOT_FOUND', `No document ${id}`);
    return record;
  }

  /** The updates of the current version. A compaction can trim the log between the two reads: read again. */
  async function current(id: string): Promise<{ record: DocumentRecord; updates: Uint8Array[] }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const record = await describe(id);
      const updates = await stored.loadAt(id, record.version);
      if (updates) return { record, updates };
    }
    throw new AppError('DOCUMENT_UNAVAILABLE', `The history of ${id} changed while it was read; try again`);
  }

  async function readVersion(id: string, version: number): Promise<{ version: number; content: string }> {
    const record = await describe(id);
    const updates = version <= record.version ? await stored.loadAt(id, version) : null;
    if (!updates) {
      throw new AppError('VERSION_NOT_FOUND', `${id} has no version ${version} (it is at ${record.version})`);
    }
    return { version, content: await work.markdownOf(record.format, updates) };
  }

  return {
    async create({ id, title, content, format = 'markdown', idempotencyKey, workspaceId, author }) {
      if (id !== undefined && !isValidDocumentId(id)) throw new AppError('INVALID_DOCUMENT_ID');
      if (content) requireWithinLimit(utf8Bytes(content), maxDocumentBytes);
      const keys = newDocumentKeys();
      // A new document's content is a change on an empty one.
      const initialUpdate = content ? (await work.changeOn(format, [], { content }, maxDocumentBytes))?.update : undefined;
      const { record, replayed } = await repository.create({
        id: id ?? randomBytes(12).toString('base64url'),
        title: title ?? '',
        format,
        initialUpdate,
        initialAuthor: initialUpdate && { author, clients: [...Y.parseUpdateMeta(initialUpdate).to.keys()] },
        idempotencyKey,
        workspaceId,
        ...keys.hashes,
      });
      return { record, created: !replayed, keys: replayed ? null : { readKey: keys.readKey, writeKey: keys.writeKey } };
    },

    describe,

    async read(id) {
      const { record, updates } = await current(id);
      return { record, content: await work.markdownOf(record.format, updates) };
    },

    list: (options) => repository.list(options),

    async remove(id) {
      const record = await repository.setDeleted(id, true);
      if (!record) throw new AppError('DOC_NOT_FOUND', `No document ${id}`);
      live.disconnectAll(id, 'DOC_NOT_FOUND');
      events?.deleted(id);
    },

    async undelete(id) {
      const record = await repository.setDeleted(id, false);
      if (!record) throw new AppError('DOC_NOT_FOUND', `No document ${id}`);
      return record;
    },

    write: (id, change, options) => writer.write(id, change, options),

    async yjsState(id, stateVector) {
      const { record, updates } = await current(id);
      const doc = docFromUpdates(updates);
      try {
        return { update: Y.encodeStateAsUpdate(doc, stateVector), version: record.version, format: record.format };
      } finally {
        doc.destroy();
      }
    },

    readVersion,

    async restore(id, version, options) {
      const { content } = await readVersion(id, version);
      const base = options.ifMatch ?? options.base ?? (await describe(id)).version;
      return writer.write(id, { kind: 'text', change: { content } }, { ...options, base });
    },
  };
}
