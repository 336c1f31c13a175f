import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { restAs, signUp, startAuthNode, TEST_JWT_SECRET, type TestUser } from '../helpers/auth.ts';
import { hocuspocusClient, waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { inspectPostgres, type StoreInspector } from '../helpers/db-inspect.ts';
import { callTool, mcpClient } from '../helpers/mcp.ts';
import { type TestNode, uniqueDocId } from '../helpers/node.ts';
import type { RestClient, RestResponse } from '../helpers/rest.ts';
import { killAllServerProcesses, type ServerProcess, startServerProcess } from '../helpers/server-process.ts';

/**
 * Issue 16, finding 3: one write credential (a shared write link is enough) could grow a
 * document without bound. 28 `{ find: "a", replace: "aa", all: true }` edits double a
 * one-character document 28 times; the node built the string, V8 gave up ("invalid size")
 * and the process died with every document on it. INTERFACE.md: a write whose result would
 * exceed MAX_DOCUMENT_BYTES, or a request with more than 1,000 edits, is 413
 * DOCUMENT_TOO_LARGE / TOO_MANY_EDITS with nothing applied, on every path that writes.
 */

function expectProblem(response: RestResponse, status: number, code: string) {
  expect(response.status, JSON.stringify(response.body).slice(0, 500)).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, code });
}

const doubling = (times: number) => Array.from({ length: times }, () => ({ find: 'a', replace: 'aa', all: true }));

describe('the doubling attack against a node process with the shipped limits', () => {
  let server: ServerProcess;
  let owner: TestUser;

  beforeAll(async () => {
    server = await startServerProcess({ kind: 'postgres' }, { env: { AUTH: 'on', JWT_SECRET: TEST_JWT_SECRET } });
    owner = await signUp(server, 'doubling-owner');
  });
  afterAll(async () => {
    await killAllServerProcesses();
  });

  it('28 doubling edits from a write link answer 413 DOCUMENT_TOO_LARGE, apply nothing, and the node serves other documents after', async () => {
    const id = uniqueDocId('doubling');
    const created = await owner.rest.post('/v1/documents', { id, content: 'a' });
    expect(created.status).toBe(201);
    const link = restAs(server, created.body.writeKey);

    const attack = await link.patch(`/v1/documents/${id}`, { edits: doubling(28) });
    expectProblem(attack, 413, 'DOCUMENT_TOO_LARGE');

    const after = await link.get(`/v1/documents/${id}`);
    expect(after.body).toMatchObject({ content: 'a', version: 1 });
    const other = uniqueDocId('bystander');
    expect((await owner.rest.post('/v1/documents', { id: other, content: 'still here' })).status).toBe(201);
    expect((await owner.rest.get(`/v1/documents/${other}`)).body).toMatchObject({ content: 'still here' });
    expect(server.stderr()).not.toMatch(/invalid size|heap out of memory/i);
  });

  it('1,001 appends in one request are 413 TOO_MANY_EDITS with nothing applied; 1,000 are applied', async () => {
    const id = uniqueDocId('appends');
    const created = await owner.rest.post('/v1/documents', { id, content: '' });
    const link = restAs(server, created.body.writeKey);
    const appends = (count: number) => Array.from({ length: count }, () => ({ append: 'x' }));

    expectProblem(await link.patch(`/v1/documents/${id}`, { edits: appends(1001) }), 413, 'TOO_MANY_EDITS');
    expect((await link.get(`/v1/documents/${id}`)).body).toMatchObject({ content: '', version: 0 });

    const accepted = await link.patch(`/v1/documents/${id}`, { edits: appends(1000) });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    expect((await link.get(`/v1/documents/${id}`)).body.content).toBe('x'.repeat(1000));
  });
});

