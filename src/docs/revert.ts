import { AppError } from '../errors.ts';
import type { AuthorshipStore } from '../storage/authorship-repository.ts';
import type { ContentWork } from './content-work.ts';
import type { DocumentService } from './document-service.ts';
import type { WriteOptions, WriteResult } from './document-writes.ts';
import type { StoredDocuments } from './ports.ts';

export interface Reverter {
  /**
   * Undoes what `authorId` changed after version `since` (default: as far back as the log is
   * kept) as one new edit that keeps what everyone else wrote; written as `options.author`.
   */
  revert(id: string, authorId: string, since: number | undefined, options: WriteOptions): Promise<WriteResult>;
}

/**
 * Revert one author: the log since `since` is replayed on a rebuild of that version, the
 * author's updates tracked by an undo manager; what undoing them makes is one Yjs update,
 * applied to the live document like a raw update (so it merges with typing meanwhile).
 */
export function createReverter(deps: { documents: DocumentService; stored: StoredDocuments; authorship: AuthorshipStore; work: ContentWork }): Reverter {
  const { documents, stored, authorship, work } = deps;
  return {
    async revert(id, authorId, since, options) {
      const record = await documents.describe(id);
      // With no log kept at all, nothing is left to revert by default.
      const from = since ?? (await authorship.oldestReplayable(id)) ?? record.version;
      if (from > record.version) {
        throw new AppError('VALIDATION_FAILED', `since ${from} is newer than ${id}'s version ${record.version}`);
      }
      const [base, log] = await Promise.all([stored.loadAt(id, from), authorship.logBetween(id, from, record.version)]);
      if (!base || !log) {
        throw new AppError('BASE_VERSION_GONE', `The history of ${id} since version ${from} is no longer kept in full; revert since a later version`);
      }
      const update = await work.revertOf(
        record.format,
        from,
        base,
        log.map((entry) => ({
          seq: entry.seq,
          update: entry.update,
          byAuthor: entry.authorId === authorId,
          revertedSince: entry.reverts?.authorId === authorId ? entry.reverts.since : null,
        })),
      );
      if (!update) return { id, version: record.version, changed: false };
      return documents.write(id, { kind: 'update', update }, { ...options, reverts: { authorId, since: from } });
    },
  };
}
