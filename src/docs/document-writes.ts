import * as Y from 'yjs';
import { AppError } from '../errors.ts';
import type { DocumentRecord, DocumentRepository } from '../storage/document-repository.ts';
import type { Author, LiveDocuments, LiveDocumentSize, StoredDocuments } from './ports.ts';
import { requireWithinLimit, utf8Bytes } from './document-size.ts';
import type { ScopedIdempotencyKey } from './idempotency-key.ts';
import type { EditLimits } from './text-edits.ts';
import { contentFormat } from '../formats/formats.ts';
import type { ContentFormat } from '../formats/ports.ts';
import { DIFF_LIMITS, type DiffLimits } from '../formats/text-diff.ts';
import { contentBytesAtMost, contentBytesWith, newContentBytes } from './yjs-content-size.ts';
import { baseStateOf, typeChangedSince, typesDeletedBy } from './lost-edits.ts';
import { docFromUpdates, missingDependencies } from './yjs-state.ts';

/**
 * What a write changes: the markdown (a function of the text it applies to, given the limits
 * so that edits can stop before they build too large a text), or a raw Yjs update.
 */
export type DocumentChange = { kind: 'text'; next: (text: string, limits: EditLimits) => string } | { kind: 'update'; update: Uint8Array };

export interface WriteOptions {
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

export interface DocumentWriter {
  write(id: string, change: DocumentChange, options: WriteOptions): Promise<WriteResult>;
}

interface WriterDeps {
  repository: DocumentRepository;
  stored: StoredDocuments;
  live: LiveDocuments;
  /** MAX_DOCUMENT_BYTES: no write may make a document larger (413 DOCUMENT_TOO_LARGE, nothing applied). */
  maxDocumentBytes: number;
}

/**
 * Agents' writes. A change made against an older version is replayed on a rebuild of that
 * version by a fresh Yjs client and merged into the live document, so whatever people typed
 * since survives; without a base it applies to the live text as it is now.
 */
export function createDocumentWriter({ repository, stored, live, maxDocumentBytes }: WriterDeps): DocumentWriter {
  /** Idempotency keys whose write is running on this node: a concurrent retry waits for it. */
  const inFlight = new Map<string, Promise<WriteResult>>();
  const limits: EditLimits = { maxBytes: maxDocumentBytes };

  /** The markdown a text change makes, refused (before it reaches any document) when it is over the limit. */
  const wantedText = (change: { next: (text: string, limits: EditLimits) => string }) => (text: string) => {
    const wanted = change.next(text, limits);
    requireWithinLimit(utf8Bytes(wanted), maxDocumentBytes);
    return wanted;
  };

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
  async function updateAgainst(id: string, format: ContentFormat, base: number, next: (text: string) => string): Promise<BaseChange | null> {
    const updates = await stored.loadAt(id, base);
    if (!updates) {
      throw new AppError('BASE_VERSION_GONE', `Version ${base} of ${id} is older than its kept history; read it again`);
    }
    return changeAgainstBase(format, updates, next);
  }

  async function apply(id: string, change: DocumentChange, options: WriteOptions): Promise<WriteResult> {
    const author: Author = { authorKind: 'agent', idempotencyKey: options.idempotencyKey };
    let base = options.base;
    // A version to compare with is read once this node's pending appends are durable. Without
    // a base, the lookup is still what keeps a live write from creating the document, as
    // connecting does.
    const record = options.ifMatch === undefined && base === undefined ? await requireDocument(id) : await currentRecord(id);
    const format = await contentFormat(record.format);
    if (options.ifMatch !== undefined) {
      if (record.version !== options.ifMatch) {
        throw new AppError('PRECONDITION_FAILED', `${id} is at version ${record.version}, not ${options.ifMatch}`);
      }
      base = options.ifMatch;
    } else if (base !== undefined && base > record.version) {
      throw new AppError('VALIDATION_FAILED', `Base version ${base} is newer than ${id}'s version ${record.version}`);
    }
    if (base === undefined && change.kind === 'text' && format.name !== 'markdown') {
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
          // Computed before touching the document, so a conflict (or a text too large) leaves it as it was.
          const wanted = wantedText(change)(format.render(doc));
          format.replace(doc, wanted);
        },
        author,
      );
    } else {
      const based = await updateAgainst(id, format, base, wantedText(change));
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

/** A change made on a rebuild of its base: the update to merge, and what it deletes there. */
export interface BaseChange {
  update: Uint8Array;
  /**
   * Refuses (EDIT_CONFLICT) to merge into `live` a change that deletes a block someone changed
   * after the base (lost-edits.ts): merging would delete their change with it.
   */
  requireNothingLost(live: Y.Doc): void;
}

/**
 * The base-version merge: `next` applied to a rebuild of the base (`baseUpdates`, its snapshot
 * and log) by a fresh Yjs client, as the update that merging into the live document takes,
 * or null if it changes nothing. Pure, so that its merge property can be tested on its own.
 */
export function changeAgainstBase(
  format: ContentFormat,
  baseUpdates: readonly Uint8Array[],
  next: (text: string) => string,
  limits: DiffLimits = DIFF_LIMITS,
): BaseChange | null {
  const doc = docFromUpdates(baseUpdates);
  try {
    const before = Y.encodeStateVector(doc);
    const base = baseStateOf(doc);
    const wanted = next(format.render(doc));
    let changed = false;
    let deletedTypes: Y.ID[] = [];
    doc.once('afterTransaction', (transaction: Y.Transaction) => {
      deletedTypes = typesDeletedBy(transaction);
    });
    doc.transact(() => {
      changed = format.replace(doc, wanted, limits);
    });
    if (!changed) return null;
    return {
      update: Y.encodeStateAsUpdate(doc, before),
      requireNothingLost(live) {
        const lost = typeChangedSince(live, deletedTypes, base);
        if (lost) {
          throw new AppError(
            'EDIT_CONFLICT',
            `The change deletes, moves or joins a block that someone edited after the version it was made on (${describe(lost)}); merging it would delete their edit, so nothing was applied. Read the document again and send the change against the new version.`,
          );
        }
      },
    };
  } finally {
    doc.destroy();
  }
}

/** A block, for a person: its kind and how it starts. */
function describe(type: Y.AbstractType<unknown>): string {
  if (!(type instanceof Y.XmlElement)) return 'a part of the document';
  const words = textOf(type).trim().slice(0, 40);
  return `the ${type.nodeName}${words ? ` that starts "${words}"` : ''}`;
}

function textOf(type: Y.XmlElement): string {
  return type
    .toArray()
    .map((child) =>
      child instanceof Y.XmlText
        ? (child.toDelta() as { insert: unknown }[]).map((op) => (typeof op.insert === 'string' ? op.insert : '')).join('')
        : child instanceof Y.XmlElement
          ? ` ${textOf(child)}`
          : '',
    )
    .join('');
}
