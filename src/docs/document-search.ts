import { AppError } from '../errors.ts';
import type { DocumentRecord, DocumentScope } from '../storage/document-repository.ts';
import type { DocumentService } from './document-service.ts';

/** Documents read per call at most: each read decodes a whole document (snapshot + log). */
const MAX_SCANNED = 200;
/** Documents decoded at once. */
const READ_CONCURRENCY = 4;
/** Ids listed per query. */
const LIST_PAGE = 50;
const MATCHES_PER_DOCUMENT = 5;
const SNIPPET_CHARS = 240;

export interface SearchMatch {
  /** 1-based line of the markdown. */
  line: number;
  /** The line (cut around the match when long). */
  text: string;
}

export interface SearchHit {
  id: string;
  title: string;
  version: number;
  /** The title matched (then `matches` may be empty). */
  titleMatch: boolean;
  matches: SearchMatch[];
}

export interface SearchPage {
  results: SearchHit[];
  /** Documents looked at in this call. */
  scanned: number;
  /** Not every readable document was looked at: pass this back as `cursor` to go on. */
  nextCursor: string | null;
}

export interface DocumentSearch {
  /**
   * Plain, case-insensitive text search over the current markdown and titles of the documents
   * in `scope`, in id order from `cursor`. `mayRead` is asked for every hit before it is shown.
   */
  search(
    query: string,
    options: { scope: DocumentScope; mayRead(id: string): Promise<boolean>; limit: number; cursor?: string | undefined },
  ): Promise<SearchPage>;
}

/**
 * Content lives in Yjs updates, not as text in the database, so there is no index to ask:
 * a search reads the current markdown of the readable documents through the document service,
 * at most MAX_SCANNED per call, and hands out a cursor for the rest. Nothing new is stored;
 * a search costs what that many reads cost.
 */
export function createDocumentSearch({ documents }: { documents: Pick<DocumentService, 'list' | 'read'> }): DocumentSearch {
  return {
    async search(query, { scope, mayRead, limit, cursor }) {
      const needle = query.toLowerCase();
      if (needle.trim() === '') throw new AppError('VALIDATION_FAILED', 'The search text must not be blank');
      let afterId = cursor ? decodeCursor(cursor) : undefined;
      const results: SearchHit[] = [];
      let scanned = 0;
      let exhausted = false;

      while (results.length < limit && scanned < MAX_SCANNED && !exhausted) {
        const wanted = Math.min(LIST_PAGE, MAX_SCANNED - scanned);
        const page = await documents.list({ afterId, limit: wanted, scope });
        // A chunk is taken whole, so that the cursor never skips a hit; results may exceed `limit` by a few.
        for (let start = 0; start < page.length && results.length < limit; start += READ_CONCURRENCY) {
          const chunk = page.slice(start, start + READ_CONCURRENCY);
          const hits = await Promise.all(chunk.map((record) => hitOf(record, needle, documents, mayRead)));
          for (const hit of hits) if (hit) results.push(hit);
          scanned += chunk.length;
          afterId = chunk.at(-1)!.id;
        }
        // The end of the listing, and every document of it looked at.
        exhausted = page.length < wanted && afterId === page.at(-1)?.id;
        if (page.length === 0) exhausted = true;
      }
      return { results, scanned, nextCursor: exhausted || afterId === undefined ? null : encodeCursor(afterId) };
    },
  };
}

async function hitOf(
  record: DocumentRecord,
  needle: string,
  documents: Pick<DocumentService, 'read'>,
  mayRead: (id: string) => Promise<boolean>,
): Promise<SearchHit | null> {
  const content = await readOrNull(documents, record.id);
  if (content === null) return null;
  const titleMatch = record.title.toLowerCase().includes(needle);
  const matches = matchingLines(content, needle);
  if (!titleMatch && matches.length === 0) return null;
  if (!(await mayRead(record.id))) return null;
  return { id: record.id, title: record.title, version: record.version, titleMatch, matches };
}

/** The current markdown, or null when the document went away between listing and reading. */
async function readOrNull(documents: Pick<DocumentService, 'read'>, id: string): Promise<string | null> {
  try {
    return (await documents.read(id)).content;
  } catch (error) {
    if (error instanceof AppError && error.code === 'DOC_NOT_FOUND') return null;
    throw error;
  }
}

function matchingLines(content: string, needle: string): SearchMatch[] {
  const matches: SearchMatch[] = [];
  const lines = content.split(/\r\n|\r|\n/);
  for (let index = 0; index < lines.length && matches.length < MATCHES_PER_DOCUMENT; index++) {
    const line = lines[index]!;
    const at = line.toLowerCase().indexOf(needle);
    if (at !== -1) matches.push({ line: index + 1, text: snippet(line, at, needle.length) });
  }
  return matches;
}

/** The line, or a window of it around the match when it is long. */
function snippet(line: string, at: number, length: number): string {
  if (line.length <= SNIPPET_CHARS) return line;
  const start = Math.max(0, Math.min(at - Math.floor((SNIPPET_CHARS - length) / 2), line.length - SNIPPET_CHARS));
  return `${start > 0 ? '…' : ''}${line.slice(start, start + SNIPPET_CHARS)}${start + SNIPPET_CHARS < line.length ? '…' : ''}`;
}

const encodeCursor = (id: string) => Buffer.from(id).toString('base64url');
const decodeCursor = (cursor: string) => Buffer.from(cursor, 'base64url').toString('utf8');
