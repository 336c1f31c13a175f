import { describe, expect, it } from 'vitest';
import { createDocumentSearch } from '../../src/docs/document-search.ts';
import type { DocumentService } from '../../src/docs/document-service.ts';
import { AppError } from '../../src/errors.ts';
import type { DocumentRecord } from '../../src/storage/document-repository.ts';

/** A document service over an in-memory list of documents (id order, as the repository lists them). */
function fakeDocuments(contents: Map<string, string>, gone: Set<string> = new Set()) {
  const ids = [...contents.keys()].sort();
  const record = (id: string): DocumentRecord => {
    const at = new Date(0);
    return { id, title: `Title of ${id}`, format: 'markdown', version: 1, createdAt: at, updatedAt: at, deletedAt: null };
  };
  let reads = 0;
  const documents: Pick<DocumentService, 'list' | 'read'> = {
    async list({ afterId, limit }) {
      return ids.filter((id) => afterId === undefined || id > afterId).slice(0, limit).map(record);
    },
    async read(id) {
      reads += 1;
      if (gone.has(id)) throw new AppError('DOC_NOT_FOUND');
      return { record: record(id), content: contents.get(id)! };
    },
  };
  return { documents, reads: () => reads };
}

const id = (n: number) => `doc-${String(n).padStart(4, '0')}`;
const everyone = { scope: null, mayRead: async () => true };

describe('document search', () => {
  it('reads at most 200 documents per call and hands out a cursor that finds the rest, none twice', async () => {
    const contents = new Map<string, string>();
    for (let n = 0; n < 450; n++) contents.set(id(n), n % 50 === 7 ? `# Note\n\nabout the Needle ${n}\n` : 'nothing here\n');
    const { documents, reads } = fakeDocuments(contents);
    const search = createDocumentSearch({ documents });

    const found: string[] = [];
    let cursor: string | undefined;
    const scanned: number[] = [];
    do {
      const page = await search.search('needle', { ...everyone, limit: 50, cursor });
      found.push(...page.results.map((hit) => hit.id));
      scanned.push(page.scanned);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(scanned).toEqual([200, 200, 50]);
    expect(reads()).toBe(450);
    expect(found).toEqual([...contents.keys()].filter((key) => contents.get(key)!.includes('Needle')));
  });

  it('stops once it has `limit` hits, and the cursor resumes right after the last document it read', async () => {
    const contents = new Map<string, string>();
    for (let n = 0; n < 40; n++) contents.set(id(n), `line one\nneedle ${n}\n`);
    const { documents } = fakeDocuments(contents);
    const search = createDocumentSearch({ documents });
    const first = await search.search('NEEDLE', { ...everyone, limit: 3 });
    expect(first.results.length).toBeGreaterThanOrEqual(3);
    expect(first.results[0]).toEqual({ id: id(0), title: `Title of ${id(0)}`, version: 1, titleMatch: false, matches: [{ line: 2, text: 'needle 0' }] });
    const second = await search.search('needle', { ...everyone, limit: 100, cursor: first.nextCursor! });
    expect([...first.results, ...second.results].map((hit) => hit.id)).toEqual([...contents.keys()]);
    expect(second.nextCursor).toBeNull();
  });

  it('leaves out what the caller may not read and documents deleted meanwhile; matches titles; cuts long lines', async () => {
    const long = `${'a'.repeat(500)} needle ${'b'.repeat(500)}`;
    const contents = new Map([
      [id(1), 'needle'],
      [id(2), 'needle'],
      [id(3), long],
      [id(4), 'no match in the text'],
    ]);
    const { documents } = fakeDocuments(contents, new Set([id(2)]));
    const search = createDocumentSearch({ documents });
    const page = await search.search('needle', { scope: null, mayRead: async (doc) => doc !== id(1), limit: 10 });
    expect(page.results.map((hit) => hit.id)).toEqual([id(3)]);
    const text = page.results[0]!.matches[0]!.text;
    expect(text).toContain('needle');
    expect(text.length).toBeLessThan(260);
    expect(text.startsWith('…') && text.endsWith('…')).toBe(true);

    const byTitle = await search.search(`title of ${id(4)}`, { ...everyone, limit: 10 });
    expect(byTitle.results).toEqual([expect.objectContaining({ id: id(4), titleMatch: true, matches: [] })]);
    await expect(search.search('  ', { ...everyone, limit: 10 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