describe('every write path stops at MAX_DOCUMENT_BYTES', () => {
  const LIMIT = 64 * 1024;
  let node: TestNode;
  let owner: TestUser;
  let db: StoreInspector;
  let agent: Client;

  beforeAll(async () => {
    node = await startAuthNode({ MAX_DOCUMENT_BYTES: String(LIMIT) });
    owner = await signUp(node, 'limits-owner');
    db = inspectPostgres();
    const key = await owner.rest.post('/v1/api-keys', { name: 'agent', scopes: ['read', 'write'] });
    agent = await mcpClient(node, key.body.key);
  });
  afterAll(async () => {
    await agent?.close();
    await node?.close();
    await db?.close();
  });

  /** A document of the owner's, its write link, and a check that neither its content nor its log moved. */
  async function documentWith(content: string): Promise<{ id: string; path: string; writeKey: string; link: RestClient; expectUnchanged(): Promise<void> }> {
    const id = uniqueDocId('limits');
    const created = await owner.rest.post('/v1/documents', { id, content });
    expect(created.status).toBe(201);
    const link = restAs(node, created.body.writeKey);
    const before = (await link.get(`/v1/documents/${id}`)).body;
    const rows = (await db.updates(id)).length;
    return {
      id,
      path: `/v1/documents/${id}`,
      writeKey: created.body.writeKey,
      link,
      async expectUnchanged() {
        expect((await link.get(`/v1/documents/${id}`)).body).toEqual(before);
        expect((await db.updates(id)).length).toBe(rows);
      },
    };
  }

  it('replace-all edits that would pass the limit are refused before the text is built; reaching the limit exactly is fine', async () => {
    const doc = await documentWith('a'.repeat(1024));
    const refused = await doc.link.patch(doc.path, { edits: doubling(7) });
    expectProblem(refused, 413, 'DOCUMENT_TOO_LARGE');
    expect(refused.body.details).toMatchObject({ edit: 6, maxBytes: LIMIT });
    await doc.expectUnchanged();

    const exact = await doc.link.patch(doc.path, { edits: doubling(6) });
    expect(exact.status, JSON.stringify(exact.body)).toBe(200);
    expect((await doc.link.get(doc.path)).body.content).toHaveLength(LIMIT);
  });

  it('appends and multi-byte text count in UTF-8 bytes', async () => {
    const doc = await documentWith('');
    // 3 bytes each in UTF-8: 21,846 of them are 65,538 bytes, one character over in UTF-16 terms no longer.
    const refused = await doc.link.patch(doc.path, { edits: [{ append: '€'.repeat(10_000) }, { append: '€'.repeat(11_846) }] });
    expectProblem(refused, 413, 'DOCUMENT_TOO_LARGE');
    await doc.expectUnchanged();
  });

  it('PUT of markdown over the limit', async () => {
    const doc = await documentWith('small');
    expectProblem(await doc.link.call('PUT', doc.path, { body: 'x'.repeat(LIMIT + 1), type: 'text/markdown' }), 413, 'DOCUMENT_TOO_LARGE');
    expectProblem(await doc.link.put(doc.path, { content: 'y'.repeat(LIMIT + 1) }), 413, 'DOCUMENT_TOO_LARGE');
    await doc.expectUnchanged();
  });

  it('a unified diff whose result is over the limit', async () => {
    const doc = await documentWith('one\n');
    const added = Array.from({ length: 1100 }, (_, i) => `+${String(i).padStart(60, '-')}`);
    const diff = ['--- a', '+++ b', `@@ -1,1 +1,${added.length + 1} @@`, ' one', ...added, ''].join('\n');
    expectProblem(await doc.link.call('PATCH', doc.path, { body: diff, type: 'text/x-diff' }), 413, 'DOCUMENT_TOO_LARGE');
    await doc.expectUnchanged();
  });

  it('a raw Yjs update that would take the document over the limit', async () => {
    const doc = await documentWith('seed');
    const state = await doc.link.get(`${doc.path}/update`);
    const local = new Y.Doc();
    Y.applyUpdate(local, state.body as Uint8Array);
    const before = Y.encodeStateVector(local);
    local.getText('content').insert(4, 'z'.repeat(LIMIT));
    const update = Y.encodeStateAsUpdate(local, before);
    expectProblem(await doc.link.call('POST', `${doc.path}/update`, { body: update, type: 'application/octet-stream' }), 413, 'DOCUMENT_TOO_LARGE');
    // Content in another shared type grows the document just the same.
    const other = new Y.Doc();
    Y.applyUpdate(other, state.body as Uint8Array);
    const otherBefore = Y.encodeStateVector(other);
    other.getMap('junk').set('blob', 'q'.repeat(LIMIT));
    const junk = Y.encodeStateAsUpdate(other, otherBefore);
    expectProblem(await doc.link.call('POST', `${doc.path}/update`, { body: junk, type: 'application/octet-stream' }), 413, 'DOCUMENT_TOO_LARGE');
    await doc.expectUnchanged();
  });

  it('creating a document with content over the limit creates nothing', async () => {
    const id = uniqueDocId('limits-create');
    expectProblem(await owner.rest.post('/v1/documents', { id, content: 'c'.repeat(LIMIT + 1) }), 413, 'DOCUMENT_TOO_LARGE');
    expectProblem(await owner.rest.get(`/v1/documents/${id}`), 404, 'DOC_NOT_FOUND');
  });

  it('a write against an old base whose merge with the edits made since would pass the limit', async () => {
    const doc = await documentWith('x');
    expect((await doc.link.put(doc.path, { content: `x${'b'.repeat(40_000)}` })).status).toBe(200);
    const unchanged = await documentState(doc);
    // Against version 1 ("x") the edit makes 40,001 bytes, within the limit; merged with version 2 it would be 80,001.
    const refused = await doc.link.patch(doc.path, { base: 1, edits: [{ append: 'c'.repeat(40_000) }] });
    expectProblem(refused, 413, 'DOCUMENT_TOO_LARGE');
    expect(await documentState(doc)).toEqual(unchanged);
  });

  it('restoring a version, when its merge with the edits made since would pass the limit', async () => {
    const doc = await documentWith('x');
    expect((await doc.link.put(doc.path, { content: 'A'.repeat(40_000) })).status).toBe(200); // version 2
    expect((await doc.link.put(doc.path, { content: 'B'.repeat(40_000) })).status).toBe(200); // version 3
    const unchanged = await documentState(doc);
    const refused = await doc.link.call('POST', `${doc.path}/versions/2/restore`, { headers: { 'base-version': '1' } });
    expectProblem(refused, 413, 'DOCUMENT_TOO_LARGE');
    expect(await documentState(doc)).toEqual(unchanged);
  });

  it('MCP: patch_document, append_to_section and create_document over the limit are DOCUMENT_TOO_LARGE tool errors', async () => {
    const doc = await documentWith(`# Notes\n\n${'a'.repeat(1024)}\n`);
    const patch = await callTool(agent, 'patch_document', { document_id: doc.id, edits: doubling(7) });
    expect(patch.isError).toBe(true);
    expect(patch.structuredContent).toMatchObject({ code: 'DOCUMENT_TOO_LARGE', status: 413 });
    const append = await callTool(agent, 'append_to_section', { document_id: doc.id, heading: '# Notes', text: 'n'.repeat(LIMIT) });
    expect(append.structuredContent).toMatchObject({ code: 'DOCUMENT_TOO_LARGE', status: 413 });
    await doc.expectUnchanged();
    // The tool's input schema says at most 1,000 edits: the SDK refuses more before the tool runs.
    const tooMany = await callTool(agent, 'patch_document', { document_id: doc.id, edits: Array.from({ length: 1001 }, () => ({ append: 'x' })) });
    expect(tooMany.isError).toBe(true);
    expect(JSON.stringify(tooMany.content)).toMatch(/<=1000 items/);
    await doc.expectUnchanged();

    const id = uniqueDocId('limits-mcp-create');
    const create = await callTool(agent, 'create_document', { id, content: 'c'.repeat(LIMIT + 1) });
    expect(create.structuredContent).toMatchObject({ code: 'DOCUMENT_TOO_LARGE', status: 413 });
    expectProblem(await owner.rest.get(`/v1/documents/${id}`), 404, 'DOC_NOT_FOUND');
  });

  it('a y-websocket client whose update would pass the limit is closed 4413 DOCUMENT_TOO_LARGE; nothing of it is applied or broadcast', async () => {
    const doc = await documentWith('seed');
    const watcher = yWebsocketClient(node.wsUrl, doc.id, { token: owner.accessToken });
    const writer = yWebsocketClient(node.wsUrl, doc.id, { token: doc.writeKey });
    try {
      await whenSynced(watcher.provider);
      await whenSynced(writer.provider);
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        writer.provider.once('connection-close', (event) => resolve({ code: event!.code, reason: event!.reason })),
      );
      writer.text.insert(4, 'z'.repeat(LIMIT));
      expect(await closed).toEqual({ code: 4413, reason: 'DOCUMENT_TOO_LARGE' });

      // A later write reaches the watcher: had the big insert been accepted, it would have arrived first.
      expect((await doc.link.patch(doc.path, { edits: [{ append: ' marker' }] })).status).toBe(200);
      await waitFor(() => watcher.text.toString().endsWith(' marker'), 'the marker edit to reach the watcher');
      expect(watcher.text.toString()).toBe('seed marker');
      expect((await doc.link.get(doc.path)).body.content).toBe('seed marker');

      // Within the limit, typing goes on as before.
      const typist = yWebsocketClient(node.wsUrl, doc.id, { token: doc.writeKey });
      try {
        await whenSynced(typist.provider);
        typist.text.insert(0, 'ok ');
        await waitFor(() => watcher.text.toString() === 'ok seed marker', 'a normal edit to reach the watcher');
      } finally {
        typist.provider.destroy();
      }
    } finally {
      watcher.provider.destroy();
      writer.provider.destroy();
    }
  });

  it('a Hocuspocus client whose update would pass the limit is closed 4413 DOCUMENT_TOO_LARGE too, and nothing of it is stored', async () => {
    const doc = await documentWith('seed');
    const writer = hocuspocusClient(node.wsUrl, doc.id, { token: doc.writeKey });
    try {
      await whenSynced(writer.provider);
      // The document's connection closes (Hocuspocus's Close message, which the provider reports as 1000), then the socket.
      const closes: { code?: number; reason?: string }[] = [];
      writer.provider.on('close', ({ event }: { event: { code?: number; reason?: string } }) => closes.push({ code: event.code, reason: event.reason }));
      writer.text.insert(0, 'h'.repeat(LIMIT));
      await waitFor(() => closes.some((close) => close.code === 4413), 'the socket to close with 4413');
      expect(closes.find((close) => close.code === 4413)).toEqual({ code: 4413, reason: 'DOCUMENT_TOO_LARGE' });
      expect(closes.every((close) => close.reason === 'DOCUMENT_TOO_LARGE')).toBe(true);
    } finally {
      // A Hocuspocus provider always reconnects, and would offer the same update again (refused again).
      writer.provider.destroy();
    }
    await doc.expectUnchanged();
  });

  async function documentState(doc: { path: string; link: RestClient; id: string }) {
    return { read: (await doc.link.get(doc.path)).body, rows: (await db.updates(doc.id)).length };
  }
});
