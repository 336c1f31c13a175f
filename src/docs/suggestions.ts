import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { SuggestionEvent } from '../jobs/job-types.ts';
import type { AuthorshipStore } from '../storage/authorship-repository.ts';
import type { SuggestedChange, SuggestionCursor, SuggestionRecord, SuggestionStatus, SuggestionStore } from '../storage/suggestion-repository.ts';
import type { Author } from './authors.ts';
import type { DocumentService } from './document-service.ts';
import type { DocumentWriter, WriteResult } from './document-writes.ts';
import { type ScopedIdempotencyKey, scopedIdempotencyKey } from './idempotency-key.ts';

/**
 * Open suggestions one document may hold. A 501st is 409 TOO_MANY_SUGGESTIONS, not 429:
 * waiting does not help, someone has to accept or reject some. Each holds a copy of the
 * document as it would read, so the limit also bounds what one document's suggestions store.
 */
export const MAX_OPEN_SUGGESTIONS = 500;

/**
 * How old an accept's claim must be before another accept may take it over: its node died
 * between claiming and finishing. Longer than any write takes (they answer in milliseconds;
 * a stalled database fails them well before), so a live accept is never taken over.
 */
export const STALE_CLAIM_MS = 30_000;

/**
 * UTF-16 units of markdown one page of a listing may carry: each open suggestion holds the
 * whole document as accepting it would make it, so a page of a large document's suggestions
 * ends early (with a cursor for the rest) instead of holding a hundred copies at once.
 */
export const LIST_PAGE_MARKDOWN = 4 * 1024 * 1024;

/**
 * A suggestion as answered: its authors named as people and keys are called now, and, while
 * it is open, `markdown` as accepting it would make the document now; `conflict` is the error
 * code accepting it now would answer (then `markdown` is as it was made).
 */
export type SuggestionView = SuggestionRecord & { conflict: string | null };

export interface NewSuggestionInput {
  change: SuggestedChange;
  /** Base-Version / base; default: the current version. */
  base?: number | undefined;
  /** If-Match: refused (412) unless the document is still at this version, which is then the base. */
  ifMatch?: number | undefined;
  author: Author;
  idempotencyKey?: ScopedIdempotencyKey | undefined;
}

export interface SuggestionPage {
  suggestions: SuggestionView[];
  nextCursor: string | null;
}

export interface SuggestionService {
  /** Stores a change as an open suggestion, the document untouched; `created` false for a replayed create. */
  create(documentId: string, input: NewSuggestionInput): Promise<{ suggestion: SuggestionView; created: boolean }>;
  /** Newest first, a page at a time. */
  list(documentId: string, options: { status?: SuggestionStatus | undefined; limit: number; cursor?: string | undefined }): Promise<SuggestionPage>;
  get(documentId: string, id: string): Promise<SuggestionView>;
  /** Writes the change against its base as its author, once; 409 SUGGESTION_CLOSED unless open. */
  accept(documentId: string, id: string, by: Author): Promise<SuggestionView>;
  reject(documentId: string, id: string, by: Author): Promise<SuggestionView>;
}

export interface SuggestionDeps {
  store: SuggestionStore;
  writer: Pick<DocumentWriter, 'write' | 'preview'>;
  documents: Pick<DocumentService, 'describe'>;
  authorship: Pick<AuthorshipStore, 'named'>;
  /** Webhook events (jobs/document-events.ts). */
  events: { suggestion(event: SuggestionEvent, documentId: string, suggestionId: string, data: Record<string, unknown>): void };
  logger: { warn(object: object, message: string): void };
  maxOpen?: number | undefined;
  staleClaimMs?: number | undefined;
}

/**
 * The Idempotency-Key of a suggestion's accepting write: the same for every accept of it, so a
 * retry after a crash between writing and marking it accepted finds the first write instead of
 * making a second. No client's key can be the same: theirs are scoped to a credential
 * (describePrincipal), and no credential is described as `suggestion:`.
 */
