import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { body, isYWebsocketSync, openRawSocket, SYNC_STEP2 } from '../helpers/raw-socket.ts';
import { type RestClient, restClient } from '../helpers/rest.ts';

/** The REST contract of INTERFACE.md: documents, reads, raw Yjs, versions, deletion, OpenAPI. */
describe('REST API', () => {
  let node: TestNode;
  let api: RestClient;

  beforeAll(async () => {
    node = await startTestNode('postgres');
    api = restClient(`${node.url}/v1`);
  });
  afterAll(async () => {
    await node?.close();
  });

  describe('documents', () => {
    it('creates with a chosen id, title and markdown, and reads it back as JSON and as markdown', async () => {
      const id = uniqueDocId('rest');
      const created = await api.post('/documents', { id, title: 'Plan', content: '# Plan\n\nhello\n' });
      expect(created.status).toBe(201);
      expect(created.headers.get('location')).toBe(`/v1/documents/${id}`);
      expect(created.body).toMatchObject({ id, title: 'Plan', version: 1, links: { self: `/v1/documents/${id}`, websocket: `/ws/${id}` } });

      const json = await api.get(`/documents/${id}`);
      expect(json.status).toBe(200);
      expect(json.body).toMatchObject({ id, title: 'Plan', version: 1, content: '# Plan\n\nhello\n' });
      expect(new Date(json.body.createdAt).getTime()).not.toBeNaN();
      expect(json.headers.get('etag')).toBe('"1"');

      const markdown = await api.get(`/documents/${id}`, { accept: 'text/markdown' });
      expect(markdown.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
      expect(markdown.body).toBe('# Plan\n\nhello\n');
      expect(markdown.headers.get('etag')).toBe('"1"');

      // A y-websocket client sees the same content in the Y.Text named "content".
      const c = yWebsocketClient(node.wsUrl, id);
      try {
        await whenSynced(c.provider);
        expect(c.text.toString()).toBe('# Plan\n\nhello\n');
      } finally {
        c.provider.destroy();
      }
    });

    it('generates an id when none is given; an empty document is at version 0', async () => {
      const created = await api.post('/documents', {});
      expect(created.status).toBe(201);
      expect(created.body.id).toMatch(/^[A-Za-z0-9_-]{16}$/);
      expect(created.body.version).toBe(0);
      expect((await api.get(`/documents/${created.body.id}`)).body.content).toBe('');
    });

    it('If-None-Match with the current ETag answers 304 without a body', async () => {
      const id = uniqueDocId('etag');
      await api.post('/documents', { id, content: 'x' });
      const again = await api.get(`/documents/${id}`, { 'if-none-match': '"1"' });
      expect(again.status).toBe(304);
      expect(again.body).toBe('');
      expect((await api.get(`/documents/${id}`, { 'if-none-match': '"0"' })).status).toBe(200);
    });

    it('refuses a taken id with 409 DOC_EXISTS, an unknown one with 404, a bad one with 400', async () => {
      const id = uniqueDocId('taken');
      await api.post('/documents', { id });
      const taken = await api.post('/documents', { id });
      expect(taken.status).toBe(409);
      expect(taken.body.code).toBe('DOC_EXISTS');
      const missing = await api.get(`/documents/${uniqueDocId('missing')}`);
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ code: 'DOC_NOT_FOUND', status: 404 });
      // (".." is refused too, but fetch resolves it away before sending; the unit tests cover it.)
      for (const bad of ['a%20b', 'x'.repeat(129), 'a*b']) {
        const response = await api.get(`/documents/${bad}`);
        expect(response.status, bad).toBe(400);
        expect(response.body.code, bad).toBe('INVALID_DOCUMENT_ID');
      }
      expect((await api.post('/documents', { id: 'no spaces' })).body.code).toBe('INVALID_DOCUMENT_ID');
      // A write to a document that does not exist does not create it.
      const ghost = uniqueDocId('ghost');
      expect((await api.patch(`/documents/${ghost}`, { edits: [{ append: 'x' }] })).status).toBe(404);
      expect((await api.get(`/documents/${ghost}`)).status).toBe(404);
    });

    it('lists documents a page at a time with a cursor', async () => {
      const prefix = uniqueDocId('list');
      const ids = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
      for (const id of ids) await api.post('/documents', { id });
      const seen: string[] = [];
      let cursor: string | null = Buffer.from(`${prefix}-`).toString('base64url');
      while (cursor !== null && seen.length < 10) {
        const page: { status: number; body: { documents: { id: string }[]; nextCursor: string | null } } = await api.get(`/documents?limit=2&cursor=${cursor}`);
        expect(page.status).toBe(200);
        expect(page.body.documents.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.documents.map((d: { id: string }) => d.id).filter((id: string) => id.startsWith(prefix)));
        cursor = page.body.documents.some((d: { id: string }) => !d.id.startsWith(prefix)) ? null : page.body.nextCursor;
      }
      expect(seen).toEqual(ids);
    });

    it('PUT takes text/markdown too, and an unchanged text is not a new version', async () => {
      const id = uniqueDocId('put');
      await api.post('/documents', { id, content: 'old' });
      const put = await api.call('PUT', `/documents/${id}`, { body: 'new *text*', type: 'text/markdown' });
      expect(put.status).toBe(200);
      expect(put.body).toEqual({ id, version: 2, changed: true });
      const same = await api.call('PUT', `/documents/${id}`, { body: 'new *text*', type: 'text/markdown' });
      expect(same.body).toEqual({ id, version: 2, changed: false });
      expect((await api.get(`/documents/${id}`, { accept: 'text/markdown' })).body).toBe('new *text*');
    });

    it('DELETE closes live sockets with 4404, hides the document, and undelete brings it back', async () => {
      const id = uniqueDocId('delete');
      await api.post('/documents', { id, content: 'keep me' });
      const socket = openRawSocket(node.wsUrl, `/ws/${id}`);
      await socket.opened;
      // As a client joins: its state vector, answered with what the room has.
      socket.send(body.syncStep1(Y.encodeStateVector(new Y.Doc())));
      await socket.waitForMessage(isYWebsocketSync(SYNC_STEP2), "the room's sync answer");
      const deleted = await api.delete(`/documents/${id}`);
      expect(deleted.status).toBe(204);
      expect(await socket.outcome).toEqual({ code: 4404, reason: 'DOC_NOT_FOUND' });
      expect((await api.get(`/documents/${id}`)).status).toBe(404);
      // A new connection is refused the same way rather than recreating the document.
      expect(await openRawSocket(node.wsUrl, `/ws/${id}`).outcome).toEqual({ code: 4404, reason: 'DOC_NOT_FOUND' });

      const back = await api.post(`/documents/${id}/undelete`);
      expect(back.status).toBe(200);
      expect((await api.get(`/documents/${id}`)).body.content).toBe('keep me');
    });
  });

  describe('raw Yjs', () => {
    it('GET /update gives the whole state, or only what a state vector lacks', async () => {
      const id = uniqueDocId('yjs');
      await api.post('/documents', { id, content: 'hello' });
      const full = await api.get(`/documents/${id}/update`);
      expect(full.status).toBe(200);
      expect(full.headers.get('content-type')).toBe('application/octet-stream');
      const doc = new Y.Doc();
      Y.applyUpdate(doc, full.body);
      expect(doc.getText('content').toString()).toBe('hello');

      await api.patch(`/documents/${id}`, { edits: [{ append: ' world' }] });
      const sv = Buffer.from(Y.encodeStateVector(doc)).toString('base64');
      const diff = await api.get(`/documents/${id}/update?sv=${encodeURIComponent(sv)}`);
      expect(diff.body.length).toBeLessThan(full.body.length + 20);
      Y.applyUpdate(doc, diff.body);
      expect(doc.getText('content').toString()).toBe('hello world');
      expect((await api.get(`/documents/${id}/update?sv=!!`)).status).toBe(400);
    });

    it('POST /update applies a binary update; garbage and updates with missing dependencies are refused whole', async () => {
      const id = uniqueDocId('yjs-post');
      await api.post('/documents', { id, content: 'base' });
      const doc = new Y.Doc();
      Y.applyUpdate(doc, (await api.get(`/documents/${id}/update`)).body);
      const before = Y.encodeStateVector(doc);
      doc.getText('content').insert(4, ' plus');
      const update = Y.encodeStateAsUpdate(doc, before);

      const posted = await api.call('POST', `/documents/${id}/update`, { body: update, type: 'application/octet-stream' });
      expect(posted.status).toBe(200);
      expect(posted.body).toMatchObject({ id, version: 2, changed: true });
      expect((await api.get(`/documents/${id}`)).body.content).toBe('base plus');

      const garbage = await api.call('POST', `/documents/${id}/update`, { body: new Uint8Array([1, 2, 3, 250]), type: 'application/octet-stream' });
      expect(garbage.status).toBe(400);

      // An update that builds on one the server never saw.
      const other = new Y.Doc();
      other.getText('content').insert(0, 'first ');
      const skipped = Y.encodeStateVector(other);
      other.getText('content').insert(6, 'second');
      const dependent = Y.encodeStateAsUpdate(other, skipped);
      const orphan = await api.call('POST', `/documents/${id}/update`, { body: dependent, type: 'application/octet-stream' });
      expect(orphan.status).toBe(400);
      expect(orphan.body.code).toBe('VALIDATION_FAILED');
      const after = await api.get(`/documents/${id}`);
      expect(after.body).toMatchObject({ content: 'base plus', version: 2 });
    });
  });

  describe('versions', () => {
    it('lists versions with their authors, names one, and reads any kept version', async () => {
      const id = uniqueDocId('versions');
      await api.post('/documents', { id, content: 'one' });
      await api.put(`/documents/${id}`, { content: 'one two' }, { 'agent-name': 'Editor' });
      const person = yWebsocketClient(node.wsUrl, id);
      try {
        await whenSynced(person.provider);
        person.text.insert(person.text.length, ' three');
        await waitFor(async () => (await api.get(`/documents/${id}`)).body.version === 3, 'the typing to be durable');
      } finally {
        person.provider.destroy();
      }

      const named = await api.post(`/documents/${id}/versions`, { name: 'before review', version: 2 });
      expect(named.status).toBe(201);
      expect(named.body).toMatchObject({ name: 'before review', version: 2 });
      expect((await api.post(`/documents/${id}/versions`, { name: 'before review' })).body.code).toBe('VERSION_NAME_TAKEN');

      const list = await api.get(`/documents/${id}/versions`);
      expect(list.status).toBe(200);
      // AUTH=off: everyone is the same anonymous user; an agent is told apart by its name.
      const versions = list.body.versions as { version: number; author: { kind: string; id: string; name: string }; names: string[] }[];
      expect(versions.map((v) => [v.version, v.author, v.names])).toEqual([
        [3, { kind: 'user', id: 'user:anonymous', name: 'Anonymous' }, []],
        [2, { kind: 'agent', id: 'agent:Editor@user:anonymous', name: 'Editor' }, ['before review']],
        [1, { kind: 'user', id: 'user:anonymous', name: 'Anonymous' }, []],
      ]);
      const page = await api.get(`/documents/${id}/versions?limit=2`);
      expect(page.body.nextBefore).toBe(2);
      expect((await api.get(`/documents/${id}/versions?before=2`)).body.versions.map((v: { version: number }) => v.version)).toEqual([1]);

      expect((await api.get(`/documents/${id}/versions/2`)).body).toEqual({ id, version: 2, content: 'one two' });
      expect((await api.get(`/documents/${id}/versions/1`, { accept: 'text/markdown' })).body).toBe('one');
      expect((await api.get(`/documents/${id}/versions/0`)).body.content).toBe('');
      const beyond = await api.get(`/documents/${id}/versions/9`);
      expect(beyond.status).toBe(404);
      expect(beyond.body.code).toBe('VERSION_NOT_FOUND');
    });
  });

  describe('OpenAPI', () => {
    it('serves the document at /docs/json and the UI at /docs', async () => {
      const spec = await (await fetch(`${node.url}/docs/json`)).json();
      expect(spec.openapi).toMatch(/^3\./);
      for (const path of [
        '/v1/documents',
        '/v1/documents/{id}',
        '/v1/documents/{id}/versions',
        '/v1/documents/{id}/versions/{version}',
        '/v1/documents/{id}/versions/{version}/restore',
        '/v1/documents/{id}/update',
        '/v1/sync',
      ]) {
        expect(spec.paths[path], path).toBeDefined();
      }
      expect(Object.keys(spec.paths['/v1/documents/{id}'])).toEqual(expect.arrayContaining(['get', 'put', 'patch', 'delete']));
      const ui = await fetch(`${node.url}/docs`, { redirect: 'follow' });
      expect(ui.status).toBe(200);
      expect(await ui.text()).toContain('swagger');
    });
  });
});
