import type { PrismaClient } from '../generated/prisma/client.ts';

export interface LogEntry {
  seq: number;
  update: Uint8Array;
  createdAt: Date;
}

export interface CompactionStore {
  /** Head and whether the document is live; null when there is no such document. */
  head(documentId: string): Promise<{ headSeq: number; deleted: boolean } | null>;
  snapshotSeqs(documentId: string): Promise<number[]>;
  /** The state stored by the snapshot at `seq`, or null when there is none. */
  snapshotState(documentId: string, seq: number): Promise<Uint8Array | null>;
  /** Up to `limit` log entries after `afterSeq`, in seq order (gaps included: the caller checks). */
  logAfter(documentId: string, afterSeq: number, limit: number): Promise<LogEntry[]>;
  namedVersionSeqs(documentId: string): Promise<number[]>;
  /** The last seq of each hour (by commit time) among log entries written since `since`. */
  hourlyCheckpoints(documentId: string, since: Date): Promise<number[]>;
  /** The newest seq written before `cutoff`, or 0. */
  lastSeqBefore(documentId: string, cutoff: Date): Promise<number>;
  /** `createdAt` is the time of the version (its last update), so snapshots group by the hour they describe. */
  writeSnapshots(documentId: string, snapshots: { seq: number; state: Uint8Array; createdAt: Date }[]): Promise<void>;
  /** Deletes the log up to and including `seq`; only call once a snapshot at `seq` is stored. */
  trimLog(documentId: string, seq: number): Promise<number>;
  /**
   * Deletes every snapshot that is not in `keep` and not the last of its hour among those
   * describing versions since `checkpointsSince` (the hourly checkpoints).
   */
  pruneSnapshots(documentId: string, keep: ReadonlySet<number>, checkpointsSince: Date): Promise<number>;
  /** Live documents whose log grew by `every` updates since their newest snapshot, or holds entries written before `cutoff`. */
  due(every: number, cutoff: Date, limit: number): Promise<string[]>;
}

export function createCompactionStore(prisma: PrismaClient): CompactionStore {
  return {
    async head(documentId) {
      const row = await prisma.document.findUnique({ where: { id: documentId }, select: { headSeq: true, deletedAt: true } });
      return row && { headSeq: row.headSeq, deleted: row.deletedAt !== null };
    },

    async snapshotSeqs(documentId) {
      const rows = await prisma.documentSnapshot.findMany({ where: { documentId }, select: { seq: true }, orderBy: { seq: 'asc' } });
      return rows.map((row) => row.seq);
    },

    async snapshotState(documentId, seq) {
      const row = await prisma.documentSnapshot.findUnique({ where: { documentId_seq: { documentId, seq } }, select: { state: true } });
      return (row?.state as Uint8Array | undefined) ?? null;
    },

    async logAfter(documentId, afterSeq, limit) {
      const rows = await prisma.documentUpdate.findMany({
        where: { documentId, seq: { gt: afterSeq } },
        orderBy: { seq: 'asc' },
        take: limit,
        select: { seq: true, update: true, createdAt: true },
      });
      return rows.map((row) => ({ ...row, update: row.update as Uint8Array }));
    },

    async namedVersionSeqs(documentId) {
      const rows = await prisma.documentVersion.findMany({ where: { documentId }, select: { seq: true } });
      return [...new Set(rows.map((row) => row.seq))];
    },

    async hourlyCheckpoints(documentId, since) {
      const rows = await prisma.$queryRaw<{ seq: number }[]>`
        SELECT max(seq) AS seq FROM document_updates
        WHERE document_id = ${documentId} AND created_at >= ${since}
        GROUP BY date_trunc('hour', created_at)`;
      return rows.map((row) => Number(row.seq));
    },

    async lastSeqBefore(documentId, cutoff) {
      const row = await prisma.documentUpdate.findFirst({
        where: { documentId, createdAt: { lt: cutoff } },
        orderBy: { seq: 'desc' },
        select: { seq: true },
      });
      return row?.seq ?? 0;
    },

    async writeSnapshots(documentId, snapshots) {
      if (snapshots.length === 0) return;
      await prisma.documentSnapshot.createMany({
        data: snapshots.map(({ seq, state, createdAt }) => ({ documentId, seq, state: state as Uint8Array<ArrayBuffer>, createdAt })),
        skipDuplicates: true,
      });
    },

    async trimLog(documentId, seq) {
      const { count } = await prisma.documentUpdate.deleteMany({ where: { documentId, seq: { lte: seq } } });
      return count;
    },

    async pruneSnapshots(documentId, keep, checkpointsSince) {
      return prisma.$executeRaw`
        DELETE FROM document_snapshots s
        WHERE s.document_id = ${documentId}
          AND NOT (s.seq = ANY(${[...keep]}::int[]))
          AND s.seq NOT IN (
            SELECT max(seq) FROM document_snapshots
            WHERE document_id = ${documentId} AND created_at >= ${checkpointsSince}
            GROUP BY date_trunc('hour', created_at)
          )`;
    },

    async due(every, cutoff, limit) {
      const rows = await prisma.$queryRaw<{ id: string }[]>`
        SELECT d.id FROM documents d
        WHERE d.deleted_at IS NULL AND (
          d.head_seq - COALESCE((SELECT max(seq) FROM document_snapshots s WHERE s.document_id = d.id), 0) >= ${every}
          OR EXISTS (
            SELECT 1 FROM document_updates u
            WHERE u.document_id = d.id AND u.created_at < ${cutoff}
              AND u.seq <= COALESCE((SELECT max(seq) FROM document_snapshots s WHERE s.document_id = d.id), 0)
          )
        )
        ORDER BY d.updated_at
        LIMIT ${limit}`;
      return rows.map((row) => row.id);
    },
  };
}
