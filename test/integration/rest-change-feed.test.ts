import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { removeDir, startTestNode, type TestNode } from '../helpers/node.ts';
import { type RestClient, restClient } from '../helpers/rest.ts';

interface Change {
  id: string;
  version: number;
  deleted: boolean;
}
interface Page {
  changes: Change[];
  cursor: string;
  hasMore: boolean;
}

/**
 * GET /v1/sync on a node with a database of its own (embedded PGlite), so "exactly the
 * documents changed since the cursor" can be checked without other suites' documents.
 */
describe('the change feed', () => {
  let node: TestNode;
  let api: RestClient;

  beforeAll(async () => {
    node = await startTestNode('embedded');
    api = restClient(`${node.url}/v1`);
  });
  afterAll(async () => {
    await node?.close();
    await removeDir(node?.dataDir);
  });

  const feed = async (cursor?: string, limit?: number): Promise<Page> => {
    const query = new URLSearchParams({ ...(cursor !== undefined ? { cursor } : {}), ...(limit ? { limit: String(limit) } : {}) });
    const response = await api.get<Page>(`/sync?${query}`);
    expect(response.status).toBe(200);
    return response.body;
  };
  const summary = (page: Page) => page.changes.map(({ id, version, deleted }) => ({ id, version, deleted }));

  it('returns exactly what was created, edited or deleted since the cursor, in commit order', async () => {
    const start = await feed();
    expect(start).toEqual({ changes: [], cursor: '', hasMore: false });

    await api.post('/documents', { id: 'alpha', content: 'a' });
    await api.post('/documents', { id: 'beta' });
    // A WebSocket client creates a document by connecting, and edits another.
    const gamma = yWebsocketClient(node.wsUrl, 'gamma');
    const alpha = yWebsocketClient(node.wsUrl, 'alpha');
    try {
      await Promise.all([whenSynced(gamma.provider), whenSynced(alpha.provider)]);
      alpha.text.insert(1, 'b');
      await waitFor(async () => (await api.get('/documents/alpha')).body.version === 2, 'the edit to be durable');
    } finally {
      gamma.provider.destroy();
      alpha.provider.destroy();
    }

    const first = await feed(start.cursor);
    expect(summary(first)).toEqual([
      { id: 'beta', version: 0, deleted: false },
      { id: 'gamma', version: 0, deleted: false },
      { id: 'alpha', version: 2, deleted: false },
    ]);
    expect(first.hasMore).toBe(false);

    // Nothing new: an empty page that keeps the cursor.
    expect(await feed(first.cursor)).toEqual({ changes: [], cursor: first.cursor, hasMore: false });

    expect((await api.delete('/documents/beta')).status).toBe(204);
    await api.put('/documents/gamma', { content: 'g' });
    const second = await feed(first.cursor);
    expect(summary(second)).toEqual([
      { id: 'beta', version: 0, deleted: true },
      { id: 'gamma', version: 1, deleted: false },
    ]);

    // Pages of one, followed by cursor, give the same sequence.
    const walked: Change[] = [];
    let cursor = start.cursor;
    for (let pages = 0; pages < 10; pages++) {
      const page = await feed(cursor, 1);
      walked.push(...page.changes);
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
    expect(walked.map(({ id, deleted }) => `${id}${deleted ? ' (deleted)' : ''}`)).toEqual(['alpha', 'beta (deleted)', 'gamma']);
  });

  it('refuses a cursor it did not hand out', async () => {
    const response = await api.get('/sync?cursor=not-a-cursor');
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
  });
});