export function acceptIdempotencyKey(suggestionId: string): ScopedIdempotencyKey {
  return scopedIdempotencyKey(`suggestion:${suggestionId}`, 'accept', suggestionId);
}

const encodeCursor = (cursor: SuggestionCursor) => Buffer.from(JSON.stringify([cursor.createdAt.getTime(), cursor.id])).toString('base64url');

function decodeCursor(cursor: string): SuggestionCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error) {
    throw new AppError('VALIDATION_FAILED', 'cursor is not one this server handed out', { cause: error });
  }
  // 8.64e15 ms: the furthest a Date reaches.
  if (!Array.isArray(parsed) || parsed.length !== 2 || !Number.isSafeInteger(parsed[0]) || Math.abs(parsed[0] as number) > 8.64e15 || typeof parsed[1] !== 'string') {
    throw new AppError('VALIDATION_FAILED', 'cursor is not one this server handed out');
  }
  return { createdAt: new Date(parsed[0] as number), id: parsed[1] };
}

/**
 * Suggestions: changes proposed by agents (or people, or keys with only the suggest scope)
 * that change the document only when someone with write access accepts them. Accepting is
 * the write a PATCH with the suggestion's base would be, attributed to the suggestion's
 * author, and happens at most once: the row is claimed first (open → accepting, in one
 * UPDATE), the write carries an Idempotency-Key of the suggestion's, and only then is it
 * marked accepted; a failed write puts it back to open.
 */
