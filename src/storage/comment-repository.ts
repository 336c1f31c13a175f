import type { PrismaClient } from '../generated/prisma/client.ts';

/** A comment as stored: a thread's first comment (parentId null, maybe anchored) or a reply. */
export interface CommentRecord {
  id: string;
  documentId: string;
  /** The thread a reply belongs to (its first comment); null for a thread. */
  parentId: string | null;
  /** The user who wrote it (null: a document key, or AUTH=off), and the name shown for it. */
  authorId: string | null;
  authorName: string;
  body: string;
  /** Encoded Yjs relative positions of the anchored range (null: not anchored). */
  anchorStart: Uint8Array | null;
  anchorEnd: Uint8Array | null;
  /** The anchored text when the thread was started. */
  quote: string;
  resolvedAt: Date | null;
  createdAt: Date;
}

export type NewComment = Omit<CommentRecord, 'resolvedAt' | 'createdAt'>;

export interface UserSummary {
  id: string;
  email: string;
  name: string;
}

/** Comments (storage/comment-repository.ts), and the user lookups comments need. */
export interface CommentStore {
  create(comment: NewComment): Promise<CommentRecord>;
  find(id: string): Promise<CommentRecord | null>;
  /** Every comment of the document, threads and replies, oldest first. */
  ofDocument(documentId: string): Promise<CommentRecord[]>;
  /** The replies of a thread, oldest first. */
  replies(threadId: string): Promise<CommentRecord[]>;
  /** Resolves (keeping the first resolution's time) or reopens a thread; null when there is no such comment. */
  setResolved(id: string, resolved: boolean): Promise<CommentRecord | null>;
  /** Deletes the comment, its replies (a thread) and the notifications about them; false when there was none. */
  remove(id: string): Promise<boolean>;
  user(id: string): Promise<UserSummary | null>;
  /** The users with these (lower-cased) emails; unknown ones are left out. */
  usersByEmail(emails: string[]): Promise<UserSummary[]>;
}

const toBytes = (value: Uint8Array | null) => (value === null ? null : new Uint8Array(value));

function toRecord(row: CommentRecord): CommentRecord {
  return { ...row, anchorStart: toBytes(row.anchorStart), anchorEnd: toBytes(row.anchorEnd) };
}

const userFields = { id: true, email: true, name: true } as const;

export function createCommentRepository(prisma: PrismaClient): CommentStore {
  return {
    async create(comment) {
      const row = await prisma.comment.create({
        data: {
          ...comment,
          anchorStart: comment.anchorStart && new Uint8Array(comment.anchorStart),
          anchorEnd: comment.anchorEnd && new Uint8Array(comment.anchorEnd),
        },
      });
      return toRecord(row);
    },

    async find(id) {
      const row = await prisma.comment.findUnique({ where: { id } });
      return row && toRecord(row);
    },

    async ofDocument(documentId) {
      const rows = await prisma.comment.findMany({ where: { documentId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
      return rows.map(toRecord);
    },

    async replies(threadId) {
      const rows = await prisma.comment.findMany({ where: { parentId: threadId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
      return rows.map(toRecord);
    },

    async setResolved(id, resolved) {
      // Only an open thread gets a resolution time: resolving twice keeps the first.
      await prisma.comment.updateMany({
        where: resolved ? { id, resolvedAt: null } : { id },
        data: { resolvedAt: resolved ? new Date() : null },
      });
      const row = await prisma.comment.findUnique({ where: { id } });
      return row && toRecord(row);
    },

    async remove(id) {
      return prisma.$transaction(async (tx) => {
        const replies = await tx.comment.findMany({ where: { parentId: id }, select: { id: true } });
        // Notifications point at comments without a foreign key: they go with them here.
        await tx.notification.deleteMany({ where: { commentId: { in: [id, ...replies.map((reply) => reply.id)] } } });
        // Replies go with their thread (ON DELETE CASCADE).
        const { count } = await tx.comment.deleteMany({ where: { id } });
        return count > 0;
      });
    },

    user: (id) => prisma.user.findUnique({ where: { id }, select: userFields }),

    async usersByEmail(emails) {
      if (emails.length === 0) return [];
      return prisma.user.findMany({ where: { email: { in: emails } }, select: userFields });
    },
  };
}
