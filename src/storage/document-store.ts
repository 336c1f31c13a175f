import { AppError } from '../errors.ts';
import { Prisma, type PrismaClient } from '../generated/prisma/client.ts';
import { CLOCK_NOW_SQL } from './change-clock.ts';

export interface StoredState {
  /** The op-log seq the updates reach (the document's version); 0 for a new document. */
  seq: number;
  /** The newest snapshot (if any) followed by every logged update after it, in seq order. */
  updates: Uint8Array[];
}

/** What a document created by connecting to it starts with: its workspace and key hashes. */
export interface NewDocumentAccess {
  workspaceId: string | null;
  readKeyHash: string;
  writeKeyHash: string;
}

export interface DocumentStore {
  /** Creates the document row if it does not exist yet; a deleted document is DOC_NOT_FOUND. */
  /** Creates the document if it is new and `creation` is given; DOC_NOT_FOUND if it is missing (or deleted) otherwise. */
  ensure(documentId: string, creation: NewDocumentAccess | null): Promise<void>;
  load(documentId: string): Promise<StoredState>;
  /**
   * The document as of version `seq`: the newest snapshot at or before it and the log up to
   * it. Null when that version is outside the kept history (the log before it was trimmed).
   */
  loadAt(documentId: string, seq: number): Promise<Uint8Array[] | null>;
  /** The log after `seq` and the seq it reaches; the whole state when that part was compacted away. */
  loadAfter(documentId: string, seq: number): Promise<StoredState>;
  heads(documentIds: string[]): Promise<Map<string, number>>;
}

const LOAD_ATTEMPTS = 5;

export function createDocumentStore(prisma: PrismaClient): DocumentStore {
  async function load(documentId: string): Promise<StoredState> {
    for (let attempt = 1; ; attempt++) {
      const snapshot = await prisma.documentSnapshot.findFirst({
        where: { documentId },
        orderBy: { seq: 'desc' },
        select: { seq: true, state: true },
      });
      const base = snapshot?.seq ?? 0;
      const tail = await prisma.documentUpdate.findMany({
        where: { documentId, seq: { gt: base } },
        orderBy: { seq: 'asc' },
        select: { seq: true, update: true },
      });
      // seq is gapless, so a tail that does not start right after the snapshot means the log
      // was trimmed between the two reads (a compaction wrote a newer snapshot): read again.
      const contiguous = tail.every((row, index) => row.seq === base + index + 1);
      if (contiguous) {
        const updates = tail.map((row) => row.update as Uint8Array);
        if (snapshot) updates.unshift(snapshot.state as Uint8Array);
        return { seq: tail.at(-1)?.seq ?? base, updates };
      }
      if (attempt >= LOAD_ATTEMPTS) {
        throw new Error(`Op log of ${documentId} has a gap after seq ${base}; refusing to load it`);
      }
    }
  }

  async function loadAt(documentId: string, seq: number): Promise<Uint8Array[] | null> {
    for (let attempt = 1; attempt <= LOAD_ATTEMPTS; attempt++) {
      const snapshot = await prisma.documentSnapshot.findFirst({
        where: { documentId, seq: { lte: seq } },
        orderBy: { seq: 'desc' },
        select: { seq: true, state: true },
      });
      const base = snapshot?.seq ?? 0;
      const tail = await prisma.documentUpdate.findMany({
        where: { documentId, seq: { gt: base, lte: seq } },
        orderBy: { seq: 'asc' },
        select: { seq: true, update: true },
      });
      if (tail.length === seq - base && tail.every((row, index) => row.seq === base + index + 1)) {
        const updates = tail.map((row) => row.update as Uint8Array);
        if (snapshot) updates.unshift(snapshot.state as Uint8Array);
        return updates;
      }
      // No snapshot covers the gap: compaction trimmed this part of the history.
      if (tail[0] === undefined || tail[0].seq !== base + 1) return null;
    }
    return null;
  }

  return {
    async loadAfter(documentId, seq) {
      const tail = await prisma.documentUpdate.findMany({
        where: { documentId, seq: { gt: seq } },
        orderBy: { seq: 'asc' },
        select: { seq: true, update: true },
      });
      // Gapless from seq + 1, or the log was trimmed past it: then the whole state.
      if (tail.every((row, index) => row.seq === seq + index + 1)) {
        return { seq: tail.at(-1)?.seq ?? seq, updates: tail.map((row) => row.update as Uint8Array) };
      }
      return load(documentId);
    },

    async heads(documentIds) {
      if (documentIds.length === 0) return new Map();
      const rows = await prisma.document.findMany({ where: { id: { in: documentIds } }, select: { id: true, headSeq: true } });
      return new Map(rows.map((row) => [row.id, row.headSeq]));
    },

    async ensure(documentId, creation) {
      if (creation === null) {
        const row = await prisma.document.findUnique({ where: { id: documentId }, select: { deletedAt: true } });
        if (!row || row.deletedAt) throw new AppError('DOC_NOT_FOUND', `No document ${documentId}`);
        return;
      }
      const { workspaceId, readKeyHash, writeKeyHash } = creation;
      // Connecting creates (as the reference y-websocket server does), on the change clock so
      // that the change feed reports the new document.
      const [row] = await prisma.$queryRaw<{ deleted: boolean }[]>`
        WITH existing AS (SELECT deleted_at FROM documents WHERE id = ${documentId}),
        created AS (
          INSERT INTO documents (id, change_seq, workspace_id, read_key_hash, write_key_hash)
          SELECT ${documentId}, ${Prisma.raw(CLOCK_NOW_SQL)}, ${workspaceId}, ${readKeyHash}, ${writeKeyHash}
          WHERE NOT EXISTS (SELECT 1 FROM existing)
          ON CONFLICT (id) DO NOTHING RETURNING deleted_at
        )
        SELECT (deleted_at IS NOT NULL) AS deleted FROM existing UNION ALL SELECT false FROM created`;
      if (row?.deleted) throw new AppError('DOC_NOT_FOUND', `Document ${documentId} was deleted`);
    },

    load,
    loadAt,
  };
}
