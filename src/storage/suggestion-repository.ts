import { type Author, storedAuthor } from '../docs/authors.ts';
import type { TextChange } from '../docs/text-change.ts';
import { Prisma, type PrismaClient } from '../generated/prisma/client.ts';

/** What a suggestion changes: what a PATCH takes, JSON edits or a unified diff. */
export type SuggestedChange = Exclude<TextChange, { content: string }>;

/** open → accepting (an accept under way) → accepted; open → rejected; accepting → open when the accept failed. */
export type SuggestionStatus = 'open' | 'accepting' | 'accepted' | 'rejected';

/** A suggestion as stored: authors with the names agents keep ('' for people and keys, named when read). */
export interface SuggestionRecord {
  id: string;
  documentId: string;
  base: number;
  status: SuggestionStatus;
  change: SuggestedChange;
  author: Author;
  markdown: string;
  createdAt: Date;
  decidedAt: Date | null;
  decidedBy: Author | null;
  /** The version that holds it, once accepted. */
  version: number | null;
}

export interface NewSuggestion {
  id: string;
  documentId: string;
  base: number;
  change: SuggestedChange;
  author: Author;
  markdown: string;
  /** Scoped (docs/idempotency-key.ts): a retried create finds the first. */
  idempotencyKey?: string | undefined;
}

/** Where a page of a listing ends: the last suggestion's time and id (newest first). */
export interface SuggestionCursor {
  createdAt: Date;
  id: string;
}

/** Suggestions of documents (docs/suggestions.ts). Every lookup names the document too: a suggestion of another one is none. */
export interface SuggestionStore {
  /**
   * Stores a new open suggestion, unless the document already has `maxOpen` that are open (or
   * being accepted): 'full' then. A second create with the same key returns the first one.
   */
  create(suggestion: NewSuggestion, maxOpen: number): Promise<{ record: SuggestionRecord; replayed: boolean } | 'full'>;
  findByIdempotencyKey(documentId: string, key: string): Promise<SuggestionRecord | null>;
  find(documentId: string, id: string): Promise<SuggestionRecord | null>;
  /** Newest first, after `after` when given. */
  list(documentId: string, options: { status?: SuggestionStatus | undefined; after?: SuggestionCursor | undefined; limit: number }): Promise<SuggestionRecord[]>;
  /**
   * Claims an open suggestion for accepting it (open → accepting), or takes over a claim older
   * than `staleAfterMs` (its accept died with its node). The claim's time, which the later
   * steps name so that a claim taken over is not finished by both; null when not claimable.
   */
  claim(documentId: string, id: string, staleAfterMs: number): Promise<Date | null>;
  /** accepting → accepted at `version`, if the claim still holds; the row as it is after. */
  markAccepted(documentId: string, id: string, claim: Date, outcome: { version: number; decidedBy: Author }): Promise<{ record: SuggestionRecord | null; marked: boolean }>;
  /** accepting → open again (the accept failed), if the claim still holds. */
  release(documentId: string, id: string, claim: Date): Promise<void>;
  /** open → rejected; null when it was not open (or does not exist). */
  reject(documentId: string, id: string, decidedBy: Author): Promise<SuggestionRecord | null>;
}

/** Two-key advisory locks are a space of their own (the single-key migration lock is not in it): this one is per document. */
const OPEN_COUNT_LOCK = 72_616;

const isUniqueViolation = (error: unknown) => error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';

type Row = Prisma.SuggestionGetPayload<object>;

function toRecord(row: Row): SuggestionRecord {
  return {
    id: row.id,
    documentId: row.documentId,
    base: row.base,
    status: row.status as SuggestionStatus,
    change: row.change as unknown as SuggestedChange,
    // Written from an Author (authorFields) only, so it always reads back as one.
    author: storedAuthor(row.authorKind, row.authorId, row.authorName) ?? { kind: 'user', id: row.authorId, name: row.authorName },
    markdown: row.markdown,
    createdAt: row.createdAt,
    decidedAt: row.decidedAt,
    decidedBy: row.decidedBy === null ? null : storedAuthor(row.decidedByKind ?? '', row.decidedBy, row.decidedByName ?? ''),
    version: row.version,
  };
}

