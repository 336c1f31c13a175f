import * as Y from 'yjs';
import { AppError } from '../errors.ts';
import { markdownFormat } from '../formats/markdown-format.ts';
import type { DocumentFormat } from '../formats/ports.ts';
import type { DocumentRecord, DocumentRepository } from '../storage/document-repository.ts';
import type { BaseChange } from './base-change.ts';
import type { ContentWork } from './content-work.ts';
import { requireWithinLimit } from './document-size.ts';
import type { ScopedIdempotencyKey } from './idempotency-key.ts';
import type { Author, RevertMark } from './authors.ts';
import type { LiveDocuments, LiveDocumentSize, StoredDocuments } from './ports.ts';
import { changedText, type TextChange } from './text-change.ts';
import { contentBytesAtMost, contentBytesOfDoc, contentBytesWith, newContentBytes } from './yjs-content-size.ts';
import { docFromUpdates, missingDependencies } from './yjs-state.ts';

/** What a write changes: the markdown (text-change.ts), or a raw Yjs update. */
export type DocumentChange = { kind: 'text'; change: TextChange } | { kind: 'update'; update: Uint8Array };

export interface WriteOptions {
  /** Who writes (null: not known); stored with the update. */
  author: Author | null;
  /** Set by a revert: stored with its update. */
  reverts?: RevertMark | undefined;
  /** The version the change was made against (Base-Version / base): merged with everything since. */
  base?: number | undefined;
  /** If-Match: refuse (412) unless the document is still at this version. */
  ifMatch?: number | undefined;
  /** Idempotency-Key, scoped to its caller and route: a retry with it applies once. */
  idempotencyKey?: ScopedIdempotencyKey | undefined;
}

export interface WriteResult {
  id: string;
  /** The version holding the change (or the current one, when it changed nothing). */
  version: number;
  changed: boolean;
}

/** What a text change would make of a document if it were written now (a suggestion's preview). */
export interface WritePreview {
  /** The base it was made against: the one asked for (or If-Match), else the current version. */
  base: number;
  /** The version it was merged with. */
  version: number;
  markdown: string;
}

export interface DocumentWriter {
  write(id: string, change: DocumentChange, options: WriteOptions): Promise<WriteResult>;
  /**
   * The markdown `write` of this text change against `options.base` (default: the current
   * version) would leave now, merged with everything since, refused as `write` would refuse
   * it (EDIT_CONFLICT, BASE_VERSION_GONE, DOCUMENT_TOO_LARGE, UNSUPPORTED_MARKDOWN, 412),
   * without writing anything.
   */
  preview(id: string, change: TextChange, options: Pick<WriteOptions, 'base' | 'ifMatch'>): Promise<WritePreview>;
}

interface WriterDeps {
  repository: DocumentRepository;
  stored: StoredDocuments;
  live: LiveDocuments;
  /** MAX_DOCUMENT_BYTES: no write may make a document larger (413 DOCUMENT_TOO_LARGE, nothing applied). */
  maxDocumentBytes: number;
  /** Where changes against a base are worked out (off the event loop for rich text). */
  work: ContentWork;
}

/**
 * Agents' writes. A change made against an older version is replayed on a rebuild of that
 * version by a fresh Yjs client and merged into the live document, so whatever people typed
 * since survives; without a base it applies to the live text as it is now.
 */
