import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { restAs, signUp, startAuthNode, type TestUser } from '../helpers/auth.ts';
import { waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { callTool, callToolOk, mcpClient } from '../helpers/mcp.ts';
import { removeDir, startTestNode, TEST_DATABASE_URL, type StorageKind, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { type RestClient, type RestResponse, restClient } from '../helpers/rest.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

/**
 * Suggestions (INTERFACE.md, "Agents as collaborators"): a change sent as a PATCH would be,
 * stored instead of applied, accepted (merged against its base, once) or rejected by someone
 * who may write. Real nodes on port 0, real y-websocket and MCP clients, a real webhook receiver.
 */

const MAX_DOCUMENT_BYTES = 4096;

function expectProblem(response: RestResponse, status: number, code: string) {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, code, requestId: expect.any(String) });
}

const diffOf = (lines: string[]) => ['--- a/doc.md', '+++ b/doc.md', ...lines, ''].join('\n');

describe.each(['postgres', 'embedded'] as StorageKind[])('suggestions on %s', (storage) => {
  let node: TestNode;
  let api: RestClient;

  beforeAll(async () => {
    node = await startTestNode(storage, { env: { MAX_DOCUMENT_BYTES: String(MAX_DOCUMENT_BYTES), MAX_MESSAGE_BYTES: '65536' } });
    api = restClient(`${node.url}/v1`);
  });
  afterAll(async () => {
    await node?.close();
    await removeDir(node?.dataDir);
  });

  async function documentWith(content: string, format?: string): Promise<{ id: string; path: string }> {
    const id = uniqueDocId(`suggest-${storage}`);
    const created = await api.post('/documents', { id, content, ...(format ? { format } : {}) });
    expect(created.status).toBe(201);
    return { id, path: `/documents/${id}` };
  }

  const suggest = (path: string, body: unknown, headers: Record<string, string> = { 'agent-name': 'Scribe' }) =>
    api.post(`${path}/suggestions`, body, headers);

  it('stores a suggestion without changing the document; its markdown is the change merged with what was written since its base', async () => {
    const doc = await documentWith('# Plan\n\nfirst\n');
    expect((await api.patch(doc.path, { edits: [{ append: 'second\n' }] })).status).toBe(200);

    const made = await suggest(doc.path, { base: 1, edits: [{ find: 'first', replace: 'FIRST' }] });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({
      id: expect.stringMatching(/^sg_/),
      documentId: doc.id,
      base: 1,
      status: 'open',
      author: { kind: 'agent', id: 'agent:Scribe@user:anonymous', name: 'Scribe' },
      markdown: '# Plan\n\nFIRST\nsecond\n',
      change: { edits: [{ find: 'first', replace: 'FIRST' }] },
      decidedAt: null,
      decidedBy: null,
      version: null,
    });
    expect(Number.isNaN(Date.parse(made.body.createdAt))).toBe(false);
    expect(made.headers.get('location')).toBe(`/v1${doc.path}/suggestions/${made.body.id}`);
    expect((await api.get(doc.path)).body).toMatchObject({ content: '# Plan\n\nfirst\nsecond\n', version: 2 });

    // Without a base: against the current version. A unified diff, as PATCH takes it.
    const diff = diffOf(['@@ -3,2 +3,2 @@', ' first', '-second', '+second, revised']);
    const byDiff = await api.call('POST', `${doc.path}/suggestions`, { body: diff, type: 'text/x-diff' });
    expect(byDiff.status, JSON.stringify(byDiff.body)).toBe(201);
    expect(byDiff.body).toMatchObject({ base: 2, markdown: '# Plan\n\nfirst\nsecond, revised\n', change: { diff }, author: { kind: 'user', name: 'Anonymous' } });
    const byHeader = await api.call('POST', `${doc.path}/suggestions`, { body: diffOf(['@@ -1 +1 @@', '-# Plan', '+# Plan B']), type: 'text/x-diff', headers: { 'base-version': '1' } });
    expect(byHeader.body).toMatchObject({ base: 1, markdown: '# Plan B\n\nfirst\nsecond\n' });

    expect((await api.get(`${doc.path}/suggestions/${made.body.id}`)).body).toEqual({ ...made.body, conflict: null });
    // Read after someone wrote more, an open suggestion reads as accepting it now would make the document.
    expect((await api.patch(doc.path, { edits: [{ append: 'third\n' }] })).status).toBe(200);
    expect((await api.get(`${doc.path}/suggestions/${made.body.id}`)).body).toMatchObject({ markdown: '# Plan\n\nFIRST\nsecond\nthird\n', conflict: null });
    expect((await api.patch(doc.path, { edits: [{ find: 'third\n', replace: '' }] })).status).toBe(200);
    const listed = await api.get(`${doc.path}/suggestions`);
    expect(listed.status).toBe(200);
    expect(listed.body.suggestions.map((s: { id: string }) => s.id)).toEqual([byHeader.body.id, byDiff.body.id, made.body.id]);
    expect(listed.body.nextCursor).toBeNull();
    const first = await api.get(`${doc.path}/suggestions?limit=2`);
    expect(first.body.suggestions).toHaveLength(2);
    const rest = await api.get(`${doc.path}/suggestions?limit=2&cursor=${first.body.nextCursor}`);
    expect(rest.body).toMatchObject({ suggestions: [{ id: made.body.id }], nextCursor: null });
    expect((await api.get(doc.path)).body.version).toBe(4);
  });

  it('keeps the change as it was sent, every kind of edit', async () => {
    const doc = await documentWith('intro\n\n## Tasks\n\n- one\n\n## Notes\n\nold\n');
    const edits = [
      { find: 'intro', replace: 'Intro', all: true },
      { heading: '## Tasks', append: '- two' },
      { heading: 'Notes', replace: 'new' },
      { prepend: '# Title\n\n' },
      { append: 'end\n' },
    ];
    const made = await suggest(doc.path, { edits });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body.change).toEqual({ edits });
    expect(made.body.markdown).toBe('# Title\n\nIntro\n\n## Tasks\n\n- one\n- two\n\n## Notes\n\nnew\nend\n');
    expect((await api.get(`${doc.path}/suggestions/${made.body.id}`)).body.change).toEqual({ edits });
  });

  it('refuses what PATCH refuses, storing nothing: an edit that does not fit its base, a gone or future base, bad bodies, too many edits, too large', async () => {
    const doc = await documentWith('alpha\nbeta\n');
    const conflict = await suggest(doc.path, { edits: [{ find: 'gamma', replace: 'x' }] });
    expectProblem(conflict, 409, 'EDIT_CONFLICT');
    expect(conflict.body.details).toMatchObject({ edit: 0, reason: 'not_found' });
    const hunk = await api.call('POST', `${doc.path}/suggestions`, { body: diffOf(['@@ -1,2 +1,2 @@', ' alpha', '-BETA', '+delta']), type: 'text/x-diff' });
    expectProblem(hunk, 409, 'EDIT_CONFLICT');
    expectProblem(await suggest(doc.path, { base: 9, edits: [{ append: '!' }] }), 400, 'VALIDATION_FAILED');
    const invalid = await suggest(doc.path, { edits: [{ find: 'alpha' }, { nonsense: true }], extra: 1 });
    expectProblem(invalid, 400, 'VALIDATION_FAILED');
    expect(Array.isArray(invalid.body.details) && invalid.body.details.length).toBeGreaterThan(0);
    expectProblem(await suggest(doc.path, { edits: [] }), 400, 'VALIDATION_FAILED');
    expectProblem(await api.call('POST', `${doc.path}/suggestions`, { body: '<edits/>', type: 'application/xml' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectProblem(await suggest(doc.path, { edits: Array.from({ length: 1001 }, () => ({ append: 'x' })) }), 413, 'TOO_MANY_EDITS');
    expectProblem(await suggest(doc.path, { edits: [{ append: 'x'.repeat(MAX_DOCUMENT_BYTES) }] }), 413, 'DOCUMENT_TOO_LARGE');
    expectProblem(await api.call('POST', `${doc.path}/suggestions`, { body: 'y'.repeat(70_000), type: 'text/x-diff' }), 413, 'PAYLOAD_TOO_LARGE');
    expectProblem(await api.post(`${doc.path}/suggestions`, { edits: [{ append: 'x' }] }, { 'if-match': '"7"' }), 412, 'PRECONDITION_FAILED');
    expectProblem(await suggest('/documents/no-such-document-here', { edits: [{ append: 'x' }] }), 404, 'DOC_NOT_FOUND');
    expect((await api.get(`${doc.path}/suggestions`)).body.suggestions).toEqual([]);
    expect((await api.get(doc.path)).body).toMatchObject({ content: 'alpha\nbeta\n', version: 1 });
  });

  it('a retried suggestion with the same Idempotency-Key is stored once', async () => {
    const doc = await documentWith('x\n');
    const headers = { 'idempotency-key': 'suggest-once' };
    const [one, two] = await Promise.all([suggest(doc.path, { edits: [{ append: 'y\n' }] }, headers), suggest(doc.path, { edits: [{ append: 'y\n' }] }, headers)]);
    expect([one.status, two.status].sort()).toEqual([200, 201]);
    expect(one.body.id).toBe(two.body.id);
    const again = await suggest(doc.path, { edits: [{ append: 'y\n' }] }, headers);
    expect([again.status, again.body.id]).toEqual([200, one.body.id]);
    // The retry gets the first answer even where the same change made now would be refused.
    const edits = { edits: [{ find: 'x', replace: 'X' }] };
    const before = await suggest(doc.path, edits, { 'idempotency-key': 'suggest-before' });
    expect(before.status).toBe(201);
    expect((await api.patch(doc.path, { edits: [{ append: 'x\n' }] })).status).toBe(200);
    expectProblem(await suggest(doc.path, edits), 409, 'EDIT_CONFLICT');
    const replayed = await suggest(doc.path, edits, { 'idempotency-key': 'suggest-before' });
    // (Its markdown is what accepting it would make now: its change on its base, merged with the x since.)
    expect([replayed.status, replayed.body.id, replayed.body.markdown]).toEqual([200, before.body.id, 'X\nx\n']);
    expect((await api.get(`${doc.path}/suggestions`)).body.suggestions).toHaveLength(2);
  });

  it('accepting merges against the base while a person types (stock y-websocket), keeps the typing, and is written as the suggestion author', async () => {
    const doc = await documentWith('# Notes\n\nfirst line\n');
    const made = await suggest(doc.path, { base: 1, edits: [{ find: 'first line', replace: 'first line, improved' }] });
    expect(made.status).toBe(201);

    const person = yWebsocketClient(node.wsUrl, doc.id);
    try {
      await whenSynced(person.provider);
      // Typing that makes the suggestion's `find` ambiguous in the live text: only a merge against its base applies it.
      person.text.insert(person.text.length, 'typed after the first line\n');
      await waitFor(async () => (await api.get(doc.path)).body.content.includes('typed after'), 'the typing to be stored');
      const typedAt = (await api.get(doc.path)).body.version as number;

      const accepted = await api.post(`${doc.path}/suggestions/${made.body.id}/accept`, undefined, { 'agent-name': 'Reviewer' });
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
      expect(accepted.body).toMatchObject({
        id: made.body.id,
        status: 'accepted',
        version: typedAt + 1,
        decidedBy: { kind: 'agent', name: 'Reviewer' },
        author: { name: 'Scribe' },
      });
      expect(Number.isNaN(Date.parse(accepted.body.decidedAt))).toBe(false);
      expect(accepted.headers.get('etag')).toBe(`"${typedAt + 1}"`);
      const expected = '# Notes\n\nfirst line, improved\ntyped after the first line\n';
      expect((await api.get(doc.path)).body).toMatchObject({ content: expected, version: typedAt + 1 });
      await waitFor(() => person.text.toString() === expected, 'the accepted change to reach the person');
      // The accepted content is the suggesting agent's, not the reviewer's.
      const newest = (await api.get(`${doc.path}/versions?limit=1`)).body.versions[0];
      expect(newest).toMatchObject({ version: typedAt + 1, author: { kind: 'agent', id: 'agent:Scribe@user:anonymous', name: 'Scribe' } });
      expect((await api.get(`${doc.path}/suggestions?status=accepted`)).body.suggestions.map((s: { id: string }) => s.id)).toEqual([made.body.id]);
      expect((await api.get(`${doc.path}/suggestions?status=open`)).body.suggestions).toEqual([]);
    } finally {
      person.provider.destroy();
    }
  });

  it('two accepts at the same moment apply it once: one 200, one 409 SUGGESTION_CLOSED', async () => {
    const doc = await documentWith('one\n');
    const made = await suggest(doc.path, { edits: [{ append: 'appended once\n' }] });
    const accepts = await Promise.all([1, 2].map(() => api.post(`${doc.path}/suggestions/${made.body.id}/accept`)));
    expect(accepts.map((answer) => answer.status).sort()).toEqual([200, 409]);
    const refused = accepts.find((answer) => answer.status === 409)!;
    expectProblem(refused, 409, 'SUGGESTION_CLOSED');
    const content = (await api.get(doc.path)).body.content as string;
    expect(content).toBe('one\nappended once\n');
    expect((await api.get(`${doc.path}/versions`)).body.versions).toHaveLength(2);
  });

  it('rejects; a closed suggestion cannot be accepted or rejected again (409), an unknown one or another document\'s is 404', async () => {
    const doc = await documentWith('keep\n');
    const other = await documentWith('other\n');
    const made = await suggest(doc.path, { edits: [{ append: 'no thanks\n' }] });
    const rejected = await api.post(`${doc.path}/suggestions/${made.body.id}/reject`, undefined, { 'agent-name': 'Editor' });
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ status: 'rejected', version: null, decidedBy: { kind: 'agent', name: 'Editor' } });
    expectProblem(await api.post(`${doc.path}/suggestions/${made.body.id}/accept`), 409, 'SUGGESTION_CLOSED');
    expectProblem(await api.post(`${doc.path}/suggestions/${made.body.id}/reject`), 409, 'SUGGESTION_CLOSED');
    expect((await api.get(doc.path)).body).toMatchObject({ content: 'keep\n', version: 1 });

    const accepted = await suggest(doc.path, { edits: [{ append: 'yes\n' }] });
    expect((await api.post(`${doc.path}/suggestions/${accepted.body.id}/accept`)).status).toBe(200);
    const closed = await api.post(`${doc.path}/suggestions/${accepted.body.id}/reject`);
    expectProblem(closed, 409, 'SUGGESTION_CLOSED');
    expect(closed.body.details).toEqual({ status: 'accepted' });

    for (const path of [`${doc.path}/suggestions/sg_nothing`, `${other.path}/suggestions/${made.body.id}`]) {
      expectProblem(await api.get(path), 404, 'SUGGESTION_NOT_FOUND');
      expectProblem(await api.post(`${path}/accept`), 404, 'SUGGESTION_NOT_FOUND');
      expectProblem(await api.post(`${path}/reject`), 404, 'SUGGESTION_NOT_FOUND');
    }
    expectProblem(await api.get(`${doc.path}/suggestions?status=maybe`), 400, 'VALIDATION_FAILED');
    expectProblem(await api.get(`${doc.path}/suggestions?cursor=bm9wZQ`), 400, 'VALIDATION_FAILED');
  });

  it('an accept that no longer fits (the merged document too large) answers the error and leaves the suggestion open', async () => {
    const doc = await documentWith(`${'a'.repeat(2000)}\n`);
    const made = await suggest(doc.path, { base: 1, edits: [{ append: 'b'.repeat(1500) }] });
    expect(made.status).toBe(201);
    expect((await api.patch(doc.path, { edits: [{ prepend: 'c'.repeat(1500) }] })).status).toBe(200);
    expectProblem(await api.post(`${doc.path}/suggestions/${made.body.id}/accept`), 413, 'DOCUMENT_TOO_LARGE');
    // Made now, the same suggestion fits its base but not the document it merges with: refused when it is made.
    expectProblem(await suggest(doc.path, { base: 1, edits: [{ append: 'b'.repeat(1500) }] }), 413, 'DOCUMENT_TOO_LARGE');
    expect((await api.get(`${doc.path}/suggestions/${made.body.id}`)).body).toMatchObject({ status: 'open', version: null, decidedBy: null });
    expect((await api.get(doc.path)).body.version).toBe(2);
    // Once there is room again, the same suggestion is accepted.
    expect((await api.patch(doc.path, { edits: [{ find: 'c'.repeat(1500), replace: '' }] })).status).toBe(200);
    const accepted = await api.post(`${doc.path}/suggestions/${made.body.id}/accept`);
    expect(accepted.status).toBe(200);
    expect((await api.get(doc.path)).body.content).toBe(`${'a'.repeat(2000)}\n${'b'.repeat(1500)}`);
  });

  it('rich text: an accept that would undo what a person typed since is refused (EDIT_CONFLICT) and stays open', async () => {
    const doc = await documentWith('Alpha.\n\nBravo.', 'prosemirror');
    const made = await suggest(doc.path, { base: 1, edits: [{ find: 'Alpha.\n\nBravo.', replace: 'Bravo.\n\nAlpha.' }] });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body.markdown).toBe('Bravo.\n\nAlpha.');
    // Someone types into both paragraphs, which the suggestion re-creates.
    expect((await api.patch(doc.path, { edits: [{ find: 'Alpha.', replace: 'Alpha typed.' }, { find: 'Bravo.', replace: 'Bravo typed.' }] })).status).toBe(200);
    // Read now, it says it no longer applies, and how it was made.
    expect((await api.get(`${doc.path}/suggestions/${made.body.id}`)).body).toMatchObject({ conflict: 'EDIT_CONFLICT', markdown: 'Bravo.\n\nAlpha.' });
    const refused = await api.post(`${doc.path}/suggestions/${made.body.id}/accept`);
    expectProblem(refused, 409, 'EDIT_CONFLICT');
    expect((await api.get(`${doc.path}/suggestions/${made.body.id}`)).body.status).toBe('open');
    expect((await api.get(doc.path)).body.content).toBe('Alpha typed.\n\nBravo typed.');
    // The same suggestion made now is refused when it is made, as the PATCH would be.
    expectProblem(await suggest(doc.path, { base: 1, edits: [{ find: 'Alpha.\n\nBravo.', replace: 'Bravo.\n\nAlpha.' }] }), 409, 'EDIT_CONFLICT');
    // Markdown a rich-text document cannot hold: 422, as for PATCH.
    expectProblem(await suggest(doc.path, { edits: [{ append: '\n\n<details>html</details>' }] }), 422, 'UNSUPPORTED_MARKDOWN');
  });
});