/** Names are kept for agents only: people and keys rename, and are named when read. */
const keptName = (author: Author) => (author.kind === 'agent' ? author.name : '');

export function createSuggestionRepository(prisma: PrismaClient): SuggestionStore {
  const findByIdempotencyKey = async (documentId: string, key: string) => {
    const row = await prisma.suggestion.findUnique({ where: { documentId_idempotencyKey: { documentId, idempotencyKey: key } } });
    return row && toRecord(row);
  };

  return {
    async create(suggestion, maxOpen) {
      const { author, change, idempotencyKey, ...fields } = suggestion;
      try {
        return await prisma.$transaction(async (tx) => {
          // Counting and inserting under a lock of the document's: two suggestions made at
          // once cannot both take the last free place.
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(${OPEN_COUNT_LOCK}::int, hashtext(${suggestion.documentId}))`;
          const open = await tx.suggestion.count({ where: { documentId: suggestion.documentId, status: { in: ['open', 'accepting'] } } });
          if (open >= maxOpen) return 'full' as const;
          const row = await tx.suggestion.create({
            data: {
              ...fields,
              change: change as unknown as Prisma.InputJsonObject,
              authorKind: author.kind,
              authorId: author.id,
              authorName: keptName(author),
              idempotencyKey: idempotencyKey ?? null,
            },
          });
          return { record: toRecord(row), replayed: false };
        });
      } catch (error) {
        if (!isUniqueViolation(error) || idempotencyKey === undefined) throw error;
        // A concurrent retry with the same key stored it first: answer with that one.
        const earlier = await findByIdempotencyKey(suggestion.documentId, idempotencyKey);
        if (!earlier) throw error;
        return { record: earlier, replayed: true };
      }
    },

    findByIdempotencyKey,

    async find(documentId, id) {
      const row = await prisma.suggestion.findUnique({ where: { id } });
      return row && row.documentId === documentId ? toRecord(row) : null;
    },

    async list(documentId, { status, after, limit }) {
      const rows = await prisma.suggestion.findMany({
        where: {
          documentId,
          ...(status === undefined ? {} : { status }),
          ...(after === undefined ? {} : { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit,
      });
      return rows.map(toRecord);
    },

    async claim(documentId, id, staleAfterMs) {
      // The database's clock, not this node's: claims made by nodes whose clocks differ are
      // compared on one clock. One UPDATE, so that of two accepts at once only one matches.
      const rows = await prisma.$queryRaw<{ claimed_at: Date }[]>`
        UPDATE suggestions SET status = 'accepting', claimed_at = now()
        WHERE id = ${id} AND document_id = ${documentId}
          AND (status = 'open' OR (status = 'accepting' AND claimed_at < now() - make_interval(secs => ${staleAfterMs / 1000}::float8)))
        RETURNING claimed_at`;
      const claimed = rows[0]?.claimed_at;
      return claimed === undefined ? null : new Date(claimed);
    },

    async markAccepted(documentId, id, claim, { version, decidedBy }) {
      const { count } = await prisma.suggestion.updateMany({
        where: { id, documentId, status: 'accepting', claimedAt: claim },
        data: {
          status: 'accepted',
          version,
          decidedAt: new Date(),
          decidedByKind: decidedBy.kind,
          decidedBy: decidedBy.id,
          decidedByName: keptName(decidedBy),
          claimedAt: null,
        },
      });
      const row = await prisma.suggestion.findUnique({ where: { id } });
      return { record: row && toRecord(row), marked: count > 0 };
    },

    async release(documentId, id, claim) {
      await prisma.suggestion.updateMany({ where: { id, documentId, status: 'accepting', claimedAt: claim }, data: { status: 'open', claimedAt: null } });
    },

    async reject(documentId, id, decidedBy) {
      const { count } = await prisma.suggestion.updateMany({
        where: { id, documentId, status: 'open' },
        data: { status: 'rejected', decidedAt: new Date(), decidedByKind: decidedBy.kind, decidedBy: decidedBy.id, decidedByName: keptName(decidedBy) },
      });
      if (count === 0) return null;
      const row = await prisma.suggestion.findUnique({ where: { id } });
      return row && toRecord(row);
    },
  };
}
