import { AppError } from '../errors.ts';
import { Prisma, type PrismaClient } from '../generated/prisma/client.ts';
import { type Author, storedAuthor } from '../docs/authors.ts';
import type { DocumentFormat } from '../formats/ports.ts';
import { CLOCK_NOW_SQL, readClockHorizon } from './change-clock.ts';

/** A document's metadata; `version` is the seq of the last update in its op log. */
export interface DocumentRecord {
  id: string;
  title: string;
  format: DocumentFormat;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

export interface HistoryEntry {
  version: number;
  createdAt: Date;
  /** The author's kind; 'snapshot' for a version kept by compaction after its log entry was trimmed. */
  authorKind: string;
  /** null for a snapshot, and for updates from before authors were kept (their kind is all there is). */
  author: Author | null;
}

export interface NamedVersion {
  name: string;
  version: number;
  createdAt: Date;
}

export interface ChangeEntry {
  id: string;
  version: number;
  deleted: boolean;
  updatedAt: Date;
  /** Position in the change feed: (change clock value, id). */
  position: { clock: bigint; id: string };
}

export interface NewDocument {
  id: string;
  title: string;
  /** 'markdown' unless given. */
  format?: DocumentFormat | undefined;
  /** The first op-log entry (the initial content as one Yjs update), if any. */
  initialUpdate?: Uint8Array | undefined;
  /** Who wrote it, and the Yjs client ids it writes with (mapped to them). */
  initialAuthor?: { author: Author | null; clients: readonly number[] } | undefined;
  idempotencyKey?: string | undefined;
  /** The workspace it belongs to (null: none, AUTH=off) and the hashes of its two keys. */
  workspaceId: string | null;
  readKeyHash: string;
  writeKeyHash: string;
}

/**
 * Which documents a listing may show: those of these workspaces and these documents (shared
 * ones, or the one a document key opens); null shows all (AUTH=off).
 */
export type DocumentScope = { workspaceIds: string[]; documentIds: string[] } | null;

function scopeFilter(scope: DocumentScope): Prisma.DocumentWhereInput {
  if (scope === null) return {};
  return { OR: [{ workspaceId: { in: scope.workspaceIds } }, { id: { in: scope.documentIds } }] };
}

/** Documents' metadata, history and change feed, as the REST API needs them. */
export interface DocumentRepository {
  /** Creates the document (and its first update) in one transaction; DOC_EXISTS when the id is taken. */
  create(document: NewDocument): Promise<{ record: DocumentRecord; replayed: boolean }>;
  find(id: string): Promise<DocumentRecord | null>;
  /** Live documents in id order, after `afterId`. */
  list(options: { afterId?: string | undefined; limit: number; scope: DocumentScope }): Promise<DocumentRecord[]>;
  /** Marks the document deleted (or not); null when there is no such document. */
  setDeleted(id: string, deleted: boolean): Promise<DocumentRecord | null>;
  /** The seq of the update a REST write with this Idempotency-Key produced, if it committed. */
  findIdempotentWrite(id: string, key: string): Promise<number | null>;
  /** Op-log entries, newest first, below `before`. */
  history(id: string, options: { before?: number | undefined; limit: number }): Promise<HistoryEntry[]>;
  namedVersions(id: string): Promise<NamedVersion[]>;
  /** Names version `version`; VERSION_NAME_TAKEN when the document already has that name. */
  nameVersion(id: string, name: string, version: number): Promise<NamedVersion>;
  /** Documents changed after `position` (creations, edits, deletions), in commit order. */
  changesSince(position: ChangeEntry['position'] | null, limit: number, scope: DocumentScope): Promise<ChangeEntry[]>;
}

const recordFields = { id: true, title: true, format: true, headSeq: true, createdAt: true, updatedAt: true, deletedAt: true } as const;

function toRecord(row: {
  id: string;
  title: string;
  format: string;
  headSeq: number;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}): DocumentRecord {
  return {
    id: row.id,
    title: row.title,
    format: row.format as DocumentFormat,
    version: row.headSeq,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    deletedAt: row.deletedAt,
  };
}

/** The change clock value of this transaction's change to document `id` (change-clock.ts). */
async function clockNow(tx: Prisma.TransactionClient, id: string): Promise<bigint> {
  const [row] = await tx.$queryRaw<{ value: bigint }[]>`SELECT ${Prisma.raw(CLOCK_NOW_SQL)} AS value FROM documents WHERE id = ${id}`;
  return row!.value;
}


const isUniqueViolation = (error: unknown) =>
  error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';

export function createDocumentRepository(prisma: PrismaClient): DocumentRepository {
  async function findByCreateKey(key: string): Promise<DocumentRecord | null> {
    const row = await prisma.document.findUnique({ where: { createIdempotencyKey: key }, select: recordFields });
    return row && toRecord(row);
  }

  return {
    async create({ id, title, format, initialUpdate, initialAuthor, idempotencyKey, workspaceId, readKeyHash, writeKeyHash }) {
      if (idempotencyKey !== undefined) {
        const earlier = await findByCreateKey(idempotencyKey);
        if (earlier) return { record: earlier, replayed: true };
      }
      try {
        const row = await prisma.$transaction(async (tx) => {
          await tx.document.create({
            data: {
              id,
              title,
              format,
              headSeq: initialUpdate ? 1 : 0,
              createIdempotencyKey: idempotencyKey ?? null,
              workspaceId,
              readKeyHash,
              writeKeyHash,
            },
          });
          if (initialUpdate) {
            const author = initialAuthor?.author;
            const by = { authorKind: author?.kind ?? 'user', authorId: author?.id ?? '', authorName: author?.kind === 'agent' ? author.name : '' };
            await tx.documentUpdate.create({ data: { documentId: id, seq: 1, update: initialUpdate as Uint8Array<ArrayBuffer>, ...by } });
            if (author) {
              const clients = initialAuthor?.clients ?? [];
              await tx.documentClient.createMany({ data: clients.map((client) => ({ documentId: id, clientId: BigInt(client), firstSeq: 1, ...by })) });
            }
          }
          const clock = await clockNow(tx, id);
          return tx.document.update({ where: { id }, data: { changeSeq: clock }, select: recordFields });
        });
        return { record: toRecord(row), replayed: false };
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // A concurrent retry with the same key won the race: answer as it did.
        const earlier = idempotencyKey !== undefined ? await findByCreateKey(idempotencyKey) : null;
        if (earlier) return { record: earlier, replayed: true };
        throw new AppError('DOC_EXISTS', `A document with id ${id} already exists`);
      }
    },

    async find(id) {
      const row = await prisma.document.findUnique({ where: { id }, select: recordFields });
      return row && toRecord(row);
    },

    async list({ afterId, limit, scope }) {
      const rows = await prisma.document.findMany({
        where: { deletedAt: null, ...(afterId !== undefined ? { id: { gt: afterId } } : {}), AND: [scopeFilter(scope)] },
        orderBy: { id: 'asc' },
        take: limit,
        select: recordFields,
      });
      return rows.map(toRecord);
    },

    async setDeleted(id, deleted) {
      return prisma.$transaction(async (tx) => {
        const current = await tx.document.findUnique({ where: { id }, select: { deletedAt: true } });
        if (!current) return null;
        if ((current.deletedAt !== null) === deleted) {
          return toRecord((await tx.document.findUnique({ where: { id }, select: recordFields }))!);
        }
        const clock = await clockNow(tx, id);
        // Every node re-checks its sockets when the access epoch moves: those on a deleted document close (4404).
        if (deleted) await tx.$executeRaw`UPDATE access_epoch SET value = value + 1 WHERE id = 1`;
        const row = await tx.document.update({
          where: { id },
          data: { deletedAt: deleted ? new Date() : null, changeSeq: clock, updatedAt: new Date() },
          select: recordFields,
        });
        return toRecord(row);
      });
    },

    async findIdempotentWrite(id, key) {
      const row = await prisma.documentUpdate.findFirst({
        where: { documentId: id, idempotencyKey: key },
        select: { seq: true },
      });
      return row?.seq ?? null;
    },

    async history(id, { before, limit }) {
      const where = { documentId: id, ...(before !== undefined ? { seq: { lt: before } } : {}) };
      // Compaction trims the log; the snapshots it keeps (checkpoints, named versions) are
      // versions too, readable and usable as a base, so they are listed where no log entry is.
      const [rows, snapshots] = await Promise.all([
        prisma.documentUpdate.findMany({
          where,
          orderBy: { seq: 'desc' },
          take: limit,
          select: { seq: true, createdAt: true, authorKind: true, authorId: true, authorName: true },
        }),
        prisma.documentSnapshot.findMany({ where, orderBy: { seq: 'desc' }, take: limit, select: { seq: true, createdAt: true } }),
      ]);
      const entries = new Map<number, HistoryEntry>(
        snapshots.map((row) => [row.seq, { version: row.seq, createdAt: row.createdAt, authorKind: 'snapshot', author: null }]),
      );
      for (const row of rows) {
        const author = storedAuthor(row.authorKind, row.authorId, row.authorName);
        entries.set(row.seq, { version: row.seq, createdAt: row.createdAt, authorKind: row.authorKind, author });
      }
      return [...entries.values()].sort((a, b) => b.version - a.version).slice(0, limit);
    },

    async namedVersions(id) {
      const rows = await prisma.documentVersion.findMany({
        where: { documentId: id },
        orderBy: [{ seq: 'desc' }, { name: 'asc' }],
      });
      return rows.map((row) => ({ name: row.name, version: row.seq, createdAt: row.createdAt }));
    },

    async nameVersion(id, name, version) {
      try {
        const row = await prisma.documentVersion.create({ data: { documentId: id, name, seq: version } });
        return { name: row.name, version: row.seq, createdAt: row.createdAt };
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new AppError('VERSION_NAME_TAKEN', `This document already has a version named "${name}"`);
        }
        throw error;
      }
    },

    async changesSince(position, limit, scope) {
      const after: Prisma.DocumentWhereInput = position
        ? { OR: [{ changeSeq: { gt: position.clock } }, { changeSeq: position.clock, id: { gt: position.id } }] }
        : {};
      // Read first: what commits after it is above it, and the next read finds it.
      const horizon = await readClockHorizon((sql) => prisma.$queryRawUnsafe(sql));
      const rows = await prisma.document.findMany({
        where: { AND: [after, { changeSeq: { lt: horizon } }, scopeFilter(scope)] },
        orderBy: [{ changeSeq: 'asc' }, { id: 'asc' }],
        take: limit,
        select: { id: true, headSeq: true, deletedAt: true, updatedAt: true, changeSeq: true },
      });
      return rows.map((row) => ({
        id: row.id,
        version: row.headSeq,
        deleted: row.deletedAt !== null,
        updatedAt: row.updatedAt,
        position: { clock: row.changeSeq, id: row.id },
      }));
    },
  };
}
