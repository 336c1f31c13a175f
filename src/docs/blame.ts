import type { AuthorshipStore } from '../storage/authorship-repository.ts';
import type { Author } from './authors.ts';
import type { ContentWork } from './content-work.ts';
import type { DocumentService } from './document-service.ts';
import type { StoredDocuments } from './ports.ts';

export interface BlameSpan {
  /** UTF-16 offsets in the document's markdown. */
  start: number;
  end: number;
  /** null: written before Tandem kept authors. */
  author: Author | null;
  /** The version that wrote it; for text older than the kept log, the first version its author wrote in. */
  version: number | null;
}

/**
 * Past this many spans (text where two authors alternate every few characters), spans of one
 * author next to each other join, whatever their versions (the newest is given), so that an
 * answer stays within a few megabytes.
 */
const MAX_SPANS = 20_000;

function byAuthorOnly(spans: BlameSpan[]): BlameSpan[] {
  const joined: BlameSpan[] = [];
  for (const span of spans) {
    const last = joined.at(-1);
    if (last && last.author?.id === span.author?.id) {
      last.end = span.end;
      last.version = Math.max(last.version ?? 0, span.version ?? 0) || null;
    } else joined.push({ ...span });
  }
  return joined;
}

export interface Blame {
  blame(id: string): Promise<{ version: number; markdown: string; spans: BlameSpan[] }>;
}

/**
 * Who wrote what: the current markdown cut into runs by author and version. Characters are
 * Yjs items, and an item's client id says who wrote it (the map the op log keeps); its clock
 * says in which logged update, while the log is kept.
 */
export function createBlame(deps: { documents: DocumentService; stored: StoredDocuments; authorship: AuthorshipStore; work: ContentWork }): Blame {
  const { documents, stored, authorship, work } = deps;
  return {
    async blame(id) {
      const record = await documents.describe(id);
      const [updates, log, clients] = await Promise.all([stored.loadAt(id, record.version), authorship.keptLog(id), authorship.clientAuthors(id)]);
      // The current version is always kept (the newest snapshot and the log after it).
      const { markdown, runs } = await work.blameOf(record.format, updates ?? [], log.filter((entry) => entry.seq <= record.version));
      const authors = await authorship.named([...new Map([...clients.values()].map(({ author }) => [author.id, author])).values()]);
      const byId = new Map(authors.map((author) => [author.id, author]));
      const spans: BlameSpan[] = [];
      for (const run of runs) {
        const client = run.client === null ? undefined : clients.get(run.client);
        const author = client ? byId.get(client.author.id)! : null;
        const version = run.version ?? client?.firstSeq ?? null;
        const last = spans.at(-1);
        if (last && last.author?.id === author?.id && last.version === version) last.end = run.end;
        else spans.push({ start: run.start, end: run.end, author, version });
      }
      return { version: record.version, markdown, spans: spans.length > MAX_SPANS ? byAuthorOnly(spans) : spans };
    },
  };
}