describe('suggestions whose accept was interrupted, and the open limit (Postgres)', () => {
  let node: TestNode;
  let api: RestClient;
  let pool: pg.Pool;

  beforeAll(async () => {
    node = await startTestNode('postgres');
    api = restClient(`${node.url}/v1`);
    pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  });
  afterAll(async () => {
    await node?.close();
    await pool?.end();
  });

  async function suggested(content: string, edit: object) {
    const id = uniqueDocId('suggest-claims');
    await api.post('/documents', { id, content });
    const made = await api.post(`/documents/${id}/suggestions`, { edits: [edit] });
    expect(made.status).toBe(201);
    return { id, path: `/documents/${id}`, sid: made.body.id as string };
  }

  it("pages a large document's suggestions by size: each carries the whole document, so a page ends after about 4 MiB of them", async () => {
    const id = uniqueDocId('suggest-big-list');
    const line = `${'x'.repeat(99)}\n`;
    expect((await api.post('/documents', { id, content: line.repeat(10_000) })).status).toBe(201);
    for (let i = 0; i < 6; i++) expect((await api.post(`/documents/${id}/suggestions`, { edits: [{ append: `s${i}\n` }] })).status).toBe(201);
    const first = await api.get(`/documents/${id}/suggestions?limit=100`);
    expect(first.body.suggestions).toHaveLength(5);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const rest = await api.get(`/documents/${id}/suggestions?limit=100&cursor=${first.body.nextCursor}`);
    expect(rest.body).toMatchObject({ suggestions: [{ markdown: `${line.repeat(10_000)}s0\n` }], nextCursor: null });
    // A cursor past the last date there is: 400, not 500.
    const forged = Buffer.from(JSON.stringify([8_640_000_000_000_001, 'x'])).toString('base64url');
    expect((await api.get(`/documents/${id}/suggestions?cursor=${forged}`)).status).toBe(400);
  });

  it('a fresh claim (an accept under way) is 409 to other accepts and rejects; a stale one (its node died) is taken over', async () => {
    const { path, sid } = await suggested('x\n', { append: 'y\n' });
    await pool.query(`UPDATE suggestions SET status = 'accepting', claimed_at = now() WHERE id = $1`, [sid]);
    expect((await api.get(`${path}/suggestions/${sid}`)).body.status).toBe('accepting');
    expectProblem(await api.post(`${path}/suggestions/${sid}/accept`), 409, 'SUGGESTION_CLOSED');
    expectProblem(await api.post(`${path}/suggestions/${sid}/reject`), 409, 'SUGGESTION_CLOSED');
    await pool.query(`UPDATE suggestions SET claimed_at = now() - interval '1 minute' WHERE id = $1`, [sid]);
    // An interrupted accept may have written already: only an accept (which finds that write) finishes it.
    expectProblem(await api.post(`${path}/suggestions/${sid}/reject`), 409, 'SUGGESTION_CLOSED');
    const taken = await api.post(`${path}/suggestions/${sid}/accept`);
    expect(taken.status, JSON.stringify(taken.body)).toBe(200);
    expect((await api.get(path)).body).toMatchObject({ content: 'x\ny\n', version: 2 });
  });

  it('an accept retried after a crash between writing and marking it accepted writes nothing twice', async () => {
    const { path, sid } = await suggested('x\n', { append: 'once\n' });
    const first = await api.post(`${path}/suggestions/${sid}/accept`);
    expect(first.body).toMatchObject({ status: 'accepted', version: 2 });
    // As the row is when the node dies after the write: still claimed, no version.
    await pool.query(`UPDATE suggestions SET status = 'accepting', claimed_at = now() - interval '1 minute', version = NULL, decided_at = NULL WHERE id = $1`, [sid]);
    const retried = await api.post(`${path}/suggestions/${sid}/accept`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: 'accepted', version: 2 });
    expect((await api.get(path)).body).toMatchObject({ content: 'x\nonce\n', version: 2 });
  });

  it('a document holds at most 500 open suggestions: the next is 409 TOO_MANY_SUGGESTIONS until one is decided', async () => {
    const { id, path, sid } = await suggested('x\n', { append: 'y' });
    await pool.query(
      `INSERT INTO suggestions (id, document_id, base, change, author_kind, author_id, markdown)
       SELECT 'sg_bulk_' || $1 || '_' || n, $1, 1, '{"edits":[{"append":"z"}]}', 'user', 'user:anonymous', 'x\nz' FROM generate_series(1, 499) AS n`,
      [id],
    );
    expectProblem(await api.post(`${path}/suggestions`, { edits: [{ append: 'one too many' }] }), 409, 'TOO_MANY_SUGGESTIONS');
    expect((await api.post(`${path}/suggestions/${sid}/reject`)).status).toBe(200);
    expect((await api.post(`${path}/suggestions`, { edits: [{ append: 'now there is room' }] })).status).toBe(201);
    const page = await api.get(`${path}/suggestions?status=open&limit=100`);
    expect(page.body.suggestions).toHaveLength(100);
    expect(page.body.nextCursor).toEqual(expect.any(String));
  });

  it('a base older than the kept history at accept time: 409 BASE_VERSION_GONE, still open', async () => {
    const id = uniqueDocId('suggest-gone');
    const path = `/documents/${id}`;
    await api.post('/documents', { id, content: 'v1' });
    const made = await api.post(`${path}/suggestions`, { base: 1, edits: [{ append: '!' }] });
    for (const content of ['v2', 'v3']) await api.put(path, { content });
    // What compaction does: a snapshot at 2, and the log up to it trimmed.
    const updates = (await pool.query('SELECT "update" FROM document_updates WHERE document_id = $1 AND seq <= 2 ORDER BY seq', [id])).rows;
    const state = Y.mergeUpdates(updates.map((row) => new Uint8Array(row.update)));
    await pool.query('INSERT INTO document_snapshots (document_id, seq, state) VALUES ($1, 2, $2)', [id, Buffer.from(state)]);
    await pool.query('DELETE FROM document_updates WHERE document_id = $1 AND seq <= 2', [id]);
    expectProblem(await api.post(`${path}/suggestions/${made.body.id}/accept`), 409, 'BASE_VERSION_GONE');
    expect((await api.get(`${path}/suggestions/${made.body.id}`)).body.status).toBe('open');
    expect((await api.get(path)).body).toMatchObject({ content: 'v3', version: 3 });
  });

  it('suggestions go with their document when it is purged', async () => {
    const { id, sid } = await suggested('x\n', { append: 'y' });
    await pool.query('DELETE FROM documents WHERE id = $1', [id]);
    expect((await pool.query('SELECT id FROM suggestions WHERE id = $1', [sid])).rows).toEqual([]);
  });
});

