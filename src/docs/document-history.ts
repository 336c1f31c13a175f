import { AppError } from '../errors.ts';
import type { ChangeEntry, DocumentRepository, DocumentScope, HistoryEntry, NamedVersion } from '../storage/document-repository.ts';
import type { AuthorshipStore } from '../storage/authorship-repository.ts';
import type { DocumentService } from './document-service.ts';

export interface VersionEntry extends HistoryEntry {
  names: string[];
}

export interface ChangePage {
  changes: Omit<ChangeEntry, 'position'>[];
  /** Pass it back as `cursor` to get what changed after this page. */
  cursor: string;
  hasMore: boolean;
}

export interface DocumentHistory {
  versions(id: string, options: { before?: number | undefined; limit: number }): Promise<{ versions: VersionEntry[]; named: NamedVersion[] }>;
  /** Names `version` (default: the current one). */
  nameVersion(id: string, name: string, version?: number): Promise<NamedVersion>;
  /** Documents created, changed or deleted after `cursor` (from the beginning without one). */
  changes(cursor: string | undefined, limit: number, scope: DocumentScope): Promise<ChangePage>;
}

/** Cursors are opaque to clients: base64url of "<change clock>:<document id>". */
function encodeCursor(position: ChangeEntry['position'] | null): string {
  return position ? Buffer.from(`${position.clock}:${position.id}`).toString('base64url') : '';
}

function decodeCursor(cursor: string): ChangeEntry['position'] | null {
  if (cursor === '') return null;
  const match = /^(\d{1,19}):(.+)$/s.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new AppError('VALIDATION_FAILED', 'cursor is not one this server handed out');
  return { clock: BigInt(match[1]!), id: match[2]! };
}

export function createDocumentHistory({
  repository,
  documents,
  authorship,
}: {
  repository: DocumentRepository;
  documents: DocumentService;
  authorship: AuthorshipStore;
}): DocumentHistory {
  return {
    async versions(id, options) {
      await documents.describe(id);
      const [entries, named] = await Promise.all([repository.history(id, options), repository.namedVersions(id)]);
      const namesOf = new Map<number, string[]>();
      for (const { name, version } of named) namesOf.set(version, [...(namesOf.get(version) ?? []), name]);
      const authors = await authorship.named(entries.flatMap((entry) => (entry.author ? [entry.author] : [])));
      const byId = new Map(authors.map((author) => [author.id, author]));
      const versions = entries.map((entry) => ({
        ...entry,
        author: entry.author && byId.get(entry.author.id)!,
        names: namesOf.get(entry.version) ?? [],
      }));
      return { versions, named };
    },

    async nameVersion(id, name, version) {
      const record = await documents.describe(id);
      const target = version ?? record.version;
      if (target > record.version) {
        throw new AppError('VERSION_NOT_FOUND', `${id} has no version ${target} (it is at ${record.version})`);
      }
      return repository.nameVersion(id, name, target);
    },

    async changes(cursor, limit, scope) {
      const after = decodeCursor(cursor ?? '');
      // One more than asked tells whether another page follows.
      const rows = await repository.changesSince(after, limit + 1, scope);
      const page = rows.slice(0, limit);
      return {
        changes: page.map(({ position: _position, ...change }) => change),
        cursor: encodeCursor(page.at(-1)?.position ?? after),
        hasMore: rows.length > limit,
      };
    },
  };
}
