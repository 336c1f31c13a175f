import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startTestNode, TEST_DATABASE_URL, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { type RestClient, type RestResponse, restClient } from '../helpers/rest.ts';

/**
 * Every bad request gets a problem+json answer with the right status and code, and the
 * document, its log and the node are as they were.
 */
describe('REST bad input', () => {
  let node: TestNode;
  let api: RestClient;
  let pool: pg.Pool;

  beforeAll(async () => {
    node = await startTestNode('postgres', { env: { MAX_MESSAGE_BYTES: '4096' } });
    api = restClient(`${node.url}/v1`);
    pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  });
  afterAll(async () => {
    await node?.close();
    await pool?.end();
  });

  function expectProblem(response: RestResponse, status: number, code: string) {
    expect(response.status, JSON.stringify(response.body)).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status, code, type: expect.any(String), title: expect.any(String), requestId: expect.any(String) });
  }

  /** Creates a document and returns a check that it is exactly as it was. */
  async function documentWith(content: string) {
    const id = uniqueDocId('bad');
    await api.post('/documents', { id, content });
    const before = await api.get(`/documents/${id}`);
    const rows = async () => (await pool.query('SELECT count(*)::int AS n FROM document_updates WHERE document_id = $1', [id])).rows[0].n;
    const rowsBefore = await rows();
    return {
      id,
      path: `/documents/${id}`,
      async expectUnchanged() {
        expect((await api.get(`/documents/${id}`)).body).toEqual(before.body);
        expect(await rows()).toBe(rowsBefore);
      },
    };
  }

  it('a body over the limit gets 413', async () => {
    const doc = await documentWith('small');
    expectProblem(await api.call('PUT', doc.path, { body: 'x'.repeat(5000), type: 'text/markdown' }), 413, 'PAYLOAD_TOO_LARGE');
    await doc.expectUnchanged();
  });

  it('an unknown media type gets 415', async () => {
    const doc = await documentWith('small');
    expectProblem(await api.call('PATCH', doc.path, { body: '<edits/>', type: 'application/xml' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await doc.expectUnchanged();
  });

  it('invalid JSON gets 400', async () => {
    const doc = await documentWith('small');
    expectProblem(await api.call('PATCH', doc.path, { body: '{"edits": [', type: 'application/json' }), 400, 'VALIDATION_FAILED');
    await doc.expectUnchanged();
  });

  it('a body that fails the schema gets 400 listing every problem', async () => {
    const doc = await documentWith('small');
    const response = await api.patch(doc.path, { base: -1, edits: [{ append: 1 }], extra: true });
    expectProblem(response, 400, 'VALIDATION_FAILED');
    const paths = (response.body.details as { path: string }[]).map((detail) => detail.path);
    expect(paths).toEqual(expect.arrayContaining(['/base', '/edits/0/append']));
    expect(response.body.details.length).toBeGreaterThanOrEqual(3);
    await doc.expectUnchanged();
  });

  it('an edit that does not apply gets 409 EDIT_CONFLICT naming it, and no earlier edit of the request is applied', async () => {
    const doc = await documentWith('one two two');
    const missing = await api.patch(doc.path, { edits: [{ append: ' three' }, { find: 'four', replace: '4' }] });
    expectProblem(missing, 409, 'EDIT_CONFLICT');
    expect(missing.body.details).toMatchObject({ edit: 1 });
    const ambiguous = await api.patch(doc.path, { edits: [{ find: 'two', replace: '2' }] });
    expectProblem(ambiguous, 409, 'EDIT_CONFLICT');
    expect(ambiguous.body.details).toMatchObject({ edit: 0 });
    await doc.expectUnchanged();
  });

  it('a unified diff whose hunk does not fit gets 409 EDIT_CONFLICT naming the hunk', async () => {
    const doc = await documentWith('alpha\nbeta\ngamma\n');
    const diff = ['--- a/doc.md', '+++ b/doc.md', '@@ -1,3 +1,3 @@', ' alpha', '-BETA', '+delta', ' gamma', ''].join('\n');
    const response = await api.call('PATCH', doc.path, { body: diff, type: 'text/x-diff' });
    expectProblem(response, 409, 'EDIT_CONFLICT');
    expect(response.body.details).toMatchObject({ hunk: 1 });
    expectProblem(await api.call('PATCH', doc.path, { body: 'not a diff at all', type: 'text/x-diff' }), 400, 'VALIDATION_FAILED');
    await doc.expectUnchanged();
  });

  it('a base older than the kept history gets 409 BASE_VERSION_GONE; a base in the future 400', async () => {
    const doc = await documentWith('v1');
    for (const content of ['v2', 'v3', 'v4', 'v5']) await api.put(doc.path, { content });
    // What compaction does: a snapshot at 4, and the log up to it trimmed.
    const updates = (await pool.query('SELECT "update" FROM document_updates WHERE document_id = $1 AND seq <= 4 ORDER BY seq', [doc.id])).rows;
    const state = Y.mergeUpdates(updates.map((row) => new Uint8Array(row.update)));
    await pool.query('INSERT INTO document_snapshots (document_id, seq, state) VALUES ($1, 4, $2)', [doc.id, Buffer.from(state)]);
    await pool.query('DELETE FROM document_updates WHERE document_id = $1 AND seq <= 4', [doc.id]);

    expectProblem(await api.patch(doc.path, { base: 2, edits: [{ append: '!' }] }), 409, 'BASE_VERSION_GONE');
    expectProblem(await api.get(`${doc.path}/versions/2`), 404, 'VERSION_NOT_FOUND');
    expectProblem(await api.patch(doc.path, { base: 9, edits: [{ append: '!' }] }), 400, 'VALIDATION_FAILED');
    // Away from version 5's change, so the merge has one possible outcome.
    const fromSnapshot = await api.patch(doc.path, { base: 4, edits: [{ prepend: '!' }] });
    expect(fromSnapshot.status).toBe(200);
    expect((await api.get(doc.path)).body.content).toBe('!v5');
  });

  it('Base-Version and base that disagree, and a malformed If-Match, get 400', async () => {
    const doc = await documentWith('text');
    expectProblem(await api.patch(doc.path, { base: 1, edits: [{ append: '!' }] }, { 'base-version': '0' }), 400, 'VALIDATION_FAILED');
    expectProblem(await api.patch(doc.path, { edits: [{ append: '!' }] }, { 'if-match': 'yesterday' }), 400, 'VALIDATION_FAILED');
    await doc.expectUnchanged();
  });

  it('afterwards the node is healthy', async () => {
    expect((await fetch(`${node.url}/health`)).status).toBe(200);
    expect((await fetch(`${node.url}/ready`)).status).toBe(200);
  });
});