describe('suggestions with access control on', () => {
  let node: TestNode;
  let owner: TestUser;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    node = await startAuthNode({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_DEBOUNCE_MS: '0', WEBHOOK_BACKOFF_MS: '20', JOB_BACKOFF_MS: '20' });
    owner = await signUp(node, 'suggest-owner');
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await node?.close();
    await receiver?.close();
  });

  async function keyWith(scopes: string[]): Promise<string> {
    const created = await owner.rest.post('/v1/api-keys', { name: `key ${scopes.join('+')}`, scopes });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body.key;
  }

  async function ownersDocument(content: string) {
    const id = uniqueDocId('suggest-auth');
    const created = await owner.rest.post('/v1/documents', { id, content });
    expect(created.status).toBe(201);
    return { id, path: `/v1/documents/${id}`, readKey: created.body.readKey as string, writeKey: created.body.writeKey as string };
  }

  it('an API key with read and suggest may read and suggest, but not write, accept or reject', async () => {
    const doc = await ownersDocument('owner text\n');
    const key = await keyWith(['read', 'suggest']);
    const agent = restAs(node, key);
    expect((await agent.get(doc.path)).status).toBe(200);
    const made = await agent.post(`${doc.path}/suggestions`, { edits: [{ append: 'from the agent\n' }] }, { 'agent-name': 'Helper' });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body.author).toMatchObject({ kind: 'agent', name: 'Helper', id: expect.stringMatching(/^agent:Helper@key:/) });
    expect((await agent.get(`${doc.path}/suggestions`)).body.suggestions).toHaveLength(1);

    expectProblem(await agent.patch(doc.path, { edits: [{ append: 'direct\n' }] }), 403, 'FORBIDDEN');
    expectProblem(await agent.post(`${doc.path}/suggestions/${made.body.id}/accept`), 403, 'FORBIDDEN');
    expectProblem(await agent.post(`${doc.path}/suggestions/${made.body.id}/reject`), 403, 'FORBIDDEN');
    expectProblem(await agent.post('/v1/documents', { id: uniqueDocId('suggest-create') }), 403, 'FORBIDDEN');
    expect((await owner.rest.get(doc.path)).body).toMatchObject({ content: 'owner text\n', version: 1 });
    // Its socket is read-only: typing is not applied.
    const socket = yWebsocketClient(node.wsUrl, doc.id, { token: key });
    try {
      await whenSynced(socket.provider);
      socket.text.insert(0, 'sneaky ');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await owner.rest.get(doc.path)).body.content).toBe('owner text\n');
    } finally {
      socket.provider.destroy();
    }

    const accepted = await owner.rest.post(`${doc.path}/suggestions/${made.body.id}/accept`);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ status: 'accepted', decidedBy: { kind: 'user', id: `user:${owner.id}`, name: 'suggest-owner' } });
    expect((await owner.rest.get(doc.path)).body.content).toBe('owner text\nfrom the agent\n');
    const newest = (await owner.rest.get(`${doc.path}/versions?limit=1`)).body.versions[0];
    expect(newest.author).toMatchObject({ kind: 'agent', name: 'Helper', id: made.body.author.id });
  });

  it('read-only credentials cannot suggest; write access can; the key scopes accept suggest and nothing unknown', async () => {
    const doc = await ownersDocument('text\n');
    const edits = { edits: [{ append: 'x' }] };
    expectProblem(await restAs(node, await keyWith(['read'])).post(`${doc.path}/suggestions`, edits), 403, 'FORBIDDEN');
    expectProblem(await restAs(node, doc.readKey).post(`${doc.path}/suggestions`, edits), 403, 'FORBIDDEN');
    const byLink = await restAs(node, doc.writeKey).post(`${doc.path}/suggestions`, edits);
    expect(byLink.status).toBe(201);
    expect(byLink.body.author).toMatchObject({ kind: 'link', name: 'Someone with the link' });
    expect((await restAs(node, await keyWith(['write'])).post(`${doc.path}/suggestions`, edits)).status).toBe(201);
    // suggest alone reads too (its answers hold the document), as write does.
    const suggestOnly = restAs(node, await keyWith(['suggest']));
    expect((await suggestOnly.get(doc.path)).status).toBe(200);
    expect((await suggestOnly.post(`${doc.path}/suggestions`, edits)).status).toBe(201);
    expectProblem(await suggestOnly.put(doc.path, { content: 'no' }), 403, 'FORBIDDEN');
    expectProblem(await owner.rest.post('/v1/api-keys', { scopes: ['read', 'propose'] }), 400, 'VALIDATION_FAILED');
    const keys = (await owner.rest.get('/v1/api-keys')).body.apiKeys as { scopes: string[] }[];
    expect(keys.map((key) => key.scopes)).toContainEqual(['read', 'suggest']);
    // Someone else's document: no suggestion, and no sign it exists.
    const stranger = await signUp(node, 'suggest-stranger');
    expectProblem(await stranger.rest.post(`${doc.path}/suggestions`, edits), 404, 'DOC_NOT_FOUND');
    expectProblem(await stranger.rest.get(`${doc.path}/suggestions`), 404, 'DOC_NOT_FOUND');
  });

  it('MCP suggest_edit stores a suggestion by the session\'s agent, also for a key that may only suggest', async () => {
    const doc = await ownersDocument('# Draft\n\nhello\n');
    const client = await mcpClient(node, await keyWith(['read', 'suggest']));
    try {
      const tools = (await client.listTools()).tools;
      const tool = tools.find((candidate) => candidate.name === 'suggest_edit')!;
      expect(Object.keys(tool.inputSchema.properties ?? {})).toEqual(expect.arrayContaining(['document_id', 'base_version', 'edits', 'diff']));
      const made = await callToolOk(client, 'suggest_edit', { document_id: doc.id, base_version: 1, edits: [{ find: 'hello', replace: 'hello, world' }] });
      expect(made).toMatchObject({
        id: expect.stringMatching(/^sg_/),
        status: 'open',
        base: 1,
        markdown: '# Draft\n\nhello, world\n',
        author: { kind: 'agent', name: 'tandem-test' },
      });
      const byDiff = await callToolOk(client, 'suggest_edit', { document_id: doc.id, diff: diffOf(['@@ -1 +1 @@', '-# Draft', '+# Final']) });
      expect(byDiff.markdown).toBe('# Final\n\nhello\n');
      expect((await owner.rest.get(doc.path)).body.version).toBe(1);

      const conflict = await callTool(client, 'suggest_edit', { document_id: doc.id, edits: [{ find: 'absent', replace: 'x' }] });
      expect(conflict.isError).toBe(true);
      expect(conflict.structuredContent).toMatchObject({ code: 'EDIT_CONFLICT' });
      const both = await callTool(client, 'suggest_edit', { document_id: doc.id, edits: [{ append: 'x' }], diff: 'x' });
      expect(both.structuredContent).toMatchObject({ code: 'VALIDATION_FAILED' });
      const patch = await callTool(client, 'patch_document', { document_id: doc.id, edits: [{ append: 'x' }] });
      expect(patch.structuredContent).toMatchObject({ code: 'FORBIDDEN' });

      const accepted = await owner.rest.post(`${doc.path}/suggestions/${made.id}/accept`);
      expect(accepted.status).toBe(200);
      expect((await owner.rest.get(doc.path)).body.content).toBe('# Draft\n\nhello, world\n');
    } finally {
      await client.close();
    }
    const reader = await mcpClient(node, await keyWith(['read']));
    try {
      const refused = await callTool(reader, 'suggest_edit', { document_id: doc.id, edits: [{ append: 'x' }] });
      expect(refused.isError).toBe(true);
      expect(refused.structuredContent).toMatchObject({ code: 'FORBIDDEN' });
    } finally {
      await reader.close();
    }
  });

  it('a webhook subscribed to the suggestion events receives created, accepted and rejected', async () => {
    const hook = await owner.rest.post(`/v1/workspaces/${owner.workspaceId}/webhooks`, {
      url: receiver.url,
      events: ['suggestion.created', 'suggestion.accepted', 'suggestion.rejected'],
    });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    const doc = await ownersDocument('base\n');
    const agent = restAs(node, await keyWith(['read', 'suggest']));
    const taken = await agent.post(`${doc.path}/suggestions`, { edits: [{ append: 'taken\n' }] }, { 'agent-name': 'Hooked' });
    const dropped = await agent.post(`${doc.path}/suggestions`, { edits: [{ append: 'dropped\n' }] }, { 'agent-name': 'Hooked' });
    const accepted = await owner.rest.post(`${doc.path}/suggestions/${taken.body.id}/accept`);
    expect(accepted.status).toBe(200);
    expect((await owner.rest.post(`${doc.path}/suggestions/${dropped.body.id}/reject`)).status).toBe(200);

    const ofThisDocument = () => receiver.received.map((delivery) => JSON.parse(delivery.rawBody)).filter((body) => body.documentId === doc.id);
    await waitFor(() => ofThisDocument().length >= 4, 'four suggestion events');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const events = ofThisDocument();
    expect(events).toHaveLength(4);
    const byKind = (event: string, suggestionId: string) => events.find((body) => body.event === event && body.data.suggestionId === suggestionId);
    const author = { kind: 'agent', id: taken.body.author.id, name: 'Hooked' };
    expect(byKind('suggestion.created', taken.body.id)).toMatchObject({ workspaceId: owner.workspaceId, data: { status: 'open', base: 1, author } });
    expect(byKind('suggestion.created', dropped.body.id)).toMatchObject({ data: { status: 'open', author } });
    expect(byKind('suggestion.accepted', taken.body.id)).toMatchObject({
      data: { status: 'accepted', version: accepted.body.version, author, decidedBy: { kind: 'user', id: `user:${owner.id}` } },
    });
    const rejected = byKind('suggestion.rejected', dropped.body.id);
    expect(rejected).toMatchObject({ data: { status: 'rejected', author } });
    expect(rejected.data).not.toHaveProperty('version');
    expect(byKind('suggestion.created', taken.body.id).data).not.toHaveProperty('version');
  });
});
