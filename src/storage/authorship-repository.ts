import { type Author, type RevertMark, storedAuthor } from '../docs/authors.ts';
import type { LoggedUpdate } from '../docs/blame-runs.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';

/** What blame and history read about authors (docs/blame.ts). */
export interface AuthorshipStore {
  /** Who first wrote with each Yjs client id of the document, and in which version. */
  clientAuthors(documentId: string): Promise<Map<number, { author: Author; firstSeq: number }>>;
  /** The op-log entries still kept, in seq order. */
  keptLog(documentId: string): Promise<LoggedUpdate[]>;
  /** The entries after `after` up to `upTo` with their authors' ids ('' when not known), or null when the log there was trimmed. */
  logBetween(documentId: string, after: number, upTo: number): Promise<(LoggedUpdate & { authorId: string; reverts: RevertMark | null })[] | null>;
  /** The oldest version from which the whole log to the head is kept (null: none of the log is). */
  oldestReplayable(documentId: string): Promise<number | null>;
  /** The same authors with the names people and keys have now (agents keep the name they wrote with). */
  named(authors: readonly Author[]): Promise<Author[]>;
}

/** "<author id> <since>", as the op log keeps it. */
function revertMarkOf(stored: string | null): RevertMark | null {
  const match = stored === null ? null : /^(.+) (\d+)$/s.exec(stored);
  return match ? { authorId: match[1]!, since: Number(match[2]) } : null;
}

/** Entries read per query while reading the kept log. */
const LOG_PAGE = 2_000;

export function createAuthorshipStore(prisma: PrismaClient): AuthorshipStore {
  return {
    async clientAuthors(documentId) {
      const rows = await prisma.documentClient.findMany({ where: { documentId } });
      const authors = new Map<number, { author: Author; firstSeq: number }>();
      for (const row of rows) {
        const author = storedAuthor(row.authorKind, row.authorId, row.authorName);
        if (author) authors.set(Number(row.clientId), { author, firstSeq: row.firstSeq });
      }
      return authors;
    },

    async keptLog(documentId) {
      const log: LoggedUpdate[] = [];
      for (;;) {
        const page = await prisma.documentUpdate.findMany({
          where: { documentId, seq: { gt: log.at(-1)?.seq ?? 0 } },
          orderBy: { seq: 'asc' },
          take: LOG_PAGE,
          select: { seq: true, update: true },
        });
        for (const row of page) log.push({ seq: row.seq, update: row.update as Uint8Array });
        if (page.length < LOG_PAGE) return log;
      }
    },

    async logBetween(documentId, after, upTo) {
      const rows = await prisma.documentUpdate.findMany({
        where: { documentId, seq: { gt: after, lte: upTo } },
        orderBy: { seq: 'asc' },
        select: { seq: true, update: true, authorId: true, reverts: true },
      });
      if (rows.length !== upTo - after) return null;
      return rows.map((row) => ({ seq: row.seq, update: row.update as Uint8Array, authorId: row.authorId, reverts: revertMarkOf(row.reverts) }));
    },

    async oldestReplayable(documentId) {
      const first = await prisma.documentUpdate.findFirst({ where: { documentId }, orderBy: { seq: 'asc' }, select: { seq: true } });
      return first ? first.seq - 1 : null;
    },

    async named(authors) {
      const ids = (prefix: string) => [...new Set(authors.filter((author) => author.id.startsWith(prefix)).map((author) => author.id.slice(prefix.length)))];
      const [users, keys] = await Promise.all([
        prisma.user.findMany({ where: { id: { in: ids('user:') } }, select: { id: true, name: true } }),
        prisma.apiKey.findMany({ where: { id: { in: ids('key:') } }, select: { id: true, user: { select: { name: true } } } }),
      ]);
      const names = new Map<string, string>([
        ...users.map((user) => [`user:${user.id}`, user.name || 'Someone without a name'] as const),
        // A key's own name is its owner's label ("payroll deploy key"), not for every reader: named by its owner.
        ...keys.map((key) => [`key:${key.id}`, key.user.name ? `${key.user.name}'s API key` : 'An API key'] as const),
      ]);
      return authors.map((author) => {
        if (author.kind === 'agent') return author;
        const name = names.get(author.id);
        if (name !== undefined) return { ...author, name };
        if (author.kind === 'link') return { ...author, name: 'Someone with the link' };
        if (author.id === 'user:anonymous') return { ...author, name: 'Anonymous' };
        return { ...author, name: author.kind === 'key' ? 'A removed API key' : 'A removed account' };
      });
    },
  };
}