export function createSuggestionService(deps: SuggestionDeps): SuggestionService {
  const { store, writer, documents, authorship, events, logger } = deps;
  const maxOpen = deps.maxOpen ?? MAX_OPEN_SUGGESTIONS;
  const staleClaimMs = deps.staleClaimMs ?? STALE_CLAIM_MS;

  /** The records as views, people and keys named as they are called now (agents keep their name). */
  async function views(records: SuggestionRecord[]): Promise<SuggestionView[]> {
    const authors = records.flatMap((record) => (record.decidedBy ? [record.author, record.decidedBy] : [record.author]));
    const named = new Map((await authorship.named(authors)).map((author) => [author.id, author]));
    const name = (author: Author) => named.get(author.id) ?? author;
    return Promise.all(
      records.map(async (record) => ({
        ...record,
        ...(record.status === 'open' ? await now(record) : { conflict: null }),
        author: name(record.author),
        decidedBy: record.decidedBy && name(record.decidedBy),
      })),
    );
  }

  /** What an open suggestion would make of the document now (people go on typing after it was made). */
  async function now(record: SuggestionRecord): Promise<{ markdown: string; conflict: string | null }> {
    try {
      return { markdown: (await writer.preview(record.documentId, record.change, { base: record.base })).markdown, conflict: null };
    } catch (error) {
      if (error instanceof AppError) return { markdown: record.markdown, conflict: error.code };
      throw error;
    }
  }

  const view = async (record: SuggestionRecord) => (await views([record]))[0]!;

  /** The suggestion of this document (one of another document is none here). */
  async function findOn(documentId: string, id: string): Promise<SuggestionRecord> {
    const record = await store.find(documentId, id);
    if (!record) throw new AppError('SUGGESTION_NOT_FOUND', `Document ${documentId} has no suggestion ${id}`);
    return record;
  }

  /** Why a suggestion that could not be claimed or rejected is not open, or SUGGESTION_NOT_FOUND. */
  async function notOpen(documentId: string, id: string): Promise<AppError> {
    const record = await findOn(documentId, id);
    const detail =
      record.status === 'accepting'
        ? `Suggestion ${id} is being accepted right now`
        : record.status === 'accepted'
          ? `Suggestion ${id} was accepted already, at version ${record.version}`
          : `Suggestion ${id} was ${record.status} already`;
    return new AppError('SUGGESTION_CLOSED', detail, { details: { status: record.status } });
  }

  function announce(event: SuggestionEvent, suggestion: SuggestionView): void {
    events.suggestion(event, suggestion.documentId, suggestion.id, {
      status: suggestion.status,
      base: suggestion.base,
      author: suggestion.author,
      ...(suggestion.version === null ? {} : { version: suggestion.version }),
      ...(suggestion.decidedBy === null ? {} : { decidedBy: suggestion.decidedBy }),
    });
  }

  return {
    async create(documentId, { change, base, ifMatch, author, idempotencyKey }) {
      if (idempotencyKey !== undefined) {
        const earlier = await store.findByIdempotencyKey(documentId, idempotencyKey);
        if (earlier) return { suggestion: await view(earlier), created: false };
      }
      // Refused as the PATCH would be (EDIT_CONFLICT, BASE_VERSION_GONE, 413, 422), nothing stored.
      const preview = await writer.preview(documentId, change, { base, ifMatch });
      const stored = await store.create(
        { id: `sg_${randomBytes(12).toString('base64url')}`, documentId, base: preview.base, change, author, markdown: preview.markdown, idempotencyKey },
        maxOpen,
      );
      if (stored === 'full') {
        throw new AppError('TOO_MANY_SUGGESTIONS', `Document ${documentId} has ${maxOpen} open suggestions, the most it may hold: accept or reject some first`);
      }
      const suggestion = await view(stored.record);
      if (!stored.replayed) announce('suggestion.created', suggestion);
      return { suggestion, created: !stored.replayed };
    },

    async list(documentId, { status, limit, cursor }) {
      await documents.describe(documentId);
      const records = await store.list(documentId, { status, limit, after: cursor === undefined ? undefined : decodeCursor(cursor) });
      // One at a time, each rebuilt document let go before the next, until the page is full.
      const page: SuggestionView[] = [];
      let carried = 0;
      for (const record of records) {
        if (page.length > 0 && carried >= LIST_PAGE_MARKDOWN) break;
        const [shown] = await views([record]);
        page.push(shown!);
        carried += shown!.markdown.length;
      }
      const last = page.length < records.length || records.length === limit ? page.at(-1) : undefined;
      return { suggestions: page, nextCursor: last ? encodeCursor(last) : null };
    },

    async get(documentId, id) {
      await documents.describe(documentId);
      return view(await findOn(documentId, id));
    },

    async accept(documentId, id, by) {
      await documents.describe(documentId);
      const claim = await store.claim(documentId, id, staleClaimMs);
      if (claim === null) throw await notOpen(documentId, id);
      let result: WriteResult;
      try {
        const suggestion = await findOn(documentId, id);
        result = await writer.write(
          documentId,
          { kind: 'text', change: suggestion.change },
          { author: suggestion.author, base: suggestion.base, idempotencyKey: acceptIdempotencyKey(id) },
        );
      } catch (error) {
        // Open again, to be accepted once whatever refused it is resolved (or rejected). Should
        // this fail too, the claim goes stale and the next accept takes it over.
        await store.release(documentId, id, claim).catch((releaseError: unknown) => {
          logger.warn({ err: releaseError, documentId, suggestionId: id }, 'could not reopen a suggestion whose accept failed');
        });
        throw error;
      }
      const { record, marked } = await store.markAccepted(documentId, id, claim, { version: result.version, decidedBy: by });
      if (!record) throw new AppError('SUGGESTION_NOT_FOUND', `Document ${documentId} has no suggestion ${id}`);
      const suggestion = await view(record);
      // Not marked: this accept's claim went stale and another accept, which wrote nothing
      // twice (the same Idempotency-Key), finished it. Its answer is the same suggestion.
      if (marked) announce('suggestion.accepted', suggestion);
      return suggestion;
    },

    async reject(documentId, id, by) {
      await documents.describe(documentId);
      const record = await store.reject(documentId, id, by);
      if (!record) throw await notOpen(documentId, id);
      const suggestion = await view(record);
      announce('suggestion.rejected', suggestion);
      return suggestion;
    },
  };
}