export function createDocumentWriter({ repository, stored, live, maxDocumentBytes, work }: WriterDeps): DocumentWriter {
  /** Idempotency keys whose write is running on this node: a concurrent retry waits for it. */
  const inFlight = new Map<string, Promise<WriteResult>>();

  /**
   * Refuses an update that would take the live document past the limit: a raw update, or a
   * change made against an older version, which merges with whatever was added since. The
   * cheap bound (what the document holds plus all the update brings) settles it unless the
   * document is near its limit; only then is the update tried on a copy, deletions and all.
   */
  function requireRoomFor(doc: Y.Doc, size: LiveDocumentSize, update: Uint8Array): void {
    const held = size.contentBytes();
    if (held + contentBytesAtMost(update) <= maxDocumentBytes || held + newContentBytes(doc, update) <= maxDocumentBytes) return;
    requireWithinLimit(contentBytesWith(doc, update), maxDocumentBytes);
  }

  async function requireDocument(id: string): Promise<DocumentRecord> {
    const record = await repository.find(id);
    if (!record || record.deletedAt) throw new AppError('DOC_NOT_FOUND', `No document ${id}`);
    return record;
  }

  /** The document once everything this node accepted for it is durable. */
  async function currentRecord(id: string): Promise<DocumentRecord> {
    await live.whenDurable(id);
    return requireDocument(id);
  }

  /** The change as a Yjs update made by a fresh client on version `base`, or null if it changes nothing. */
  async function updateAgainst(id: string, format: DocumentFormat, base: number, change: TextChange): Promise<BaseChange | null> {
    const updates = await stored.loadAt(id, base);
    if (!updates) {
      throw new AppError('BASE_VERSION_GONE', `Version ${base} of ${id} is older than its kept history; read it again`);
    }
    return work.changeOn(format, updates, change, maxDocumentBytes);
  }

  /** The current version and the updates that rebuild it. A compaction can trim the log between the two reads: read again. */
  async function currentState(id: string): Promise<{ record: DocumentRecord; updates: Uint8Array[] }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const record = await currentRecord(id);
      const updates = await stored.loadAt(id, record.version);
      if (updates) return { record, updates };
    }
    throw new AppError('DOCUMENT_UNAVAILABLE', `The history of ${id} changed while it was read; try again`);
  }

  async function preview(id: string, change: TextChange, options: Pick<WriteOptions, 'base' | 'ifMatch'>): Promise<WritePreview> {
    const { record, updates } = await currentState(id);
    const format = record.format as DocumentFormat;
    if (options.ifMatch !== undefined && record.version !== options.ifMatch) {
      throw new AppError('PRECONDITION_FAILED', `${id} is at version ${record.version}, not ${options.ifMatch}`);
    }
    const base = options.ifMatch ?? options.base ?? record.version;
    if (base > record.version) {
      throw new AppError('VALIDATION_FAILED', `Base version ${base} is newer than ${id}'s version ${record.version}`);
    }
    const based = base === record.version ? await work.changeOn(format, updates, change, maxDocumentBytes) : await updateAgainst(id, format, base, change);
    if (!based) return { base, version: record.version, markdown: await work.markdownOf(format, updates) };
    // The checks the live write makes, on a rebuild of the current version instead of the live document.
    const doc = docFromUpdates(updates);
    try {
      based.requireNothingLost(doc);
      Y.applyUpdate(doc, based.update);
      requireWithinLimit(contentBytesOfDoc(doc), maxDocumentBytes);
    } finally {
      doc.destroy();
    }
    // Rendered where content work is done (off the event loop for rich text).
    return { base, version: record.version, markdown: await work.markdownOf(format, [...updates, based.update]) };
  }

  async function apply(id: string, change: DocumentChange, options: WriteOptions): Promise<WriteResult> {
    const author = { author: options.author, idempotencyKey: options.idempotencyKey, reverts: options.reverts };
    let base = options.base;
    // A version to compare with is read once this node's pending appends are durable. Without
    // a base, the lookup is still what keeps a live write from creating the document, as
    // connecting does.
    const record = options.ifMatch === undefined && base === undefined ? await requireDocument(id) : await currentRecord(id);
    const format = record.format as DocumentFormat;
    if (options.ifMatch !== undefined) {
      if (record.version !== options.ifMatch) {
        throw new AppError('PRECONDITION_FAILED', `${id} is at version ${record.version}, not ${options.ifMatch}`);
      }
      base = options.ifMatch;
    } else if (base !== undefined && base > record.version) {
      throw new AppError('VALIDATION_FAILED', `Base version ${base} is newer than ${id}'s version ${record.version}`);
    }
    if (base === undefined && change.kind === 'text' && format !== 'markdown') {
      // Rich text is never changed on the live document itself: its change is made on a rebuild
      // of the current version and merged, so that its size in Yjs (marks included, often a few
      // times the markdown's) is checked before anything is applied, as for a based write.
      base = (await currentRecord(id)).version;
    }

    let seq: number | null;
    if (change.kind === 'update') {
      seq = await live.write(
        id,
        (doc, size) => {
          const missing = missingDependencies(doc, change.update);
          if (missing.length > 0) {
            throw new AppError('VALIDATION_FAILED', 'The update builds on changes this document does not have', {
              details: { missingClients: missing },
            });
          }
          requireRoomFor(doc, size, change.update);
          Y.applyUpdate(doc, change.update);
        },
        author,
      );
    } else if (base === undefined) {
      seq = await live.write(
        id,
        (doc) => {
          // The new text is made before the document is touched, so a conflict (or a text too large) leaves it as it was.
          markdownFormat.replace(doc, (text) => changedText(change.change, text, maxDocumentBytes));
        },
        author,
      );
    } else {
      const based = await updateAgainst(id, format, base, change.change);
      seq = based
        ? await live.write(
            id,
            (doc, size) => {
              requireRoomFor(doc, size, based.update);
              based.requireNothingLost(doc);
              Y.applyUpdate(doc, based.update);
            },
            author,
          )
        : null;
    }
    return seq === null ? { id, version: (await currentRecord(id)).version, changed: false } : { id, version: seq, changed: true };
  }

  return {
    preview,

    async write(id, change, options) {
      const key = options.idempotencyKey;
      if (key === undefined) return apply(id, change, options);
      const slot = `${id}\u0000${key}`;
      const running = inFlight.get(slot);
      if (running) return running;
      const work = (async () => {
        const earlier = await repository.findIdempotentWrite(id, key);
        if (earlier !== null) return { id, version: earlier, changed: true };
        return apply(id, change, options);
      })();
      inFlight.set(slot, work);
      try {
        return await work;
      } finally {
        inFlight.delete(slot);
      }
    },
  };
}
